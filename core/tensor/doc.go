// Package tensor holds float32 NCHW tensors and the kernels that a diffusers
// UNet2DModel needs: a packed, register-tiled GEMM, 2-D convolution, GroupNorm,
// SiLU, Linear, multi-head self-attention, nearest 2x upsampling and channel
// concatenation. The same pure-Go code runs natively and under GOOS=js
// GOARCH=wasm, and gives the same bits on both.
package tensor

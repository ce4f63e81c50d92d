// Package tensor holds float32 NCHW tensors and the kernels that a diffusers
// UNet2DModel needs: a packed, register-tiled GEMM, 2-D convolution, GroupNorm,
// SiLU, Linear, multi-head self-attention, nearest 2x upsampling and channel
// concatenation, and their backward passes for training. The same pure-Go
// code runs natively and under GOOS=js GOARCH=wasm, and gives the same bits on
// both.
//
// # Speed
//
// Gemm is Goto-style: A and B are packed into panels laid out in the order a
// 5×2 register-tiled micro-kernel reads them, and the kernel's loop, unrolled
// four times over k, advances its slices so that the compiler drops every
// bounds check. Conv2d is that GEMM, W (Cout×Cin·KH·KW) times the im2col
// matrix of each image, whose panels are packed straight from the (padded)
// image; the images of a batch share one packing of the weights. A 3x3,
// stride-1 convolution of 8x8 or more pixels and 16 or more channels is
// Winograd F(2×2, 3×3) instead: 16 GEMMs of Cout×Cin transformed weights by
// Cin×tiles transformed 4×4 input tiles, 2.25 times fewer multiplications,
// 1.3-2x faster. Natively a large product is split over GOMAXPROCS
// goroutines; under wasm it runs on one, and the browser parallelises with
// workers instead.
//
// # Determinism
//
// Every float kernel rounds each product to float32 before adding it
// (acc += float32(a*b)), which forbids fused multiply-adds, and uses no
// assembly-backed math (Exp32 is pure Go). Each output element is summed in
// an order that depends only on the shapes of the operation, never on the
// tile it falls in, the batch size or the number of goroutines. So an image
// gives the same bits natively (any GOAMD64) and under wasm, alone or in any
// batch, on any number of threads; TestPlatformBits and TestBatchInvariant
// check it.
//
// Functions panic on mismatched shapes: that is a programming error, since
// callers such as core/unet validate every shape when they build a model.
package tensor

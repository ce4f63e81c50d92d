// Package tensor holds float32 NCHW tensors and the kernels that a diffusers
// UNet2DModel needs: a packed, register-tiled GEMM, 2-D convolution, GroupNorm,
// SiLU, Linear, multi-head self-attention, nearest 2x upsampling and channel
// concatenation, and their backward passes for training. The same Go code
// runs natively and under GOOS=js GOARCH=wasm, and gives the same bits on
// both; only some SIMD loops are assembly (below).
//
// # Speed
//
// Gemm is Goto-style: A and B are packed into panels laid out in the order a
// 4×8 register-tiled micro-kernel reads them. Conv2d is that GEMM, W
// (Cout×Cin·KH·KW) times the im2col matrix of each image, whose panels are
// packed straight from the (padded) image; the images of a batch share one
// packing of the weights. A 3x3, stride-1 convolution of 8x8 or more pixels
// and 16 or more channels is Winograd F(2×2, 3×3) instead: 16 GEMMs of
// Cout×Cin transformed weights by Cin×tiles transformed 4×4 input tiles, 2.25
// times fewer multiplications, 1.3-2x faster. Conv2d packs (and transforms)
// the weights at every call; a ConvWeights keeps them packed after its first
// call, for sampling, whose weights do not change, and a LinearWeights keeps
// a linear layer's Wᵀ packed the same way. Natively a large product,
// the 16 Winograd GEMMs, GroupNorm's groups, SiLU's blocks and attention's
// (image, head) pairs are split over GOMAXPROCS goroutines; under wasm it
// all runs on one, and the browser parallelises with workers instead.
//
// # SIMD
//
// Built with GOEXPERIMENT=simd, the GEMM micro-kernel, Exp32 (so SiLU and
// softmax), the rest of SiLU, GroupNorm's scaling, Add and the Winograd
// input and output transforms (four tiles a vector) use simd/archsimd
// (simd.go): 8-lane AVX vectors for the GEMM natively when the CPU has AVX2
// (simd_amd64.go), 4-lane SIMD128 under wasm (simd_wasm.go) and for the
// rest. The micro-kernel's loop over a column of register tiles is assembly,
// AVX natively (simd_amd64.s) and WebAssembly in the browser (simd_wasm.s),
// because there broadcasting A from memory is a load, where the compiler's
// broadcast is a shuffle competing with the multiplies and adds: the GEMM
// runs 2.3 to 3.5 times faster natively and 1.2 to 1.3 times in wasm (on an
// AMD EPYC Zen 3; the files say how it was measured). Under wasm the
// Winograd transforms, splitChannel's even/odd split (winograd_wasm.s),
// SiLU, softmax's exp, GroupNorm's scaling, the exp range check and im2col's
// gather of strip rows (simd_wasm.s) are WebAssembly too (the other builds
// run their Go forms: each.go, simd_amd64.go, scalar.go): Go's wasm port
// keeps registers in locals and checks bounds per access, and simd/archsimd
// has no lane shuffles there, so these loops spent more time around their
// arithmetic than in it; together with the kernel's tile loop they took a
// butterflies-32 forward from 52-58 to 41-46 ms per image under Node. Each
// lane does the scalar code's float32 operations in the same order, Mul then
// Add and never a fused multiply-add, so the bits do not change. Without the
// experiment, or on a CPU without AVX2, the scalar kernels run (scalar.go,
// kernel.go, exp.go, winograd.go, ops.go); they stay compiled in every
// build, and TestSIMDMatchesScalar compares the two bit for bit. SIMD
// reports which run.
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

//go:build goexperiment.simd && (amd64 || wasm)

package tensor

import (
	"runtime"

	"simd/archsimd"
)

// useSIMD selects the simd/archsimd kernels: always under wasm (SIMD128 is in
// every browser and Node since 2021), natively when the CPU has AVX2 (the
// broadcast needs it). Tests switch it off to compare them with the scalar
// kernels, which give the same bits.
var useSIMD = runtime.GOARCH == "wasm" || archsimd.X86.AVX2()

// kernel is kernelSIMD, or kernelScalar without SIMD.
func kernel(a, b, c []float32, ldc int) {
	if useSIMD {
		kernelSIMD(a, b, c, ldc)
		return
	}
	kernelScalar(a, b, c, ldc)
}

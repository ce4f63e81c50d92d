//go:build !goexperiment.simd || !(amd64 || wasm)

package tensor

// useSIMD is false: this build has no SIMD kernels.
var useSIMD = false

// kernel is kernelTiles.
func kernel(a, b, c []float32, ldc, tiles int) { kernelTiles(a, b, c, ldc, tiles) }

// expInto sets dst[i] = Exp32(src[i]); dst may be src.
func expInto(dst, src []float32) { expScalar(dst, src) }

// inputQuad is inputQuadScalar.
func inputQuad(dst []float32, ld int, rows []float32, half, tx int) {
	inputQuadScalar(dst, ld, rows, half, tx)
}

// outputQuad is outputQuadScalar.
func outputQuad(y []float32, wo int, m []float32, ld int, bias float32) {
	outputQuadScalar(y, wo, m, ld, bias)
}

// scaleShift is scaleShiftScalar.
func scaleShift(d, s []float32, a, b float32) { scaleShiftScalar(d, s, a, b) }

// silu is siluPasses.
func silu(o, x []float32) { siluPasses(o, x) }

// siluTail is siluTailScalar.
func siluTail(o, x []float32) { siluTailScalar(o, x) }

// copyRow is copyRowScalar.
func copyRow(d, lo, hi []float32) { copyRowScalar(d, lo, hi) }

// add is addScalar.
func add(d, a, b []float32) { addScalar(d, a, b) }

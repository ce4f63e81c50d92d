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

// copyRow sets the nr floats of a strip's row, d, to lo[:4] then hi[:4],
// float by float (an array assignment is a memmove call under wasm).
func copyRow(d, lo, hi []float32) {
	dd, l, h := (*[nr]float32)(d), (*[nr / 2]float32)(lo), (*[nr / 2]float32)(hi)
	dd[0], dd[1], dd[2], dd[3] = l[0], l[1], l[2], l[3]
	dd[4], dd[5], dd[6], dd[7] = h[0], h[1], h[2], h[3]
}

// add is addScalar.
func add(d, a, b []float32) { addScalar(d, a, b) }

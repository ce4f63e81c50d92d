//go:build !(goexperiment.simd && wasm)

package tensor

// Natively and in the scalar build, the Winograd transforms' rows go quad
// by quad and the channel split pair by pair; under wasm with SIMD they are
// assembly (winograd_wasm.go).

// inputQuads writes, for k < n, the four tiles at tile column tx+4k of rows
// (splitChannel's layout) to columns q+4k … q+4k+3 of channel c of the
// packed V that v holds (inputTiles), q a multiple of 4: inputQuadsEach.
func inputQuads(v []float32, cin, c int, rows []float32, half, tx, q, n int) {
	inputQuadsEach(v, cin, c, rows, half, tx, q, n)
}

// outputQuads sets, for k < n, the four 2×2 blocks at y[8k:], y[wo+8k:] to
// bias + Aᵀ M A for M[ξ] = m[ξ·ld+4k+l]: outputQuadsEach.
func outputQuads(y []float32, wo int, m []float32, ld int, bias float32, n int) {
	outputQuadsEach(y, wo, m, ld, bias, n)
}

// splitRows is splitRowsScalar.
func splitRows(dst []float32, ld, ea, oa int, src []float32, w, rows int) {
	splitRowsScalar(dst, ld, ea, oa, src, w, rows)
}

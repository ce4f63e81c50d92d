//go:build !(goexperiment.simd && wasm)

package tensor

// Natively and in the scalar build, the Winograd transforms' rows go quad
// by quad, the channel split pair by pair and im2col's gathered strip rows
// one copyRow at a time; under wasm with SIMD they are assembly
// (winograd_wasm.go, simd_wasm.go).

// inputQuads writes n quads of tiles in each of tileRows rows of tiles:
// quad j = r·n + k, the four tiles at tile column tx+4k of tile row r of
// rows (splitChannel's layout, a tile row 2·(2·half) floats below the last),
// to columns q+4j … q+4j+3 of channel c of the packed V that v holds
// (inputTiles), q a multiple of 4: inputQuadsEach.
func inputQuads(v []float32, cin, c int, rows []float32, half, tx, q, n, tileRows int) {
	inputQuadsEach(v, cin, c, rows, half, tx, q, n, tileRows)
}

// outputQuads sets n groups of four 2×2 blocks in each of blockRows rows of
// blocks: group j = r·n + k, at y[r·2wo+8k:] and y[r·2wo+wo+8k:], to bias +
// Aᵀ M A for M[ξ] = m[ξ·ld+4j+l]: outputQuadsEach.
func outputQuads(y []float32, wo int, m []float32, ld int, bias float32, n, blockRows int) {
	outputQuadsEach(y, wo, m, ld, bias, n, blockRows)
}

// splitRows is splitRowsScalar.
func splitRows(dst []float32, ld, ea, oa int, src []float32, w, rows int) {
	splitRowsScalar(dst, ld, ea, oa, src, w, rows)
}

// gatherRows sets row p of a strip, d[p·nr:p·nr+nr], to lo[off[p]:off[p]+4]
// then hi[off[p]:off[p]+4], for every p.
func gatherRows(d, lo, hi []float32, off []int) {
	for p, o := range off {
		copyRow(d[p*nr:], lo[o:], hi[o:])
	}
}

//go:build goexperiment.simd

package tensor

// The Winograd transforms' inner loops in WebAssembly (winograd_wasm.s).
// Compiled from Go, the SIMD quads (inputQuadSIMD, outputQuadSIMD) and
// splitChannel's copy spent most of their time outside the arithmetic: Go's
// wasm port keeps its registers in locals and its stack in linear memory,
// checks bounds per access and dispatches blocks on every jump, and
// simd/archsimd offers no lane shuffles, so the even/odd split and the
// output's interleave went a float at a time. The assembly does the same
// float32 operations in the same order (the same bits, which
// TestSIMDMatchesScalar checks), over a whole channel (or one row of tiles)
// per call, and moves the lanes with i8x16.swizzle.

// inputQuads writes n quads of tiles in each of tileRows rows of tiles:
// quad j = r·n + k, the four tiles at tile column tx+4k of tile row r of
// rows (splitChannel's layout, a tile row 2·(2·half) floats below the last),
// to columns q+4j … q+4j+3 of channel c of the packed V that v holds
// (inputTiles), q a multiple of 4: inputQuadsAsm, or inputQuadsEach without
// SIMD.
func inputQuads(v []float32, cin, c int, rows []float32, half, tx, q, n, tileRows int) {
	if !useSIMD {
		inputQuadsEach(v, cin, c, rows, half, tx, q, n, tileRows)
		return
	}
	ld := cin * nr
	first := (q/nr*16*cin+c)*nr + q%nr
	last := q + 4*(n*tileRows-1)
	end := (last/nr*16*cin+c)*nr + last%nr + 15*ld + 4
	// The last quad's hi4 of row 3's odd half.
	_ = rows[(tileRows-1)*4*half+3*2*half+half+tx+4*n]
	inputQuadsAsm(v[first:end], ld, rows[tx:], half, 16*cin*nr, q%nr/4, n, n*tileRows)
}

// inputQuadsAsm is inputQuadSIMD for count quads, n to a tile row: quad j
// reads rows[(j/n)·4·half + 4·(j mod n):] and writes dst at
// dst[j/2·(strip−4) + 4j] when parity is 0 (the first quad starts a strip),
// at dst[(j+1)/2·(strip−4) + 4j] when it is 1. inputQuads checks the
// bounds.
//
//go:noescape
func inputQuadsAsm(dst []float32, ld int, rows []float32, half, strip, parity, n, count int)

// outputQuads sets n groups of four 2×2 blocks in each of blockRows rows of
// blocks: group j = r·n + k, at y[r·2wo+8k:] and y[r·2wo+wo+8k:], to bias +
// Aᵀ M A for M[ξ] = m[ξ·ld+4j+l]: outputQuadsAsm, or outputQuadsEach
// without SIMD.
func outputQuads(y []float32, wo int, m []float32, ld int, bias float32, n, blockRows int) {
	if !useSIMD {
		outputQuadsEach(y, wo, m, ld, bias, n, blockRows)
		return
	}
	outputQuadsAsm(y[:(2*blockRows-1)*wo+8*n], wo, m[:15*ld+4*n*blockRows], ld, bias, n, n*blockRows)
}

// outputQuadsAsm is outputQuadSIMD for count groups, n to a row of blocks;
// outputQuads checks the bounds.
//
//go:noescape
func outputQuadsAsm(y []float32, wo int, m []float32, ld int, bias float32, n, count int)

// splitRows is splitRowsScalar: by splitRowsAsm, four pairs at a time,
// when w is a multiple of 8 (the UNet's 8 to 64 pixels), so that every row
// is whole quads and the rows follow one another in src.
func splitRows(dst []float32, ld, ea, oa int, src []float32, w, rows int) {
	if !useSIMD || w%8 != 0 || rows == 0 {
		splitRowsScalar(dst, ld, ea, oa, src, w, rows)
		return
	}
	_ = dst[(rows-1)*ld+max(ea, oa)+w/2-1]
	splitRowsAsm(dst, ld, ea, oa, src[:rows*w], w, rows)
}

// splitRowsAsm is splitRowsScalar for w a multiple of 8; splitRows checks
// the bounds.
//
//go:noescape
func splitRowsAsm(dst []float32, ld, ea, oa int, src []float32, w, rows int)

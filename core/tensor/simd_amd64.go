//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelAsm (simd_amd64.s) adds to each of tiles mr×nr tiles down c (row
// stride ldc) the product of its A strip (kb×mr, one after the other in a)
// and b (kb×nr), kb = len(b)/nr, as kernelTiles does,
// with the tile in four 8-lane (AVX) accumulators, one per row: per p it
// broadcasts a[p·mr+i], multiplies it by the row b[p·nr:p·nr+8] and adds the
// rounded products (Mul, then Add: never a fused multiply-add), so every
// lane does what kernelScalar does for its element. a must hold
// tiles·kb·mr floats, ldc ≥ 0 and c reach (tiles·mr−1)·ldc+nr: kernelSIMD
// checks. Only called where
// useSIMD holds (the CPU has AVX2).
//
// It is assembly because Go's compiler, from simd/archsimd, turns each
// broadcast into a VMOVSS and a register VBROADCASTSS, a shuffle that takes a
// vector pipe from the multiplies and adds, where VBROADCASTSS from memory is
// a pure load; and its loop does one p per pass with a bounds check.
// kernelAsm does four p per pass with the four B rows in registers.
//
//go:noescape
func kernelAsm(a, b, c []float32, ldc, tiles int)

// pow2 returns 2^n for n in [-126, 127]: the float32 with exponent n+127.
func pow2(n archsimd.Int32x4) archsimd.Float32x4 {
	return n.Add(archsimd.BroadcastInt32x4(127)).ShiftAllLeft(23).AsFloat32x4()
}

// inputQuads writes, for k < n, the four tiles at tile column tx+4k of rows
// (splitChannel's layout) to columns q+4k … q+4k+3 of channel c of the
// packed V that v holds (inputTiles): inputQuadsEach, through the quads
// compiled from simd/archsimd (the wasm port has these loops in assembly,
// winograd_wasm.go).
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

// siluQuads is siluQuadsSIMD.
func siluQuads(o, x []float32) { siluQuadsSIMD(o, x) }

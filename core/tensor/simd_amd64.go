//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelAsm (simd_amd64.s) adds to each of tiles mr×nr tiles down c (row
// stride ldc) the product of its A strip (kb×mr, one after the other in a)
// and b (kb×nr), kb = len(b)/nr, as kernelTiles does, with the tile in four
// 8-lane (AVX) accumulators, one per row: per p it broadcasts a[p·mr+i],
// multiplies it by the row b[p·nr:p·nr+8] and adds the rounded products
// (Mul, then Add: never a fused multiply-add), so every lane does what
// kernelScalar does for its element. a must hold
// tiles·kb·mr floats, ldc ≥ 0 and c reach (tiles·mr−1)·ldc+nr: kernelSIMD
// checks. Only called where useSIMD holds (the CPU has AVX2).
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

// siluQuads sets o[i] = x[i] / (1 + expQuad(-x[i])), four values at a
// time, for len(o) a multiple of 4.
func siluQuads(o, x []float32) {
	x = x[:len(o)]
	one := archsimd.BroadcastFloat32x4(1)
	for i := 0; i+4 <= len(o); i += 4 {
		v := load4(x, i)
		store4(o, i, v.Div(one.Add(expQuad(v.Neg()))))
	}
}

// expQuads sets o[i] = expQuad(x[i]), four values at a time, for len(o) a
// multiple of 4 and every x[i] in [expLow, expHigh].
func expQuads(o, x []float32) {
	x = x[:len(o)]
	for i := 0; i+4 <= len(o); i += 4 {
		store4(o, i, expQuad(load4(x, i)))
	}
}

// scaleShiftQuads is scaleShiftScalar four values at a time, for len(d)
// a multiple of 4.
func scaleShiftQuads(d, s []float32, a, b float32) {
	s = s[:len(d)]
	va, vb := archsimd.BroadcastFloat32x4(a), archsimd.BroadcastFloat32x4(b)
	for i := 0; i+4 <= len(d); i += 4 {
		store4(d, i, load4(s, i).Mul(va).Add(vb))
	}
}

// inRangeQuads is inRange for len(s) a multiple of 4: the comparisons
// four lanes at a time, their masks and-ed together, in place of eight
// scalar comparisons and branches per four values.
func inRangeQuads(s []float32, lo, hi float32) bool {
	vl, vh := archsimd.BroadcastFloat32x4(lo), archsimd.BroadcastFloat32x4(hi)
	ok := vl.LessEqual(vh)
	for i := 0; i+4 <= len(s); i += 4 {
		v := load4(s, i)
		ok = ok.And(v.GreaterEqual(vl)).And(v.LessEqual(vh))
	}
	b := ok.ToInt32x4()
	return b.GetElem(0)&b.GetElem(1)&b.GetElem(2)&b.GetElem(3) != 0
}

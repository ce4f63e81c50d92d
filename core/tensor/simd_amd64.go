//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelSIMD is kernelScalar with the tile held in four 8-lane (AVX)
// accumulators, one per row: per p it broadcasts a[p·mr+i], multiplies it by
// the row b[p·nr:p·nr+8] and adds the rounded products (Mul, then Add: never
// a fused multiply-add), so every lane does what kernelScalar does for its
// element. Four accumulators, the B row and four broadcasts and products fit
// in the 15 vector registers Go allocates, so nothing spills.
func kernelSIMD(a, b, c []float32, ldc int) {
	kb := len(b) / nr
	a = a[:kb*mr]
	b = b[:kb*nr]
	var c0, c1, c2, c3 archsimd.Float32x8
	for p := 0; p < kb; p++ {
		y := archsimd.LoadFloat32x8Array((*[nr]float32)(b[p*nr:]))
		x := a[p*mr : p*mr+mr : p*mr+mr]
		c0 = c0.Add(archsimd.BroadcastFloat32x8(x[0]).Mul(y))
		c1 = c1.Add(archsimd.BroadcastFloat32x8(x[1]).Mul(y))
		c2 = c2.Add(archsimd.BroadcastFloat32x8(x[2]).Mul(y))
		c3 = c3.Add(archsimd.BroadcastFloat32x8(x[3]).Mul(y))
	}
	addRow(c[:nr], c0)
	addRow(c[ldc:ldc+nr], c1)
	addRow(c[2*ldc:2*ldc+nr], c2)
	addRow(c[3*ldc:3*ldc+nr], c3)
}

// addRow adds the lanes of v to r[0:8].
func addRow(r []float32, v archsimd.Float32x8) {
	p := (*[nr]float32)(r)
	archsimd.LoadFloat32x8Array(p).Add(v).StoreArray(p)
}

// pow2 returns 2^n for n in [-126, 127]: the float32 with exponent n+127.
func pow2(n archsimd.Int32x4) archsimd.Float32x4 {
	return n.Add(archsimd.BroadcastInt32x4(127)).ShiftAllLeft(23).AsFloat32x4()
}

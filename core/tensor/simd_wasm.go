//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelSIMD is kernelScalar with the tile held in 4-lane (SIMD128)
// accumulators: per p it broadcasts a[p·mr+i], multiplies it by four lanes of
// the row b[p·nr:p·nr+8] and adds the rounded products (Mul, then Add: never a
// fused multiply-add), so every lane does what kernelScalar does for its
// element. It runs down the strip twice, for columns 0-3 and 4-7: four
// accumulators, four B vectors and the broadcasts and products fit in the 16
// vector locals of Go's wasm port, where eight accumulators spill to memory.
// The loop is unrolled four times over p: in Go's wasm port every jump
// back to the loop's head goes through its block dispatch, and unrolling
// measured up to 1.8x faster under Node (noisy, best of 3).
func kernelSIMD(a, b, c []float32, ldc int) {
	kb := len(b) / nr
	a = a[:kb*mr]
	b = b[:kb*nr]
	for j := 0; j < nr; j += 4 {
		var c0, c1, c2, c3 archsimd.Float32x4
		p := 0
		for ; p+4 <= kb; p += 4 {
			x := a[p*mr : p*mr+4*mr : p*mr+4*mr]
			y := archsimd.LoadFloat32x4Array((*[4]float32)(b[p*nr+j:]))
			z := archsimd.LoadFloat32x4Array((*[4]float32)(b[p*nr+1*nr+j:]))
			u := archsimd.LoadFloat32x4Array((*[4]float32)(b[p*nr+2*nr+j:]))
			v := archsimd.LoadFloat32x4Array((*[4]float32)(b[p*nr+3*nr+j:]))
			c0 = c0.Add(archsimd.BroadcastFloat32x4(x[0]).Mul(y))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(x[1]).Mul(y))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(x[2]).Mul(y))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(x[3]).Mul(y))
			c0 = c0.Add(archsimd.BroadcastFloat32x4(x[4]).Mul(z))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(x[5]).Mul(z))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(x[6]).Mul(z))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(x[7]).Mul(z))
			c0 = c0.Add(archsimd.BroadcastFloat32x4(x[8]).Mul(u))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(x[9]).Mul(u))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(x[10]).Mul(u))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(x[11]).Mul(u))
			c0 = c0.Add(archsimd.BroadcastFloat32x4(x[12]).Mul(v))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(x[13]).Mul(v))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(x[14]).Mul(v))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(x[15]).Mul(v))
		}
		for ; p < kb; p++ {
			x := a[p*mr : p*mr+mr : p*mr+mr]
			y := archsimd.LoadFloat32x4Array((*[4]float32)(b[p*nr+j:]))
			c0 = c0.Add(archsimd.BroadcastFloat32x4(x[0]).Mul(y))
			c1 = c1.Add(archsimd.BroadcastFloat32x4(x[1]).Mul(y))
			c2 = c2.Add(archsimd.BroadcastFloat32x4(x[2]).Mul(y))
			c3 = c3.Add(archsimd.BroadcastFloat32x4(x[3]).Mul(y))
		}
		addQuad(c[j:j+4], c0)
		addQuad(c[ldc+j:ldc+j+4], c1)
		addQuad(c[2*ldc+j:2*ldc+j+4], c2)
		addQuad(c[3*ldc+j:3*ldc+j+4], c3)
	}
}

// addQuad adds the lanes of v to r[0:4].
func addQuad(r []float32, v archsimd.Float32x4) {
	p := (*[4]float32)(r)
	archsimd.LoadFloat32x4Array(p).Add(v).StoreArray(p)
}

// pow2 returns 2^n for n in [-126, 127]: the float32 with exponent n+127.
func pow2(n archsimd.Int32x4) archsimd.Float32x4 {
	return n.Add(archsimd.BroadcastInt32x4(127)).ShiftAllLeft(23).ToBits().BitsToFloat32()
}

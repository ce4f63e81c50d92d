//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelSIMD is kernelScalar with the tile held in eight 4-lane (SIMD128)
// accumulators, c for columns 0-3 and d for 4-7 of each row: per p it
// broadcasts a[p·mr+i] once, multiplies it by both halves of the row
// b[p·nr:p·nr+8] and adds the rounded products (Mul, then Add: never a fused
// multiply-add), so every lane does what kernelScalar does for its element.
// Eight independent sums hide the add's latency; with the two B vectors, the
// broadcast and a product they fit the 16 vector locals of Go's wasm port.
// Each group of four p reads A and B through fixed-size array pointers, so
// the group costs two bounds checks, not one per load, and the loop is
// unrolled four times because in Go's wasm port every jump back to the loop's
// head goes through its block dispatch. Against one accumulator per half-row
// pass with a bounds check per load this measured 17 → 28 GFLOP/s (512³,
// Node, one thread); eight times unrolled measured 25.
func kernelSIMD(a, b, c []float32, ldc int) {
	kb := len(b) / nr
	a = a[:kb*mr]
	b = b[:kb*nr]
	var c0, c1, c2, c3, d0, d1, d2, d3 archsimd.Float32x4
	p := 0
	for ; p+4 <= kb; p += 4 {
		x := (*[4 * mr]float32)(a[p*mr:])
		w := (*[4 * nr]float32)(b[p*nr:])
		var y, z, s archsimd.Float32x4
		y = archsimd.LoadFloat32x4Array((*[4]float32)(w[0:4]))
		z = archsimd.LoadFloat32x4Array((*[4]float32)(w[4:8]))
		s = archsimd.BroadcastFloat32x4(x[0])
		c0 = c0.Add(s.Mul(y))
		d0 = d0.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[1])
		c1 = c1.Add(s.Mul(y))
		d1 = d1.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[2])
		c2 = c2.Add(s.Mul(y))
		d2 = d2.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[3])
		c3 = c3.Add(s.Mul(y))
		d3 = d3.Add(s.Mul(z))
		y = archsimd.LoadFloat32x4Array((*[4]float32)(w[8:12]))
		z = archsimd.LoadFloat32x4Array((*[4]float32)(w[12:16]))
		s = archsimd.BroadcastFloat32x4(x[4])
		c0 = c0.Add(s.Mul(y))
		d0 = d0.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[5])
		c1 = c1.Add(s.Mul(y))
		d1 = d1.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[6])
		c2 = c2.Add(s.Mul(y))
		d2 = d2.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[7])
		c3 = c3.Add(s.Mul(y))
		d3 = d3.Add(s.Mul(z))
		y = archsimd.LoadFloat32x4Array((*[4]float32)(w[16:20]))
		z = archsimd.LoadFloat32x4Array((*[4]float32)(w[20:24]))
		s = archsimd.BroadcastFloat32x4(x[8])
		c0 = c0.Add(s.Mul(y))
		d0 = d0.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[9])
		c1 = c1.Add(s.Mul(y))
		d1 = d1.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[10])
		c2 = c2.Add(s.Mul(y))
		d2 = d2.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[11])
		c3 = c3.Add(s.Mul(y))
		d3 = d3.Add(s.Mul(z))
		y = archsimd.LoadFloat32x4Array((*[4]float32)(w[24:28]))
		z = archsimd.LoadFloat32x4Array((*[4]float32)(w[28:32]))
		s = archsimd.BroadcastFloat32x4(x[12])
		c0 = c0.Add(s.Mul(y))
		d0 = d0.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[13])
		c1 = c1.Add(s.Mul(y))
		d1 = d1.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[14])
		c2 = c2.Add(s.Mul(y))
		d2 = d2.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[15])
		c3 = c3.Add(s.Mul(y))
		d3 = d3.Add(s.Mul(z))
	}
	for ; p < kb; p++ {
		x := (*[mr]float32)(a[p*mr:])
		w := (*[nr]float32)(b[p*nr:])
		var y, z, s archsimd.Float32x4
		y = archsimd.LoadFloat32x4Array((*[4]float32)(w[0:4]))
		z = archsimd.LoadFloat32x4Array((*[4]float32)(w[4:8]))
		s = archsimd.BroadcastFloat32x4(x[0])
		c0 = c0.Add(s.Mul(y))
		d0 = d0.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[1])
		c1 = c1.Add(s.Mul(y))
		d1 = d1.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[2])
		c2 = c2.Add(s.Mul(y))
		d2 = d2.Add(s.Mul(z))
		s = archsimd.BroadcastFloat32x4(x[3])
		c3 = c3.Add(s.Mul(y))
		d3 = d3.Add(s.Mul(z))
	}
	addQuad(c[0:4], c0)
	addQuad(c[4:8], d0)
	addQuad(c[ldc:ldc+4], c1)
	addQuad(c[ldc+4:ldc+8], d1)
	addQuad(c[2*ldc:2*ldc+4], c2)
	addQuad(c[2*ldc+4:2*ldc+8], d2)
	addQuad(c[3*ldc:3*ldc+4], c3)
	addQuad(c[3*ldc+4:3*ldc+8], d3)
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

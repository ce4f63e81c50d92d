//go:build goexperiment.simd && (amd64 || wasm)

package tensor

import (
	"runtime"

	"simd/archsimd"
)

// useSIMD selects the simd/archsimd kernels: always under wasm (SIMD128 is in
// every browser and Node since 2021), natively when the CPU has AVX2 (the
// broadcast needs it). Tests switch it off to compare them with the scalar
// kernels, which give the same bits.
var useSIMD = runtime.GOARCH == "wasm" || archsimd.X86.AVX2()

// kernel is kernelSIMD, or kernelTiles of kernelScalar without SIMD.
func kernel(a, b, c []float32, ldc, tiles int) {
	if useSIMD {
		kernelSIMD(a, b, c, ldc, tiles)
		return
	}
	kernelTiles(a, b, c, ldc, tiles)
}

// kernelSIMD is kernelTiles by kernelAsm, the platform's assembly loop
// (simd_amd64.go, simd_wasm.go): it checks the bounds, which kernelAsm
// relies on.
func kernelSIMD(a, b, c []float32, ldc, tiles int) {
	kb := len(b) / nr
	_ = c[(tiles*mr-1)*ldc : (tiles*mr-1)*ldc+nr] // the last tile's row 3
	kernelAsm(a[:tiles*kb*mr], b[:kb*nr], c, ldc, tiles)
}

// expInto sets dst[i] = Exp32(src[i]); dst may be src. When every value lies
// in [expLow, expHigh] (inRange) all go through expQuad four at a time
// (expQuads); otherwise each four do when all of them lie there, the rest go
// through expScalar: the same bits either way.
func expInto(dst, src []float32) {
	if !useSIMD {
		expScalar(dst, src)
		return
	}
	dst = dst[:len(src)]
	i := 0
	if inRange(src, expLow, expHigh) {
		n := len(src) / 4 * 4
		expQuads(dst[:n], src[:n])
		expScalar(dst[n:], src[n:])
		return
	}
	for ; i+4 <= len(src); i += 4 {
		s, d := (*[4]float32)(src[i:]), (*[4]float32)(dst[i:])
		if !(s[0] >= expLow && s[0] <= expHigh && s[1] >= expLow && s[1] <= expHigh &&
			s[2] >= expLow && s[2] <= expHigh && s[3] >= expLow && s[3] <= expHigh) {
			expScalar(d[:], s[:])
			continue
		}
		expQuad(archsimd.LoadFloat32x4Array(s)).StoreArray(d)
	}
	expScalar(dst[i:], src[i:])
}

// inRange reports whether every value of s lies in [lo, hi] (NaN does not):
// four lanes at a time by inRangeQuads, the rest one by one.
func inRange(s []float32, lo, hi float32) bool {
	n := len(s) / 4 * 4
	if !inRangeQuads(s[:n], lo, hi) {
		return false
	}
	for _, v := range s[n:] {
		if !(v >= lo && v <= hi) {
			return false
		}
	}
	return true
}

// silu sets o[i] = x[i] / (1 + e^-x[i]). When every -x lies in expQuad's
// range it does so in one pass, four values at a time (siluQuads), with the
// operations of siluPasses's three passes; otherwise it is siluPasses, whose
// exp and tail are SIMD too.
func silu(o, x []float32) {
	x = x[:len(o)]
	if !useSIMD || !inRange(x, -expHigh, -expLow) {
		siluPasses(o, x)
		return
	}
	n := len(o) / 4 * 4
	siluQuads(o[:n], x[:n])
	siluPasses(o[n:], x[n:])
}

// expQuad is expScalar's main path on four lanes, operation for operation:
// fn = round(x·log2 e), r = (x - fn·ln2Hi) - fn·ln2Lo, the Horner
// polynomial p(r), then p·2^n.
func expQuad(x archsimd.Float32x4) archsimd.Float32x4 {
	// Each constant is broadcast where it is used: a func value in place of
	// archsimd.BroadcastFloat32x4 would be a real call, not the instruction.
	fn := x.Mul(archsimd.BroadcastFloat32x4(log2e)).Add(archsimd.BroadcastFloat32x4(roundMagic)).Sub(archsimd.BroadcastFloat32x4(roundMagic))
	r := x.Sub(fn.Mul(archsimd.BroadcastFloat32x4(ln2Hi)))
	r = r.Sub(fn.Mul(archsimd.BroadcastFloat32x4(ln2Lo)))
	p := archsimd.BroadcastFloat32x4(1.0 / 5040)
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1.0 / 720))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1.0 / 120))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1.0 / 24))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1.0 / 6))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(0.5))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1))
	p = p.Mul(r).Add(archsimd.BroadcastFloat32x4(1))
	return p.Mul(pow2(fn.ConvertToInt32()))
}

// inputQuad is inputTile for the four tiles at columns 2tx, 2tx+2, 2tx+4,
// 2tx+6 of rows, writing entry ξ of tile tx+l to dst[ξ·ld+l]: inputQuadSIMD,
// or inputQuadScalar without SIMD.
func inputQuad(dst []float32, ld int, rows []float32, half, tx int) {
	if useSIMD {
		inputQuadSIMD(dst, ld, rows, half, tx)
		return
	}
	inputQuadScalar(dst, ld, rows, half, tx)
}

// inputQuadSIMD is inputTile on four lanes, one tile each, operation for
// operation: entry (i, j) of the four tiles is the vector at
// rows[i·2·half + (j mod 2)·half + tx + j/2] (splitChannel's layout). Row i
// of Bᵀ d is t_i = d_0 - d_2, d_1 + d_2, d_2 - d_1, d_1 - d_3 for i = 0..3,
// and row i of V = t_i B is (t_i0 - t_i2, t_i1 + t_i2, t_i2 - t_i1,
// t_i1 - t_i3).
func inputQuadSIMD(dst []float32, ld int, rows []float32, half, tx int) {
	rw := 2 * half
	dst = dst[:15*ld+4]
	// Row i's even columns 2tx… start at rows[i·rw+tx], its odd ones at
	// rows[i·rw+half+tx]: entry (i, j) is lanes j/2…j/2+3 of one of them.
	// Array pointers make the loads' bounds checks one per pointer.
	e0, o0 := (*[5]float32)(rows[tx:]), (*[5]float32)(rows[half+tx:])
	e1, o1 := (*[5]float32)(rows[rw+tx:]), (*[5]float32)(rows[rw+half+tx:])
	e2, o2 := (*[5]float32)(rows[2*rw+tx:]), (*[5]float32)(rows[2*rw+half+tx:])
	e3, o3 := (*[5]float32)(rows[3*rw+tx:]), (*[5]float32)(rows[3*rw+half+tx:])
	d10, d11, d12, d13 := lo4(e1), lo4(o1), hi4(e1), hi4(o1)
	d20, d21, d22, d23 := lo4(e2), lo4(o2), hi4(e2), hi4(o2)
	// Rows 1 and 2 of V.
	t0, t1, t2, t3 := d10.Add(d20), d11.Add(d21), d12.Add(d22), d13.Add(d23)
	store4(dst, 4*ld, t0.Sub(t2))
	store4(dst, 5*ld, t1.Add(t2))
	store4(dst, 6*ld, t2.Sub(t1))
	store4(dst, 7*ld, t1.Sub(t3))
	t0, t1, t2, t3 = d20.Sub(d10), d21.Sub(d11), d22.Sub(d12), d23.Sub(d13)
	store4(dst, 8*ld, t0.Sub(t2))
	store4(dst, 9*ld, t1.Add(t2))
	store4(dst, 10*ld, t2.Sub(t1))
	store4(dst, 11*ld, t1.Sub(t3))
	// Row 0.
	t0, t1, t2, t3 = lo4(e0).Sub(d20), lo4(o0).Sub(d21), hi4(e0).Sub(d22), hi4(o0).Sub(d23)
	store4(dst, 0, t0.Sub(t2))
	store4(dst, ld, t1.Add(t2))
	store4(dst, 2*ld, t2.Sub(t1))
	store4(dst, 3*ld, t1.Sub(t3))
	// Row 3.
	t0, t1, t2, t3 = d10.Sub(lo4(e3)), d11.Sub(lo4(o3)), d12.Sub(hi4(e3)), d13.Sub(hi4(o3))
	store4(dst, 12*ld, t0.Sub(t2))
	store4(dst, 13*ld, t1.Add(t2))
	store4(dst, 14*ld, t2.Sub(t1))
	store4(dst, 15*ld, t1.Sub(t3))
}

// lo4 and hi4 return lanes 0-3 and 1-4 of p.
func lo4(p *[5]float32) archsimd.Float32x4 { return archsimd.LoadFloat32x4Array((*[4]float32)(p[0:4])) }
func hi4(p *[5]float32) archsimd.Float32x4 { return archsimd.LoadFloat32x4Array((*[4]float32)(p[1:5])) }

// outputQuad sets the four 2×2 blocks at y[2l:], y[wo+2l:] (l = 0..3) to
// bias + Aᵀ M A for M[ξ] = m[ξ·ld+l]: outputQuadSIMD, or outputQuadScalar
// without SIMD.
func outputQuad(y []float32, wo int, m []float32, ld int, bias float32) {
	if useSIMD {
		outputQuadSIMD(y, wo, m, ld, bias)
		return
	}
	outputQuadScalar(y, wo, m, ld, bias)
}

// outputQuadSIMD is outputTile on four lanes, one block each, operation for
// operation: column j of Aᵀ M is s_0j = (M_j + M_4+j) + M_8+j, s_1j =
// (M_4+j - M_8+j) - M_12+j, and Y = (Aᵀ M) A is y_i0 = (s_i0 + s_i1) + s_i2,
// y_i1 = (s_i1 - s_i2) - s_i3. The lanes are then stored to their blocks one
// by one (SIMD128 has no interleaving shuffle in simd/archsimd).
func outputQuadSIMD(y []float32, wo int, m []float32, ld int, bias float32) {
	m = m[:15*ld+4]
	var s0, s1 [4]archsimd.Float32x4
	for j := range 4 {
		a, b, c, d := load4(m, j*ld), load4(m, (4+j)*ld), load4(m, (8+j)*ld), load4(m, (12+j)*ld)
		s0[j] = a.Add(b).Add(c)
		s1[j] = b.Sub(c).Sub(d)
	}
	bv := archsimd.BroadcastFloat32x4(bias)
	y00 := bv.Add(s0[0].Add(s0[1]).Add(s0[2]))
	y01 := bv.Add(s0[1].Sub(s0[2]).Sub(s0[3]))
	y10 := bv.Add(s1[0].Add(s1[1]).Add(s1[2]))
	y11 := bv.Add(s1[1].Sub(s1[2]).Sub(s1[3]))
	r0, r1 := (*[8]float32)(y), (*[8]float32)(y[wo:])
	r0[0], r0[1], r1[0], r1[1] = y00.GetElem(0), y01.GetElem(0), y10.GetElem(0), y11.GetElem(0)
	r0[2], r0[3], r1[2], r1[3] = y00.GetElem(1), y01.GetElem(1), y10.GetElem(1), y11.GetElem(1)
	r0[4], r0[5], r1[4], r1[5] = y00.GetElem(2), y01.GetElem(2), y10.GetElem(2), y11.GetElem(2)
	r0[6], r0[7], r1[6], r1[7] = y00.GetElem(3), y01.GetElem(3), y10.GetElem(3), y11.GetElem(3)
}

// load4 returns s[at:at+4] as a vector.
func load4(s []float32, at int) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(s[at : at+4 : at+4]))
}

// store4 stores v to s[at:at+4].
func store4(s []float32, at int, v archsimd.Float32x4) {
	v.StoreArray((*[4]float32)(s[at : at+4 : at+4]))
}

// scaleShift sets d[i] = float32(s[i]·a) + b, four values at a time with
// SIMD (scaleShiftQuads: Mul, then Add), the rest as scaleShiftScalar.
func scaleShift(d, s []float32, a, b float32) {
	n := 0
	if useSIMD {
		n = len(d) / 4 * 4
		scaleShiftQuads(d[:n], s[:n], a, b)
	}
	scaleShiftScalar(d[n:], s[n:], a, b)
}

// siluTail sets o[i] = x[i] / (1 + o[i]), four values at a time with SIMD,
// the rest as siluTailScalar.
func siluTail(o, x []float32) {
	i := 0
	if useSIMD {
		x = x[:len(o)]
		one := archsimd.BroadcastFloat32x4(1)
		for ; i+4 <= len(o); i += 4 {
			store4(o, i, load4(x, i).Div(one.Add(load4(o, i))))
		}
	}
	siluTailScalar(o[i:], x[i:])
}

// copyRow sets the nr floats of a strip's row, d, to lo[:4] then hi[:4], as
// two vectors: moves, which SSE and SIMD128 always have, so useSIMD need not
// be asked, and the call inlines. (An array assignment, which may overlap as
// far as the compiler knows, is a call to memmove under wasm.)
func copyRow(d, lo, hi []float32) {
	store4(d, 0, load4(lo, 0))
	store4(d, 4, load4(hi, 0))
}

// add sets d[i] = a[i] + b[i], four values at a time with SIMD, the rest as
// addScalar.
func add(d, a, b []float32) {
	i := 0
	if useSIMD {
		a, b = a[:len(d)], b[:len(d)]
		for ; i+4 <= len(d); i += 4 {
			store4(d, i, load4(a, i).Add(load4(b, i)))
		}
	}
	addScalar(d[i:], a[i:], b[i:])
}

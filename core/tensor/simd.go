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

// kernel is kernelSIMD (simd_amd64.go, simd_wasm.go), or kernelScalar
// without SIMD.
func kernel(a, b, c []float32, ldc int) {
	if useSIMD {
		kernelSIMD(a, b, c, ldc)
		return
	}
	kernelScalar(a, b, c, ldc)
}

// expInto sets dst[i] = Exp32(src[i]); dst may be src. Four values at a time
// go through expQuad when all of them lie in [expLow, expHigh], the rest
// through expScalar: the same bits either way.
func expInto(dst, src []float32) {
	if !useSIMD {
		expScalar(dst, src)
		return
	}
	dst = dst[:len(src)]
	i := 0
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

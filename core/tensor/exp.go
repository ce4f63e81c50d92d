package tensor

import "math"

// Constants of Exp32's range reduction x = n·ln2 + r. ln2Hi has only 9
// significant bits, so n·ln2Hi is exact for every |n| < 2^15.
const (
	log2e = 1.44269504088896341
	ln2Hi = 0.693359375
	ln2Lo = -2.12194440e-4
	// expMax is the largest float32 x whose exp rounds below +Inf; expMin is
	// where exp(x) drops below half the smallest subnormal float32.
	expMax = 88.72283935546875
	expMin = -103.97208404541015625
	// roundMagic = 1.5·2^23: for |t| < 2^22, (t + roundMagic) - roundMagic
	// is t rounded to an integer in float32 arithmetic.
	roundMagic = 12582912
)

// For x in [expLow, expHigh], n = round(x·log2 e) lies in [-126, 127], so
// Exp32 takes none of its special cases and 2^n is a normal float32: the
// range where the SIMD build computes four values at a time.
const (
	expLow  = -87
	expHigh = 88
)

// Exp32 returns e^x in float32 with a relative error of about 1e-7 (a couple
// of ulps). It is pure Go with every product rounded explicitly, so it gives
// the same bits natively and under wasm. exp(x) = 2^n · exp(r) with
// n = round(x·log2 e) and |r| <= ln2/2, and exp(r) is its Taylor series to r^7.
// Exp32(+Inf) = +Inf, Exp32(-Inf) = 0, Exp32(NaN) = NaN; results overflow to
// +Inf and underflow through the subnormals to 0.
func Exp32(x float32) float32 {
	v := [1]float32{x}
	expInto(v[:], v[:])
	return v[0]
}

// expScalar sets dst[i] = Exp32(src[i]) one element at a time; dst may be
// src. expInto is it, or expQuad four lanes at a time where the SIMD build
// can (simd.go).
func expScalar(dst, src []float32) {
	dst = dst[:len(src)]
	for i, x := range src {
		switch {
		case x != x:
			dst[i] = x
			continue
		case x > expMax:
			dst[i] = float32(math.Inf(1))
			continue
		case x < expMin:
			dst[i] = 0
			continue
		}
		// fn = round(x·log2 e) without a branch: adding 1.5·2^23 pushes the
		// fraction bits out of the float32 (rounding to nearest even).
		fn := float32(float32(x*log2e)+roundMagic) - roundMagic
		n := int32(fn)
		r := x - float32(fn*ln2Hi)
		r -= float32(fn * ln2Lo)
		// exp(r) = 1 + r + r²/2! + ... + r^7/7!, Horner form.
		p := float32(1.0 / 5040)
		p = float32(p*r) + 1.0/720
		p = float32(p*r) + 1.0/120
		p = float32(p*r) + 1.0/24
		p = float32(p*r) + 1.0/6
		p = float32(p*r) + 0.5
		p = float32(p*r) + 1
		p = float32(p*r) + 1
		if n >= -126 && n <= 127 {
			dst[i] = p * math.Float32frombits(uint32(n+127)<<23)
			continue
		}
		// 2^n is outside the normal range: scale in two halves, each normal.
		h := n / 2
		p *= math.Float32frombits(uint32(h+127) << 23)
		dst[i] = p * math.Float32frombits(uint32(n-h+127)<<23)
	}
}

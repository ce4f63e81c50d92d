package scheduler

import "math"

// Schedule math runs on scalars: float64 where diffusers computes in Python or
// numpy float64, float32 where it computes on 0-dim torch float32 tensors.
// Two things would make native and wasm builds disagree in the last bit:
// math.Exp and math.Log use assembly on amd64 (and math.Exp picks an FMA path
// by CPU), and the compiler fuses x*y+z into an FMA on amd64 with GOAMD64=v3
// but never on wasm. So the few elementary functions needed here are written
// out below with every product rounded explicitly (float64(a*b) forbids
// fusion, per the Go spec). They are accurate to a few float64 ulps, far below
// the float32 rounding that follows them.

const (
	// pio2Hi+pio2Lo = π/2; pio2Hi is float64(π/2).
	pio2Hi = 1.57079632679489655800e+00
	pio2Lo = 6.12323399573676603587e-17
)

// cosQuadrant is cos x for x in [0, π/2] (the only range the cosine beta
// schedule needs): a Taylor series in x² below π/4, and sin(π/2 − x) with
// π/2 split in two above it, so that the result stays accurate near zero.
func cosQuadrant(x float64) float64 {
	if x <= math.Pi/4 {
		return taylor(float64(x*x), 1, 2)
	}
	y := (pio2Hi - x) + pio2Lo // pio2Hi − x is exact for x in [π/4, π/2]
	return float64(y * taylor(float64(y*y), 2, 3))
}

// taylor sums 1 − z/(a·b) + z²/(a·b·(a+2)(b+2)) − … to 11 terms: the cosine
// series in z = x² for (a, b) = (1, 2) and sin(y)/y for (a, b) = (2, 3).
func taylor(z, a, b float64) float64 {
	p := 1.0
	for k := 10.0; k >= 0; k-- {
		d := (a + 2*k) * (b + 2*k)
		p = 1 - float64(float64(z*p)/d)
	}
	return p
}

// sqrt32 is √x on a 0-dim float32 tensor: correctly rounded, as torch's is.
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// fmaf is a·b+c with a single rounding to float32, like the FMA instructions
// of the AVX2 code paths that made the references. a·b is exact in float64;
// the float64 sum may round, and its exact error e decides the one case where
// rounding again to float32 would differ: a sum exactly halfway between two
// float32 values.
func fmaf(a, b, c float32) float32 {
	p := float64(float64(a) * float64(b)) // exact
	s := p + float64(c)
	bb := s - p
	e := (p - (s - bb)) + (float64(c) - bb) // s + e = a·b + c exactly
	r := float32(s)
	if e == 0 || float64(r) == s || math.IsInf(float64(r), 0) {
		return r
	}
	toward := float32(math.Inf(1))
	if float64(r) > s {
		toward = float32(math.Inf(-1))
	}
	other := math.Nextafter32(r, toward) // s lies between r and other
	if mid := (float64(r) + float64(other)) / 2; mid == s && (e > 0) == (float64(other) > s) {
		return other
	}
	return r
}

package scheduler

import "math"

// torch's CPU log and exp on float32 tensors (0-dim ones included) run SLEEF's
// vectorised logf_u10 and expf_u10, AVX2 variants with FMA, on the machine
// that made the references. They are accurate to 1 ulp but not correctly
// rounded, and DPM-Solver's λ = log α − log σ and e^{−h} feed every element of
// a step, so log32 and exp32 evaluate the same published algorithms (Shibata's
// SLEEF: Cody–Waite reduction and minimax polynomials, log in double-float
// arithmetic) with the same float32 coefficients and FMA placement, giving
// the same bits. Every operation below is a float32 operation or fmaf.

// f2 is an unevaluated float32 sum hi + lo ("double-float").
type f2 struct{ hi, lo float32 }

// addFF is x + y for |x| >= |y| (Fast2Sum with the error folded in).
func addFF(x, y f2) f2 {
	hi := x.hi + y.hi
	return f2{hi, (((x.hi - hi) + y.hi) + x.lo) + y.lo}
}

// addF is x + y for a float32 y with |x| >= |y|.
func addF(x f2, y float32) f2 {
	hi := x.hi + y
	return f2{hi, ((x.hi - hi) + y) + x.lo}
}

// twoSum is x + y exactly, for any magnitudes.
func twoSum(x, y float32) f2 {
	hi := x + y
	v := hi - x
	return f2{hi, (x - (hi - v)) + (y - v)}
}

// mulF is x·y for a float32 y, the product error recovered by an FMA.
func mulF(x f2, y float32) f2 {
	hi := x.hi * y
	return f2{hi, fmaf(x.lo, y, fmaf(x.hi, y, -hi))}
}

// divFF is n/d in double-float, refined from the float32 reciprocal of d.hi.
func divFF(n, d f2) f2 {
	t := 1 / d.hi
	hi := n.hi * t
	u := fmaf(t, n.hi, -hi)
	lo := fmaf(-d.lo, t, fmaf(-d.hi, t, 1))
	return f2{hi, fmaf(hi, lo, fmaf(n.lo, t, u))}
}

// log32 is ln x: x = m·2^e with m in [0.75, 1.5), ln m = 2·atanh(y) with
// y = (m−1)/(m+1) in double-float, 2y + y³·P(y²), plus e·ln2.
func log32(d float32) float32 {
	const minNormal = 0x1p-126
	small := d < minNormal
	if small {
		d *= 0x1p64
	}
	e := int32(math.Float32bits(d*(1/0.75))>>23&0xff) - 0x7f
	m := math.Float32frombits(uint32(int32(math.Float32bits(d)) + (-e)<<23))
	if small {
		e -= 64
	}
	s := mulF(f2{0.69314718246459960938, -1.904654323148236017e-09}, float32(e))
	y := divFF(twoSum(-1, m), twoSum(1, m))
	y2 := y.hi * y.hi
	t := fmaf(fmaf(0.3027294874, y2, 0.3996108174), y2, 0.6666694880)
	s = addFF(s, f2{y.hi * 2, y.lo * 2})
	s = addF(s, y2*y.hi*t)
	r := s.hi + s.lo
	switch {
	case math.IsInf(float64(d), 1):
		r = float32(math.Inf(1))
	case d < 0 || d != d:
		r = float32(math.NaN())
	case d == 0:
		r = float32(math.Inf(-1))
	}
	return r
}

// exp32 is e^x: q = rint(x/ln2), s = x − q·ln2 (two FMAs with ln2 split),
// e^s by a degree-7 polynomial, then scaled by 2^q.
func exp32(d float32) float32 {
	const (
		l2u = 0.693145751953125
		l2l = 1.428606765330187045e-06
	)
	q := rint32(d * 1.442695040888963407359924681001892137426645954152985934135449406931)
	qf := float32(q)
	s := fmaf(qf, -l2u, d)
	s = fmaf(qf, -l2l, s)
	u := float32(0.000198527617612853646278381)
	u = fmaf(u, s, 0.00139304355252534151077271)
	u = fmaf(u, s, 0.00833336077630519866943359)
	u = fmaf(u, s, 0.0416664853692054748535156)
	u = fmaf(u, s, 0.166666671633720397949219)
	u = fmaf(u, s, 0.5)
	u = 1 + fmaf(s*s, u, s)
	u = u * pow2i(q>>1) * pow2i(q-q>>1)
	switch {
	case d < -104:
		u = 0
	case d > 100:
		u = float32(math.Inf(1))
	}
	return u
}

// rint32 rounds to the nearest int32, ties to even; NaN and out-of-range
// values give math.MinInt32, as the x86 conversion does.
func rint32(x float32) int32 {
	r := math.RoundToEven(float64(x))
	if !(r >= math.MinInt32 && r <= math.MaxInt32) {
		return math.MinInt32
	}
	return int32(r)
}

// pow2i is 2^q by building the exponent bits (wrapping like int32 lanes).
func pow2i(q int32) float32 { return math.Float32frombits(uint32((q + 0x7f) << 23)) }

package scheduler

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

// ulps32 is the distance between a and b in float32 ulps of b.
func ulps32(a, b float32) float64 {
	if a == b {
		return 0
	}
	u := float64(math.Nextafter32(b, float32(math.Inf(1))) - b)
	return math.Abs(float64(a)-float64(b)) / u
}

// cosQuadrant against a 300-bit Taylor series, at the cosine schedule's
// arguments (t+0.008)/1.008·π/2 for T = 1000 and on a grid over [0, π/2].
func TestCosQuadrant(t *testing.T) {
	bigCos := func(x float64) float64 {
		const prec = 300
		z := new(big.Float).SetPrec(prec).SetFloat64(x)
		z.Mul(z, z)
		sum := new(big.Float).SetPrec(prec).SetFloat64(1)
		term := new(big.Float).SetPrec(prec).SetFloat64(1)
		for k := 1; k < 40; k++ {
			term.Mul(term, z)
			term.Quo(term, new(big.Float).SetFloat64(float64((2*k-1)*(2*k))))
			term.Neg(term)
			sum.Add(sum, term)
		}
		f, _ := sum.Float64()
		return f
	}
	var xs []float64
	for i := 0; i <= 1000; i++ {
		xs = append(xs, (float64(i)/1000+0.008)/1.008*math.Pi/2, math.Pi/2*float64(i)/1000)
	}
	worst := 0.0
	for _, x := range xs {
		got, want := cosQuadrant(x), bigCos(x)
		worst = max(worst, math.Abs(got-want)/(math.Nextafter(want, 2)-want))
	}
	if worst > 1 {
		t.Errorf("cosQuadrant: worst error %.2f float64 ulps, want <= 1", worst)
	}
}

// fmaf must round a·b+c once, like a hardware FMA; big.Float gives the exact sum.
func TestFMAF(t *testing.T) {
	exactFMA := func(a, b, c float32) float32 {
		x := new(big.Float).SetPrec(200).SetFloat64(float64(a))
		x.Mul(x, new(big.Float).SetFloat64(float64(b)))
		x.Add(x, new(big.Float).SetFloat64(float64(c)))
		f, _ := x.Float32()
		return f
	}
	rng := rand.New(rand.NewPCG(1, 2))
	cases := [][3]float32{
		// a·b + c exactly halfway between float32s after rounding to float64
		{1 + 0x1p-12, 1 + 0x1p-12, 0x1p-60},
		{1 + 0x1p-12, 1 + 0x1p-12, -0x1p-60},
		{3, 1.0 / 3, -1},
		{0.1, 10, -1},
	}
	for range 50000 {
		a := float32(rng.NormFloat64())
		b := float32(rng.NormFloat64() * math.Pow(2, float64(rng.IntN(40)-20)))
		c := -a*b + float32(rng.NormFloat64())*float32(math.Pow(2, float64(rng.IntN(60)-50)))
		cases = append(cases, [3]float32{a, b, c})
	}
	for _, c := range cases {
		if got, want := fmaf(c[0], c[1], c[2]), exactFMA(c[0], c[1], c[2]); math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("fmaf(%v, %v, %v) = %v, want %v", c[0], c[1], c[2], got, want)
		}
	}
}

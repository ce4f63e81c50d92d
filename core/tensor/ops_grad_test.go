package tensor

import (
	"math"
	"testing"
)

// Gradient tests. Each backward kernel (float32) is checked against central
// differences of a float64 reference of its forward pass: for the scalar
// L = Σ r·f(θ) with fixed random r, dL/dθ_i ≈ (L(θ_i+h) − L(θ_i−h)) / 2h with
// h = 1e-4. In float64 the difference quotient is accurate to about 1e-8
// relative (the truncation error is O(h²), the round-off O(1e-16/h)), so the
// tolerance below measures the float32 kernel, and any wrong term shows up as
// an O(1) error. Each test also checks that the float64 reference computes
// what the float32 forward kernel computes.
const (
	fdStep   = 1e-4
	tolGrad  = 2e-6 // max |analytic − numeric| / max |numeric|, per gradient (measured ≤ 2.1e-7)
	tolFwd64 = 1e-5 // float32 forward vs its float64 reference, relative to max |out|
)

// f64 converts float32 values to float64.
func f64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// numericGrad returns ∂L/∂θ for L = Σ r·f() by central differences, where f
// reads θ (which numericGrad perturbs in place and restores).
func numericGrad(theta, r []float64, f func() []float64) []float64 {
	loss := func() float64 {
		s := 0.0
		for i, y := range f() {
			s += r[i] * y
		}
		return s
	}
	g := make([]float64, len(theta))
	for i, v := range theta {
		theta[i] = v + fdStep
		lp := loss()
		theta[i] = v - fdStep
		lm := loss()
		theta[i] = v
		g[i] = (lp - lm) / (2 * fdStep)
	}
	return g
}

// relErr is max |got − want| / max |want|.
func relErr(got []float32, want []float64) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	num, den := 0.0, 0.0
	for i, w := range want {
		d := math.Abs(float64(got[i]) - w)
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		num, den = max(num, d), max(den, math.Abs(w))
	}
	if den == 0 {
		return num
	}
	return num / den
}

// checkGrad fails unless the analytic gradient got matches the numeric one.
func checkGrad(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	e := relErr(got, want)
	if !(e <= tolGrad) {
		t.Errorf("%s: relative error %.3g > %g", name, e, tolGrad)
	}
	t.Logf("%s: relative error %.2e", name, e)
}

// checkForward fails unless the float32 kernel matches the float64 reference.
func checkForward(t *testing.T, name string, got []float32, want []float64) {
	t.Helper()
	if e := relErr(got, want); !(e <= tolFwd64) {
		t.Fatalf("%s: float64 reference differs from the kernel by %.3g (relative)", name, e)
	}
}

// ref64GroupNorm is GroupNorm in float64.
func ref64GroupNorm(x []float64, shape []int, groups int, gamma, beta []float64, eps float64) []float64 {
	c := shape[1]
	hw := len(x) / (shape[0] * c)
	cg := c / groups
	out := make([]float64, len(x))
	for ng := 0; ng < shape[0]*groups; ng++ {
		src := x[ng*cg*hw : (ng+1)*cg*hw]
		mean, ss := 0.0, 0.0
		for _, v := range src {
			mean += v
		}
		mean /= float64(len(src))
		for _, v := range src {
			ss += (v - mean) * (v - mean)
		}
		r := 1 / math.Sqrt(ss/float64(len(src))+eps)
		for i, v := range src {
			ch := (ng%groups)*cg + i/hw
			out[ng*cg*hw+i] = (v-mean)*r*gamma[ch] + beta[ch]
		}
	}
	return out
}

func TestGroupNormBackward(t *testing.T) {
	const groups, eps = 2, 1e-5
	shape := []int{2, 4, 3, 3}
	x := randTensor(11, shape...)
	gamma, beta := randTensor(12, 4), randTensor(13, 4)
	for i := range gamma.Data {
		gamma.Data[i] += 1.5 // keep the scale away from zero
	}
	dy := randTensor(14, shape...)
	x64, g64, b64, r := f64(x.Data), f64(gamma.Data), f64(beta.Data), f64(dy.Data)
	f := func() []float64 { return ref64GroupNorm(x64, shape, groups, g64, b64, eps) }
	checkForward(t, "GroupNorm", GroupNorm(x, groups, gamma.Data, beta.Data, eps).Data, f())

	dgamma, dbeta := make([]float32, 4), make([]float32, 4)
	dx := GroupNormBackward(x, dy, groups, gamma.Data, eps, dgamma, dbeta)
	checkGrad(t, "GroupNorm dx", dx.Data, numericGrad(x64, r, f))
	checkGrad(t, "GroupNorm dgamma", dgamma, numericGrad(g64, r, f))
	checkGrad(t, "GroupNorm dbeta", dbeta, numericGrad(b64, r, f))
}

func TestSiLUBackward(t *testing.T) {
	x := randTensor(21, 3, 7)
	for i := range x.Data {
		x.Data[i] *= 6 // cover both tails of the sigmoid
	}
	dy := randTensor(22, 3, 7)
	x64, r := f64(x.Data), f64(dy.Data)
	f := func() []float64 {
		out := make([]float64, len(x64))
		for i, v := range x64 {
			out[i] = v / (1 + math.Exp(-v))
		}
		return out
	}
	checkForward(t, "SiLU", SiLU(x).Data, f())
	checkGrad(t, "SiLU dx", SiLUBackward(x, dy).Data, numericGrad(x64, r, f))
}

// ref64Linear is x @ W^T + b in float64 for x (rows,in).
func ref64Linear(x, w, b []float64, in, out int) []float64 {
	rows := len(x) / in
	y := make([]float64, rows*out)
	for r := 0; r < rows; r++ {
		for o := 0; o < out; o++ {
			s := b[o]
			for i := 0; i < in; i++ {
				s += x[r*in+i] * w[o*in+i]
			}
			y[r*out+o] = s
		}
	}
	return y
}

func TestLinearBackward(t *testing.T) {
	const in, out = 5, 3
	x, w, b := randTensor(31, 2, 4, in), randTensor(32, out, in), randTensor(33, out)
	dy := randTensor(34, 2, 4, out)
	x64, w64, b64, r := f64(x.Data), f64(w.Data), f64(b.Data), f64(dy.Data)
	f := func() []float64 { return ref64Linear(x64, w64, b64, in, out) }
	checkForward(t, "Linear", Linear(x, w, b.Data).Data, f())

	dw, db := New(out, in), make([]float32, out)
	dx := LinearBackward(x, w, dy, dw, db)
	checkGrad(t, "Linear dx", dx.Data, numericGrad(x64, r, f))
	checkGrad(t, "Linear dw", dw.Data, numericGrad(w64, r, f))
	checkGrad(t, "Linear db", db, numericGrad(b64, r, f))
}

// ref64Attention is Attention in float64 for q, k, v [B,T,C].
func ref64Attention(q, k, v []float64, nb, t, c, heads int, scale float64) []float64 {
	d := c / heads
	out := make([]float64, nb*t*c)
	s := make([]float64, t)
	for b := 0; b < nb; b++ {
		for h := 0; h < heads; h++ {
			at := func(m []float64, row, j int) float64 { return m[(b*t+row)*c+h*d+j] }
			for i := 0; i < t; i++ {
				mx := math.Inf(-1)
				for j := 0; j < t; j++ {
					s[j] = 0
					for e := 0; e < d; e++ {
						s[j] += at(q, i, e) * at(k, j, e)
					}
					s[j] *= scale
					mx = max(mx, s[j])
				}
				sum := 0.0
				for j := range s {
					s[j] = math.Exp(s[j] - mx)
					sum += s[j]
				}
				for e := 0; e < d; e++ {
					acc := 0.0
					for j := 0; j < t; j++ {
						acc += s[j] / sum * at(v, j, e)
					}
					out[(b*t+i)*c+h*d+e] = acc
				}
			}
		}
	}
	return out
}

func TestAttentionBackward(t *testing.T) {
	const nb, tk, c, heads = 2, 5, 6, 2
	scale := float32(1 / math.Sqrt(c/heads))
	q, k, v := randTensor(41, nb, tk, c), randTensor(42, nb, tk, c), randTensor(43, nb, tk, c)
	for i := range q.Data {
		q.Data[i] *= 2 // a less uniform softmax
	}
	dout := randTensor(44, nb, tk, c)
	q64, k64, v64, r := f64(q.Data), f64(k.Data), f64(v.Data), f64(dout.Data)
	f := func() []float64 { return ref64Attention(q64, k64, v64, nb, tk, c, heads, float64(scale)) }
	checkForward(t, "Attention", Attention(q, k, v, heads, scale).Data, f())

	dq, dk, dv := AttentionBackward(q, k, v, dout, heads, scale)
	checkGrad(t, "Attention dq", dq.Data, numericGrad(q64, r, f))
	checkGrad(t, "Attention dk", dk.Data, numericGrad(k64, r, f))
	checkGrad(t, "Attention dv", dv.Data, numericGrad(v64, r, f))
}

func TestUpsample2xBackward(t *testing.T) {
	x, dy := randTensor(51, 2, 3, 3, 4), randTensor(52, 2, 3, 6, 8)
	x64, r := f64(x.Data), f64(dy.Data)
	f := func() []float64 { // out[p, y, x] = in[p, y/2, x/2]
		out := make([]float64, 4*len(x64))
		for i := range out {
			p, y, xo := i/48, i/8%6, i%8
			out[i] = x64[p*12+y/2*4+xo/2]
		}
		return out
	}
	checkForward(t, "Upsample2x", Upsample2x(x).Data, f())
	checkGrad(t, "Upsample2x dx", Upsample2xBackward(dy).Data, numericGrad(x64, r, f))
}

func TestConcatBackward(t *testing.T) {
	a, b := randTensor(61, 2, 3, 2, 2), randTensor(62, 2, 1, 2, 2)
	dy := randTensor(63, 2, 4, 2, 2)
	a64, b64, r := f64(a.Data), f64(b.Data), f64(dy.Data)
	f := func() []float64 { // per image: a's 3 channels, then b's one
		var out []float64
		for n := 0; n < 2; n++ {
			out = append(out, a64[n*12:(n+1)*12]...)
			out = append(out, b64[n*4:(n+1)*4]...)
		}
		return out
	}
	checkForward(t, "Concat", Concat(a, b).Data, f())
	da, db := ConcatBackward(dy, 3)
	checkGrad(t, "Concat da", da.Data, numericGrad(a64, r, f))
	checkGrad(t, "Concat db", db.Data, numericGrad(b64, r, f))
}

// TestBackwardPanics checks that mismatched shapes are refused.
func TestBackwardPanics(t *testing.T) {
	cases := map[string]func(){
		"GroupNorm dy shape": func() {
			GroupNormBackward(New(1, 4, 2, 2), New(1, 4, 2, 3), 2, make([]float32, 4), 1e-5, make([]float32, 4), make([]float32, 4))
		},
		"SiLU dy shape":   func() { SiLUBackward(New(2, 3), New(3, 2)) },
		"Linear dw shape": func() { LinearBackward(New(2, 3), New(4, 3), New(2, 4), New(3, 4), nil) },
		"Attention heads": func() { AttentionBackward(New(1, 2, 6), New(1, 2, 6), New(1, 2, 6), New(1, 2, 6), 4, 1) },
		"Upsample odd":    func() { Upsample2xBackward(New(1, 1, 3, 4)) },
		"Concat channel":  func() { ConcatBackward(New(1, 2, 1, 1), 3) },
		"Conv2d dy shape": func() {
			Conv2dBackward(New(1, 2, 4, 4), New(3, 2, 3, 3), New(1, 3, 3, 3), 1, Padding{1, 1, 1, 1}, New(3, 2, 3, 3), nil)
		},
		"Conv2d dw shape": func() {
			Conv2dBackward(New(1, 2, 4, 4), New(3, 2, 3, 3), New(1, 3, 4, 4), 1, Padding{1, 1, 1, 1}, New(3, 2, 1, 1), nil)
		},
		"Conv2d bias size": func() {
			Conv2dBackward(New(1, 2, 4, 4), New(3, 2, 3, 3), New(1, 3, 4, 4), 1, Padding{1, 1, 1, 1}, New(3, 2, 3, 3), make([]float32, 2))
		},
	}
	for name, f := range cases {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("no panic")
				}
			}()
			f()
		})
	}
}

package tensor

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"
)

// randTensor fills a tensor of the given shape with uniform values in [-1,1)
// from a fixed seed.
func randTensor(seed uint64, shape ...int) *Tensor {
	r := rand.New(rand.NewPCG(seed, 1))
	t := New(shape...)
	for i := range t.Data {
		t.Data[i] = float32(2*r.Float64() - 1)
	}
	return t
}

// checkClose fails unless |got-want| <= tol·(1+|want|) everywhere and returns
// the largest |got-want|.
func checkClose(t *testing.T, name string, got []float32, want []float64, tol float64) float64 {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	worst := 0.0
	for i, w := range want {
		d := math.Abs(float64(got[i]) - w)
		if !(d <= tol*(1+math.Abs(w))) {
			t.Fatalf("%s: [%d] = %v, want %v (tolerance %g)", name, i, got[i], w, tol)
		}
		worst = max(worst, d)
	}
	return worst
}

func refGemm(transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int) []float64 {
	c := make([]float64, m*n)
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			s := 0.0
			for p := 0; p < k; p++ {
				var bv float32
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float64(a[i*lda+p]) * float64(bv)
			}
			c[i*n+j] = s
		}
	}
	return c
}

// gemmSizes covers the register tile's fringes: sizes that are not multiples
// of the tile or of the k unrolling, including 1, and sizes past a block.
var gemmSizes = [][3]int{
	{1, 1, 1}, {1, 7, 3}, {5, 1, 9}, {2, 3, 4}, {3, 3, 5}, {4, 4, 4}, {7, 13, 6},
	{17, 9, 33}, {33, 65, 2}, {64, 64, 64}, {70, 150, 300}, {130, 37, 517},
}

// TestGemm compares Gemm and its transposed-B form with a float64 reference,
// with strided operands, to 1e-5 relative to (1 + |C|) scaled by sqrt(k).
func TestGemm(t *testing.T) {
	for _, sz := range gemmSizes {
		m, n, k := sz[0], sz[1], sz[2]
		for _, transB := range []bool{false, true} {
			lda, ldb, ldc := k+3, n+2, n+1
			if transB {
				ldb = k + 5
			}
			a := randTensor(1, m*lda).Data
			b := randTensor(2, k*ldb+n*ldb).Data
			c := randTensor(3, m*ldc).Data
			if transB {
				gemmTB(m, n, k, a, lda, b, ldb, c, ldc)
			} else {
				Gemm(m, n, k, a, lda, b, ldb, c, ldc)
			}
			want := refGemm(transB, m, n, k, a, lda, b, ldb)
			got := make([]float32, 0, m*n)
			for i := 0; i < m; i++ {
				got = append(got, c[i*ldc:i*ldc+n]...)
			}
			tol := 1e-6 * math.Sqrt(float64(k))
			worst := checkClose(t, fmt.Sprintf("gemm(transB=%v, %dx%dx%d)", transB, m, n, k), got, want, tol)
			t.Logf("%dx%dx%d transB=%v: max abs err %.2e", m, n, k, transB, worst)
		}
	}
}

func refConv(x, w *Tensor, bias []float32, s int, pad Padding) []float64 {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	ho := (h+pad.Top+pad.Bottom-kh)/s + 1
	wo := (wd+pad.Left+pad.Right-kw)/s + 1
	out := make([]float64, 0, n*cout*ho*wo)
	for b := 0; b < n; b++ {
		for o := 0; o < cout; o++ {
			for y := 0; y < ho; y++ {
				for xo := 0; xo < wo; xo++ {
					acc := 0.0
					if bias != nil {
						acc = float64(bias[o])
					}
					for c := 0; c < cin; c++ {
						for i := 0; i < kh; i++ {
							for j := 0; j < kw; j++ {
								iy, ix := y*s+i-pad.Top, xo*s+j-pad.Left
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								acc += float64(w.Data[((o*cin+c)*kh+i)*kw+j]) * float64(x.Data[((b*cin+c)*h+iy)*wd+ix])
							}
						}
					}
					out = append(out, acc)
				}
			}
		}
	}
	return out
}

// TestConv2d checks 3x3 and 1x1 convolutions, stride 1 and 2, symmetric and
// diffusers' asymmetric (0,0,1,1) padding, with and without bias, against a
// float64 direct convolution to 1e-5 relative.
func TestConv2d(t *testing.T) {
	cases := []struct {
		n, cin, h, w, cout, k, s int
		pad                      Padding
		bias                     bool
	}{
		{2, 3, 8, 8, 5, 3, 1, Padding{1, 1, 1, 1}, true},
		{1, 4, 7, 9, 3, 3, 1, Padding{1, 1, 1, 1}, false},
		{2, 3, 8, 8, 4, 3, 2, Padding{1, 1, 1, 1}, true},
		{2, 5, 9, 7, 6, 3, 2, Padding{0, 0, 1, 1}, true},
		{1, 6, 8, 8, 7, 3, 2, Padding{0, 0, 1, 1}, false},
		{3, 7, 5, 6, 4, 1, 1, Padding{}, true},
		{1, 8, 6, 6, 3, 1, 2, Padding{}, true},
		{1, 17, 11, 13, 19, 3, 1, Padding{1, 1, 1, 1}, true},
		{2, 40, 6, 7, 9, 3, 1, Padding{1, 1, 1, 1}, true}, // K = 360: two panels
		{1, 300, 3, 5, 7, 1, 1, Padding{}, false},         // 1x1 over two panels
		{1, 30, 9, 9, 6, 3, 2, Padding{1, 1, 1, 1}, true}, // stride 2, K = 270
		{3, 16, 4, 4, 9, 3, 1, Padding{1, 1, 1, 1}, true}, // 4x4: strips of two output rows
		{2, 3, 4, 6, 5, 3, 1, Padding{1, 1, 1, 1}, true},  // 4x6: strips over three rows
	}
	for _, tc := range cases {
		x := randTensor(4, tc.n, tc.cin, tc.h, tc.w)
		w := randTensor(5, tc.cout, tc.cin, tc.k, tc.k)
		var bias []float32
		if tc.bias {
			bias = randTensor(6, tc.cout).Data
		}
		got := Conv2d(x, w, bias, tc.s, tc.pad)
		ho := (tc.h+tc.pad.Top+tc.pad.Bottom-tc.k)/tc.s + 1
		wo := (tc.w+tc.pad.Left+tc.pad.Right-tc.k)/tc.s + 1
		if fmt.Sprint(got.Shape) != fmt.Sprint([]int{tc.n, tc.cout, ho, wo}) {
			t.Fatalf("%+v: shape %v", tc, got.Shape)
		}
		worst := checkClose(t, fmt.Sprintf("conv %+v", tc), got.Data, refConv(x, w, bias, tc.s, tc.pad), 1e-5)
		t.Logf("%+v: max abs err %.2e", tc, worst)
	}
}

// TestConvWeights checks that a ConvWeights, which keeps its packed forms,
// gives Conv2d's bits on both paths (Winograd at 9x9, the GEMM at 4x4 and
// for a strided and a 1x1 kernel) on its first and later calls and from
// goroutines at once, and that it reads its weights at first use.
func TestConvWeights(t *testing.T) {
	cases := []struct {
		n, cin, hw, cout, k, s int
		pad                    Padding
	}{
		{2, 20, 9, 18, 3, 1, Padding{1, 1, 1, 1}},  // Winograd
		{2, 20, 4, 18, 3, 1, Padding{1, 1, 1, 1}},  // GEMM
		{1, 300, 8, 17, 3, 1, Padding{1, 1, 1, 1}}, // Winograd, K over two panels
		{2, 12, 9, 10, 3, 2, Padding{0, 0, 1, 1}},
		{2, 24, 7, 8, 1, 1, Padding{}},
	}
	for _, tc := range cases {
		x := randTensor(60, tc.n, tc.cin, tc.hw, tc.hw)
		w := randTensor(61, tc.cout, tc.cin, tc.k, tc.k)
		bias := randTensor(62, tc.cout).Data
		cw := NewConvWeights(w)
		// Weights written after NewConvWeights and before the first call count.
		for i := range w.Data {
			w.Data[i] *= 2
		}
		want := Conv2d(x, w, bias, tc.s, tc.pad).Data
		outs := make([][]float32, 4)
		withProcs(4, func() {
			parallel(4, func(i int) { outs[i] = cw.Conv2d(x, bias, tc.s, tc.pad).Data })
		})
		outs = append(outs, cw.Conv2d(x, bias, tc.s, tc.pad).Data)
		for i, got := range outs {
			if !sameBits(got, want) {
				t.Errorf("%+v: call %d differs from Conv2d", tc, i)
			}
		}
	}
}

// TestGroupNorm checks GroupNorm with groups < C, groups = C and one group
// against a float64 reference to 1e-5 relative.
func TestGroupNorm(t *testing.T) {
	for _, tc := range []struct{ n, c, h, w, groups int }{{2, 8, 3, 5, 4}, {1, 6, 4, 4, 6}, {3, 4, 2, 3, 1}, {2, 6, 1, 1, 3}} {
		x := randTensor(7, tc.n, tc.c, tc.h, tc.w)
		for i := range x.Data {
			x.Data[i] = 3*x.Data[i] + 0.5
		}
		gamma, beta := randTensor(8, tc.c).Data, randTensor(9, tc.c).Data
		const eps = 1e-5
		got := GroupNorm(x, tc.groups, gamma, beta, eps)
		hw, cg := tc.h*tc.w, tc.c/tc.groups
		want := make([]float64, len(x.Data))
		for ng := 0; ng < tc.n*tc.groups; ng++ {
			src := x.Data[ng*cg*hw : (ng+1)*cg*hw]
			mean, ss := 0.0, 0.0
			for _, v := range src {
				mean += float64(v)
			}
			mean /= float64(len(src))
			for _, v := range src {
				ss += (float64(v) - mean) * (float64(v) - mean)
			}
			std := math.Sqrt(ss/float64(len(src)) + eps)
			for i, v := range src {
				c := (ng%tc.groups)*cg + i/hw
				want[ng*cg*hw+i] = (float64(v)-mean)/std*float64(gamma[c]) + float64(beta[c])
			}
		}
		worst := checkClose(t, fmt.Sprintf("groupnorm %+v", tc), got.Data, want, 1e-5)
		t.Logf("%+v: max abs err %.2e", tc, worst)
	}
}

// TestExp32 compares Exp32 with float64 math.Exp on a dense grid over the
// whole finite range to 3e-7 relative (about 2.5 ulps), and checks the edges.
func TestExp32(t *testing.T) {
	worst := 0.0
	for x := float32(-87.3); x < 88.7; x += 0.000731 {
		got := float64(Exp32(x))
		want := math.Exp(float64(x))
		rel := math.Abs(got-want) / want
		if !(rel <= 3e-7) {
			t.Fatalf("Exp32(%v) = %v, want %v (rel %.2e)", x, got, want, rel)
		}
		worst = max(worst, rel)
	}
	t.Logf("max relative error in the normal range: %.2e", worst)
	// Subnormal results: absolute error within one subnormal step.
	for x := float32(-103.9); x < -87.3; x += 0.01 {
		got, want := float64(Exp32(x)), math.Exp(float64(x))
		if d := math.Abs(got - want); !(d <= math.Max(3e-7*want, 0x1p-149)) {
			t.Fatalf("Exp32(%v) = %v, want %v", x, got, want)
		}
	}
	inf := float32(math.Inf(1))
	edges := []struct{ x, want float32 }{
		{0, 1}, {inf, inf}, {-inf, 0}, {88.73, inf}, {100, inf}, {-104, 0}, {-1000, 0},
		{expMax, float32(math.Exp(expMax))},
	}
	for _, e := range edges {
		if got := Exp32(e.x); got != e.want {
			t.Errorf("Exp32(%v) = %v, want %v", e.x, got, e.want)
		}
	}
	if got := Exp32(float32(math.NaN())); got == got {
		t.Errorf("Exp32(NaN) = %v, want NaN", got)
	}
}

// TestSiLU checks x·sigmoid(x) against float64 to 1e-6 relative, including
// large |x| where e^-x overflows.
func TestSiLU(t *testing.T) {
	x := randTensor(10, 4, 50)
	for i := range x.Data {
		x.Data[i] *= 30
	}
	x.Data[0], x.Data[1] = 200, -200
	got := SiLU(x)
	want := make([]float64, len(x.Data))
	for i, v := range x.Data {
		want[i] = float64(v) / (1 + math.Exp(-float64(v)))
	}
	worst := checkClose(t, "silu", got.Data, want, 1e-6)
	t.Logf("max abs err %.2e", worst)
}

// TestInPlace checks that SiLUInPlace and AddInPlace give the bits of SiLU
// and Add, in the tensor they were given: over several of SiLU's blocks and a
// partial one, with a value far outside exp's range in one block only (that
// block takes the scalar passes, the others the one-pass SIMD path).
func TestInPlace(t *testing.T) {
	x := randTensor(11, 3, 1000)
	for i := range x.Data {
		x.Data[i] *= 8
	}
	x.Data[1500] = -200
	want := SiLU(x)
	got := x.Clone()
	if out := SiLUInPlace(got); &out.Data[0] != &got.Data[0] {
		t.Error("SiLUInPlace returned another tensor")
	}
	if !sameBits(got.Data, want.Data) {
		t.Error("SiLUInPlace differs from SiLU")
	}
	a, b := randTensor(12, 2, 3, 5), randTensor(13, 2, 3, 5)
	sum := Add(a, b)
	if out := AddInPlace(a, b); &out.Data[0] != &b.Data[0] || !sameBits(b.Data, sum.Data) {
		t.Error("AddInPlace does not leave Add's sum in its second argument")
	}
}

// TestLinear checks x @ W^T + b for 2-D and 3-D inputs, with and without bias,
// to 1e-5 relative.
func TestLinear(t *testing.T) {
	for _, tc := range []struct {
		shape []int
		out   int
		bias  bool
	}{{[]int{3, 7}, 5, true}, {[]int{2, 4, 9}, 6, false}, {[]int{1, 128}, 512, true}} {
		x := randTensor(11, tc.shape...)
		in := tc.shape[len(tc.shape)-1]
		w := randTensor(12, tc.out, in)
		var bias []float32
		if tc.bias {
			bias = randTensor(13, tc.out).Data
		}
		got := Linear(x, w, bias)
		rows := x.Numel() / in
		want := refGemm(true, rows, tc.out, in, x.Data, in, w.Data, in)
		for i := range want {
			if bias != nil {
				want[i] += float64(bias[i%tc.out])
			}
		}
		if got.Shape[len(got.Shape)-1] != tc.out || got.Numel() != rows*tc.out {
			t.Fatalf("shape %v", got.Shape)
		}
		worst := checkClose(t, fmt.Sprintf("linear %v", tc.shape), got.Data, want, 1e-5)
		t.Logf("%v -> %d: max abs err %.2e", tc.shape, tc.out, worst)
	}
}

// TestAttention checks multi-head attention with 1 and several heads against
// a float64 softmax(q kᵀ·scale) v per head to 1e-5 relative.
func TestAttention(t *testing.T) {
	for _, tc := range []struct{ b, t, c, heads int }{{2, 5, 8, 1}, {1, 16, 12, 3}, {2, 9, 16, 4}, {1, 64, 32, 1}} {
		q, k, v := randTensor(14, tc.b, tc.t, tc.c), randTensor(15, tc.b, tc.t, tc.c), randTensor(16, tc.b, tc.t, tc.c)
		for i := range q.Data {
			q.Data[i] *= 3
		}
		d := tc.c / tc.heads
		scale := float32(1 / math.Sqrt(float64(d)))
		got := Attention(q, k, v, tc.heads, scale)
		want := make([]float64, len(q.Data))
		at := func(x *Tensor, b, i, c int) float64 { return float64(x.Data[(b*tc.t+i)*tc.c+c]) }
		for b := 0; b < tc.b; b++ {
			for h := 0; h < tc.heads; h++ {
				for i := 0; i < tc.t; i++ {
					s := make([]float64, tc.t)
					mx := math.Inf(-1)
					for j := range s {
						for c := h * d; c < (h+1)*d; c++ {
							s[j] += at(q, b, i, c) * at(k, b, j, c)
						}
						s[j] *= float64(scale)
						mx = max(mx, s[j])
					}
					sum := 0.0
					for j := range s {
						s[j] = math.Exp(s[j] - mx)
						sum += s[j]
					}
					for c := h * d; c < (h+1)*d; c++ {
						o := 0.0
						for j := range s {
							o += s[j] / sum * at(v, b, j, c)
						}
						want[(b*tc.t+i)*tc.c+c] = o
					}
				}
			}
		}
		worst := checkClose(t, fmt.Sprintf("attention %+v", tc), got.Data, want, 1e-5)
		t.Logf("%+v: max abs err %.2e", tc, worst)
	}
}

// TestShapeOps checks Upsample2x, Concat, Add, ToTokens and FromTokens
// exactly, element by element.
func TestShapeOps(t *testing.T) {
	x := randTensor(17, 2, 3, 4, 5)
	y := randTensor(18, 2, 2, 4, 5)
	up := Upsample2x(x)
	cat := Concat(x, y)
	sum := Add(x, x)
	tok := ToTokens(x)
	back := FromTokens(tok, 4, 5)
	for n := 0; n < 2; n++ {
		for c := 0; c < 5; c++ {
			for h := 0; h < 4; h++ {
				for w := 0; w < 5; w++ {
					var v float32
					if c < 3 {
						v = x.Data[((n*3+c)*4+h)*5+w]
						for _, d := range [][2]int{{0, 0}, {0, 1}, {1, 0}, {1, 1}} {
							if got := up.Data[((n*3+c)*8+2*h+d[0])*10+2*w+d[1]]; got != v {
								t.Fatalf("Upsample2x[%d,%d,%d,%d] = %v, want %v", n, c, 2*h+d[0], 2*w+d[1], got, v)
							}
						}
						if got := sum.Data[((n*3+c)*4+h)*5+w]; got != v+v {
							t.Fatalf("Add = %v, want %v", got, v+v)
						}
						if got := tok.Data[(n*20+h*5+w)*3+c]; got != v {
							t.Fatalf("ToTokens[%d,%d,%d] = %v, want %v", n, h*5+w, c, got, v)
						}
					} else {
						v = y.Data[((n*2+c-3)*4+h)*5+w]
					}
					if got := cat.Data[((n*5+c)*4+h)*5+w]; got != v {
						t.Fatalf("Concat[%d,%d,%d,%d] = %v, want %v", n, c, h, w, got, v)
					}
				}
			}
		}
	}
	if fmt.Sprint(up.Shape, cat.Shape, tok.Shape, back.Shape) != "[2 3 8 10] [2 5 4 5] [2 20 3] [2 3 4 5]" {
		t.Fatalf("shapes %v %v %v %v", up.Shape, cat.Shape, tok.Shape, back.Shape)
	}
	for i, v := range x.Data {
		if back.Data[i] != v {
			t.Fatalf("FromTokens(ToTokens(x))[%d] = %v, want %v", i, back.Data[i], v)
		}
	}
}

func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i, v := range a {
		if math.Float32bits(v) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// withProcs runs f with GOMAXPROCS set to p. Under wasm this changes nothing
// (the kernels run on one goroutine there), and the test still holds.
func withProcs(p int, f func()) {
	old := runtime.GOMAXPROCS(p)
	defer runtime.GOMAXPROCS(old)
	f()
}

// TestGemmSplitInvariant checks that C has the same bits whatever the
// number of goroutines and whichever block of rows or columns is computed on
// its own: a column-split and a row-split size, and an odd one.
func TestGemmSplitInvariant(t *testing.T) {
	for _, sz := range [][3]int{{64, 300, 260}, {700, 6, 900}, {37, 141, 517}} {
		m, n, k := sz[0], sz[1], sz[2]
		a, b := randTensor(20, m*k).Data, randTensor(21, k*n).Data
		ref := make([]float32, m*n)
		withProcs(1, func() { Gemm(m, n, k, a, k, b, n, ref, n) })
		for _, p := range []int{2, 3, 4} {
			c := make([]float32, m*n)
			withProcs(p, func() { Gemm(m, n, k, a, k, b, n, c, n) })
			if !sameBits(c, ref) {
				t.Fatalf("%dx%dx%d: GOMAXPROCS=%d changes the bits of C", m, n, k, p)
			}
		}
		// Rows [i0,i1) and columns [j0,j1) on their own.
		i0, i1, j0, j1 := m/3, m/3+m/2, n/4+1, n
		sub := make([]float32, (i1-i0)*(j1-j0))
		Gemm(i1-i0, j1-j0, k, a[i0*k:], k, b[j0:], n, sub, j1-j0)
		for i := i0; i < i1; i++ {
			if !sameBits(sub[(i-i0)*(j1-j0):(i-i0+1)*(j1-j0)], ref[i*n+j0:i*n+j1]) {
				t.Fatalf("%dx%dx%d: row %d of a sub-product differs from the full product", m, n, k, i)
			}
		}
	}
}

// TestBatchInvariant checks that an image's output has the same bits alone
// and inside a batch, with one goroutine and with several, for Conv2d (3x3
// and 1x1), Linear and Attention. The sizes are big enough for the GEMM to
// split over goroutines natively.
func TestBatchInvariant(t *testing.T) {
	x := randTensor(22, 3, 16, 24, 24)
	w3, w1 := randTensor(23, 24, 16, 3, 3), randTensor(24, 24, 16, 1, 1)
	bias := randTensor(25, 24).Data
	tok := randTensor(26, 3, 64, 64)
	wl, bl := randTensor(27, 256, 64), randTensor(28, 256).Data
	ops := map[string]func(*Tensor, *Tensor) *Tensor{
		"conv3x3":   func(x, _ *Tensor) *Tensor { return Conv2d(x, w3, bias, 1, Padding{1, 1, 1, 1}) },
		"conv3x3/2": func(x, _ *Tensor) *Tensor { return Conv2d(x, w3, bias, 2, Padding{0, 0, 1, 1}) },
		"conv1x1":   func(x, _ *Tensor) *Tensor { return Conv2d(x, w1, nil, 1, Padding{}) },
		"linear":    func(_, q *Tensor) *Tensor { return Linear(q, wl, bl) },
		"attention": func(_, q *Tensor) *Tensor { return Attention(q, q, q, 4, 0.25) },
	}
	image := func(x *Tensor, i int) *Tensor {
		sz := x.Numel() / x.Shape[0]
		return From(x.Data[i*sz:(i+1)*sz], append([]int{1}, x.Shape[1:]...)...)
	}
	for name, op := range ops {
		var batch *Tensor
		withProcs(1, func() { batch = op(x, tok) })
		withProcs(4, func() {
			if !sameBits(op(x, tok).Data, batch.Data) {
				t.Fatalf("%s: GOMAXPROCS=4 changes the bits", name)
			}
		})
		for i := 0; i < 3; i++ {
			alone := op(image(x, i), image(tok, i))
			if !sameBits(alone.Data, image(batch, i).Data) {
				t.Fatalf("%s: image %d alone differs from image %d of the batch", name, i, i)
			}
		}
	}
}

// platformBits are FNV-1a hashes of the bits of each op's output on fixed
// inputs. Natively (with or without FMA-capable GOAMD64) and under wasm the
// kernels must give exactly these bits. A deliberate change to a kernel's
// summation order changes them; update them from a native run only after
// the float64 reference tests pass.
var platformBits = map[string]uint64{
	"gemm":      0xd30a0dcdc3ccce48,
	"conv":      0x8233ceb22ab92b22,
	"conv/2":    0x983977216e33d089,
	"groupnorm": 0x460d4c7b058a8449,
	"silu":      0x5f3ddfbb65d3e4ee,
	"linear":    0x920001cf5a0276fb,
	"attention": 0x7364163298adb96e,
	"exp":       0x4f7c75cda9e61f63,
}

func hashBits(x []float32) uint64 {
	h := uint64(14695981039346656037)
	for _, v := range x {
		b := math.Float32bits(v)
		for i := 0; i < 4; i++ {
			h ^= uint64(b >> (8 * i) & 0xff)
			h *= 1099511628211
		}
	}
	return h
}

// TestPlatformBits compares the hashes of the outputs of every float kernel
// with platformBits, so that a native and a wasm run must agree bit for bit.
func TestPlatformBits(t *testing.T) {
	x := randTensor(30, 2, 12, 11, 9)
	w := randTensor(31, 10, 12, 3, 3)
	bias := randTensor(32, 10).Data
	tok := randTensor(33, 2, 20, 16)
	a, b := randTensor(34, 70*300).Data, randTensor(35, 300*150).Data
	c := make([]float32, 70*150)
	Gemm(70, 150, 300, a, 300, b, 150, c, 150)
	exps := make([]float32, 0, 4000)
	for v := float32(-105); v < 90; v += 0.049 {
		exps = append(exps, Exp32(v))
	}
	gamma, beta := randTensor(36, 12).Data, randTensor(37, 12).Data
	got := map[string]uint64{
		"gemm":      hashBits(c),
		"conv":      hashBits(Conv2d(x, w, bias, 1, Padding{1, 1, 1, 1}).Data),
		"conv/2":    hashBits(Conv2d(x, w, bias, 2, Padding{0, 0, 1, 1}).Data),
		"groupnorm": hashBits(GroupNorm(x, 4, gamma, beta, 1e-5).Data),
		"silu":      hashBits(SiLU(x).Data),
		"linear":    hashBits(Linear(tok, randTensor(38, 24, 16), nil).Data),
		"attention": hashBits(Attention(tok, tok, tok, 2, 0.35).Data),
		"exp":       hashBits(exps),
	}
	for name, h := range got {
		if want, ok := platformBits[name]; !ok || h != want {
			t.Errorf("%s: output bits hash to %#x, want %#x", name, h, want)
		}
	}
}

// TestLinearWeights checks that LinearWeights, which keeps Wᵀ, gives
// Linear's bits on its first and later calls, with and without a bias, for
// token rows [B,T,C] and with the input over two GEMM panels, and that
// AddPerChannel adds each channel's value to its pixels as x + v does.
func TestLinearWeights(t *testing.T) {
	for _, in := range []int{40, 300} {
		w := randTensor(50, 21, in)
		bias := randTensor(51, 21).Data
		lw := NewLinearWeights(w)
		for _, x := range []*Tensor{randTensor(52, 2, 9, in), randTensor(53, 5, in), randTensor(54, 1, in)} {
			for _, b := range [][]float32{bias, nil} {
				if got, want := lw.Linear(x, b).Data, Linear(x, w, b).Data; !sameBits(got, want) {
					t.Errorf("x %v, bias %v: LinearWeights.Linear differs from Linear", x.Shape, b != nil)
				}
			}
		}
	}
	x, v := randTensor(55, 2, 3, 5, 7), randTensor(56, 2, 3)
	want := x.Clone()
	for i := range want.Data {
		want.Data[i] += v.Data[i/35]
	}
	if got := AddPerChannel(x, v); !sameBits(got.Data, want.Data) {
		t.Error("AddPerChannel differs from x + v")
	}
}

// gemmTB computes C = A·Bᵀ with bt holding Bᵀ, n×k with row stride ldb, as
// Linear and Attention's q·kᵀ do through transposedB; C is overwritten. The
// tests use it to reach transposedB's packing at any shape.
func gemmTB(m, n, k int, a []float32, lda int, bt []float32, ldb int, c []float32, ldc int) {
	clearRows(c, m, n, ldc)
	gemmAcc(m, n, k, a, lda, []product{{pack: transposedB(bt, ldb), c: c}}, ldc)
}

// TestGatherRows checks im2col's strip-row gather (assembly under wasm with
// SIMD) against its definition, and that an offset past the image panics
// rather than reading past it.
func TestGatherRows(t *testing.T) {
	lo, hi := randTensor(1, 300).Data, randTensor(2, 300).Data
	for _, off := range [][]int{{0}, {0, 1, 2, 9}, {3, 40, 41, 200, 296}} {
		d := make([]float32, len(off)*nr+1)
		d[len(d)-1] = 7 // past the rows: must stay
		gatherRows(d, lo, hi, off)
		for p, o := range off {
			for j := range nr / 2 {
				if d[p*nr+j] != lo[o+j] || d[p*nr+nr/2+j] != hi[o+j] {
					t.Fatalf("off %v: row %d is %v, want %v then %v", off, p, d[p*nr:p*nr+nr], lo[o:o+4], hi[o:o+4])
				}
			}
		}
		if d[len(d)-1] != 7 {
			t.Fatalf("off %v: wrote past the last row", off)
		}
	}
	defer func() {
		if recover() == nil {
			t.Fatal("an offset whose four floats end past lo did not panic")
		}
	}()
	gatherRows(make([]float32, 2*nr), lo, hi[:200:200], []int{0, 197})
}

package tensor

import (
	"fmt"
	"math"
	"testing"
)

// withScalar runs f with the SIMD kernels switched off, so that a test can
// compare them with the scalar ones. In the scalar build both runs are scalar.
func withScalar(f func()) {
	defer func(on bool) { useSIMD = on }(useSIMD)
	useSIMD = false
	f()
}

// TestSIMDMatchesScalar checks that the SIMD kernels give the same bits as
// the scalar ones on every shape class: tiles cut by the right and bottom
// edges, k not a multiple of anything, one-element and multi-panel products,
// A·Bᵀ, convolutions through im2col (3x3, strided, 1x1) and Winograd, and the
// elementwise kernels on lengths that are not a multiple of the vector width.
func TestSIMDMatchesScalar(t *testing.T) {
	t.Logf("useSIMD = %v", useSIMD)
	sizes := append([][3]int{{4, 8, 1}, {8, 16, 13}, {3, 9, 1000}, {1, 200, 7}, {129, 17, 600}}, gemmSizes...)
	for _, sz := range sizes {
		m, n, k := sz[0], sz[1], sz[2]
		a, b := randTensor(40, m*k).Data, randTensor(41, k*n).Data
		check(t, fmt.Sprintf("gemm %dx%dx%d", m, n, k), func() []float32 {
			c := make([]float32, m*n)
			Gemm(m, n, k, a, k, b, n, c, n)
			return c
		})
		check(t, fmt.Sprintf("gemmTB %dx%dx%d", m, n, k), func() []float32 {
			c := make([]float32, m*n)
			gemmTB(m, n, k, a, k, b, k, c, n)
			return c
		})
	}
	convs := []struct {
		n, cin, cout, hw, kh, stride int
		pad                          Padding
	}{
		{2, 3, 16, 13, 3, 1, Padding{1, 1, 1, 1}},  // conv_in, im2col
		{1, 16, 16, 11, 3, 1, Padding{1, 1, 1, 1}}, // Winograd, odd size
		{3, 17, 20, 8, 3, 1, Padding{1, 1, 1, 1}},  // Winograd
		{2, 16, 18, 13, 3, 1, Padding{0, 0, 1, 1}}, // Winograd, even left padding
		{2, 16, 20, 32, 3, 1, Padding{1, 1, 1, 1}}, // Winograd, rows of whole quads over two strips
		{2, 16, 16, 4, 3, 1, Padding{1, 1, 1, 1}},  // im2col at 4x4
		{2, 12, 10, 9, 3, 2, Padding{0, 0, 1, 1}},  // Downsample2D
		{2, 24, 8, 7, 1, 1, Padding{}},             // 1x1, direct
	}
	for _, c := range convs {
		x := randTensor(42, c.n, c.cin, c.hw, c.hw)
		w := randTensor(43, c.cout, c.cin, c.kh, c.kh)
		bias := randTensor(44, c.cout).Data
		check(t, fmt.Sprintf("conv %+v", c), func() []float32 { return Conv2d(x, w, bias, c.stride, c.pad).Data })
	}
	// Exp32 across its whole range, the ends of the SIMD range and the
	// special values, in quads that mix both paths.
	xs := []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), expLow, expHigh,
		math.Nextafter32(expLow, -1), math.Nextafter32(expHigh, 100), expMax, expMin, 0, -0.0}
	for v := float32(-110); v < 100; v += 0.0173 {
		xs = append(xs, v)
	}
	check(t, "exp", func() []float32 {
		out := make([]float32, len(xs))
		expInto(out, xs)
		return out
	})
	// All inside the SIMD range: expInto's one-pass path.
	var in []float32
	for v := float32(expLow); v <= expHigh; v += 0.0173 {
		in = append(in, v)
	}
	in = append(in, expHigh, -0.0)
	check(t, "exp in range", func() []float32 {
		out := make([]float32, len(in))
		expInto(out, in)
		return out
	})
	x := randTensor(45, 3, 5, 7, 9)
	for i := range x.Data {
		x.Data[i] *= 12
	}
	check(t, "silu", func() []float32 { return SiLU(x).Data }) // the one-pass path
	far := x.Clone()
	far.Data[100], far.Data[201] = -90, float32(math.NaN()) // e^-x past the SIMD range: the three passes
	check(t, "silu far", func() []float32 { return SiLU(far).Data })
	check(t, "add", func() []float32 { return Add(x, randTensor(49, 3, 5, 7, 9)).Data })
	tok := randTensor(46, 2, 37, 24)
	check(t, "attention", func() []float32 { return Attention(tok, tok, tok, 3, 0.8).Data })
	check(t, "groupnorm", func() []float32 { return GroupNorm(x, 5, randTensor(47, 5).Data, randTensor(48, 5).Data, 1e-5).Data })
}

// check fails unless f gives the same bits with and without SIMD.
func check(t *testing.T, name string, f func() []float32) {
	t.Helper()
	got := f()
	var want []float32
	withScalar(func() { want = f() })
	if !sameBits(got, want) {
		t.Errorf("%s: SIMD and scalar kernels differ", name)
	}
}

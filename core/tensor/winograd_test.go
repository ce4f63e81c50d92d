package tensor

import (
	"fmt"
	"testing"
)

// TestWinograd checks the Winograd path of 3x3, stride-1 convolutions
// against a float64 direct convolution to 1e-5 relative, including images
// whose output is odd-sized (fringe tiles), smaller than one tile, without
// padding, with diffusers' asymmetric padding, and with Cin over two GEMM
// panels. It logs the largest error of each path.
func TestWinograd(t *testing.T) {
	cases := []struct {
		n, cin, h, w, cout int
		pad                Padding
		bias               bool
	}{
		{2, 3, 8, 8, 5, Padding{1, 1, 1, 1}, true},
		{1, 4, 7, 9, 3, Padding{1, 1, 1, 1}, false},
		{1, 17, 11, 13, 19, Padding{1, 1, 1, 1}, true},
		{3, 6, 1, 1, 4, Padding{1, 1, 1, 1}, true},
		{1, 5, 2, 3, 6, Padding{1, 1, 1, 1}, true},
		{2, 8, 6, 7, 7, Padding{}, true},
		{1, 9, 5, 6, 8, Padding{0, 0, 1, 1}, false},
		{2, 300, 4, 5, 11, Padding{1, 1, 1, 1}, true}, // K = Cin = 300: two panels
		{1, 32, 32, 32, 32, Padding{1, 1, 1, 1}, true},
	}
	for _, tc := range cases {
		x := randTensor(40, tc.n, tc.cin, tc.h, tc.w)
		w := randTensor(41, tc.cout, tc.cin, 3, 3)
		var bias []float32
		if tc.bias {
			bias = randTensor(42, tc.cout).Data
		}
		want := refConv(x, w, bias, 1, tc.pad)
		wino := checkClose(t, fmt.Sprintf("winograd %+v", tc), conv2d(x, &ConvWeights{w: w}, bias, 1, tc.pad, true).Data, want, 1e-5)
		gemm := checkClose(t, fmt.Sprintf("gemm %+v", tc), conv2d(x, &ConvWeights{w: w}, bias, 1, tc.pad, false).Data, want, 1e-5)
		t.Logf("%+v: max abs err winograd %.2e, gemm %.2e", tc, wino, gemm)
	}
}

// TestWinogradInvariant checks that the Winograd path gives an image the
// same bits alone and inside a batch, with one goroutine and with several,
// on a size with fringe tiles that the GEMMs split natively.
func TestWinogradInvariant(t *testing.T) {
	x := randTensor(43, 3, 24, 13, 11)
	w := randTensor(44, 20, 24, 3, 3)
	bias := randTensor(45, 20).Data
	conv := func(x *Tensor) *Tensor { return conv2d(x, &ConvWeights{w: w}, bias, 1, Padding{1, 1, 1, 1}, true) }
	var batch *Tensor
	withProcs(1, func() { batch = conv(x) })
	withProcs(4, func() {
		if !sameBits(conv(x).Data, batch.Data) {
			t.Fatal("GOMAXPROCS=4 changes the bits")
		}
	})
	in, out := x.Numel()/3, batch.Numel()/3
	for i := 0; i < 3; i++ {
		alone := conv(From(x.Data[i*in:(i+1)*in], 1, 24, 13, 11))
		if !sameBits(alone.Data, batch.Data[i*out:(i+1)*out]) {
			t.Fatalf("image %d alone differs from image %d of the batch", i, i)
		}
	}
}

// winogradBits is the FNV-1a hash of the Winograd path's output bits in
// TestWinogradPlatformBits; native (any GOAMD64) and wasm runs must give it.
const winogradBits = 0xbf7564fc999e58d2

// TestWinogradPlatformBits compares the hash of the Winograd path's output
// bits with winogradBits, so that a native and a wasm run must agree.
func TestWinogradPlatformBits(t *testing.T) {
	x := randTensor(46, 2, 12, 11, 9)
	w := randTensor(47, 10, 12, 3, 3)
	bias := randTensor(48, 10).Data
	if h := hashBits(conv2d(x, &ConvWeights{w: w}, bias, 1, Padding{1, 1, 1, 1}, true).Data); h != winogradBits {
		t.Errorf("output bits hash to %#x, want %#x", h, uint64(winogradBits))
	}
}

// BenchmarkConvPath times the 3x3, stride-1, padding-1 convolutions of the
// default model (block_out_channels 32,64,64,128, with the concatenated
// inputs of its up blocks, conv_in and conv_out) and of the course model
// (64,128,128,256) on one image, as a GEMM and as Winograd, and reports
// GFLOP/s-equivalent (2·Cout·Cin·9·H·W): the figures behind useWinograd.
func BenchmarkConvPath(b *testing.B) {
	shapes := []struct{ cin, cout, hw int }{
		{3, 32, 32}, {32, 32, 32}, {64, 32, 32}, {96, 32, 32}, {64, 64, 32}, {32, 3, 32},
		{32, 64, 16}, {64, 64, 16}, {96, 64, 16}, {128, 64, 16},
		{64, 64, 8}, {128, 64, 8}, {192, 64, 8}, {128, 128, 8},
		{64, 128, 4}, {128, 128, 4}, {192, 128, 4}, {256, 128, 4},
		{64, 64, 32}, {128, 128, 16}, {256, 256, 4}, {3, 64, 32}, {64, 3, 32}, // course
	}
	for _, s := range shapes {
		for _, winograd := range []bool{false, true} {
			path := map[bool]string{false: "gemm", true: "winograd"}[winograd]
			b.Run(fmt.Sprintf("%d-%d_%dx%d_%s", s.cin, s.cout, s.hw, s.hw, path), func(b *testing.B) {
				x := randTensor(1, 1, s.cin, s.hw, s.hw)
				w := randTensor(2, s.cout, s.cin, 3, 3)
				bias := randTensor(3, s.cout).Data
				for b.Loop() {
					conv2d(x, &ConvWeights{w: w}, bias, 1, Padding{1, 1, 1, 1}, winograd)
				}
				reportGFLOPs(b, 2*float64(s.cout*s.cin*9*s.hw*s.hw))
			})
		}
	}
}

package sampleview

import (
	"math"
	"testing"

	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
)

// The expected bytes are exact (tolerance 0): the rounding must be half to
// even, like numpy's round in diffusers' numpy_to_pil.
func TestPixel(t *testing.T) {
	for _, tc := range []struct {
		x    float32
		want uint8
	}{
		{-1, 0},
		{1, 255},
		{-3, 0},
		{2.5, 255},
		{float32(math.NaN()), 0},
		{float32(math.Inf(1)), 255},
		{0, 128},                                // 0.5*255 = 127.5 -> 128 (even)
		{math.Float32frombits(0xbc008080), 126}, // v*255 = 126.5 exactly -> 126 (even), half-up gives 127
		{math.Float32frombits(0x3f7cfcfc), 254}, // 253.5 -> 254
		{math.Float32frombits(0x3f7efefe), 254}, // 254.5 -> 254, half-up gives 255
		{-0.5, 64},                              // 0.25*255 = 63.75 -> 64
	} {
		if got := Pixel(tc.x); got != tc.want {
			t.Errorf("Pixel(%v) = %d, want %d", tc.x, got, tc.want)
		}
	}
}

func TestToRGBA(t *testing.T) {
	// A 1x2 RGB image: pixel 0 = (-1, 0, 1), pixel 1 = (1, -1, 0); planes are R, G, B.
	x := []float32{-1, 1, 0, -1, 1, 0}
	dst := make([]byte, 8)
	if err := ToRGBA(dst, x, 3, 1, 2); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 128, 255, 255, 255, 0, 128, 255}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("RGB: got %v, want %v", dst, want)
		}
	}
	// Grey: one channel copied to R, G and B.
	if err := ToRGBA(dst, []float32{-1, 1}, 1, 1, 2); err != nil {
		t.Fatal(err)
	}
	want = []byte{0, 0, 0, 255, 255, 255, 255, 255}
	for i := range want {
		if dst[i] != want[i] {
			t.Fatalf("grey: got %v, want %v", dst, want)
		}
	}
	for _, tc := range []struct {
		name           string
		dst            int
		x              int
		channels, h, w int
	}{
		{"two channels", 8, 4, 2, 1, 2},
		{"short image", 8, 5, 3, 1, 2},
		{"short buffer", 7, 6, 3, 1, 2},
	} {
		if err := ToRGBA(make([]byte, tc.dst), make([]float32, tc.x), tc.channels, tc.h, tc.w); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

// TestPixelMatchesPipeline: the viewer's pixels are the CLI's pixels. Every
// value of a sweep over [-1.25, 1.25] in steps of 2^-12, plus the half-even
// cases above, converts to the same byte as core/pipeline.Images (exact).
func TestPixelMatchesPipeline(t *testing.T) {
	var xs []float32
	for k := -5120; k <= 5120; k++ {
		xs = append(xs, float32(k)/4096)
	}
	xs = append(xs, math.Float32frombits(0xbc008080), math.Float32frombits(0x3f7cfcfc), math.Float32frombits(0x3f7efefe))
	imgs, err := pipeline.Images(tensor.From(xs, 1, 1, 1, len(xs)))
	if err != nil {
		t.Fatal(err)
	}
	for i, x := range xs {
		if got, want := Pixel(x), imgs[0].Pix[4*i]; got != want {
			t.Fatalf("Pixel(%v) = %d, core/pipeline gives %d", x, got, want)
		}
	}
}

package tensor

import (
	"fmt"
	"testing"
)

// convShapes are the 3x3 convolutions of the course model
// (block_out_channels 64,128,128,256) and of the shipped default model
// (32,64,64,128) on 32x32 images: C channels in and out at H×W.
var convShapes = []struct{ c, hw int }{
	{64, 32}, {128, 16}, {128, 8}, {256, 4}, // course
	{32, 32}, {64, 16}, {64, 8}, {128, 4}, // default
}

func reportGFLOPs(b *testing.B, flops float64) {
	b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

// BenchmarkGemm times C = A·B for square sizes and reports GFLOP/s (2mnk).
// Run it with GOMAXPROCS=1 for the per-core figure.
func BenchmarkGemm(b *testing.B) {
	for _, s := range []int{64, 256, 512} {
		b.Run(fmt.Sprint(s), func(b *testing.B) {
			a, bb, c := randTensor(1, s*s).Data, randTensor(2, s*s).Data, make([]float32, s*s)
			for b.Loop() {
				Gemm(s, s, s, a, s, bb, s, c, s)
			}
			reportGFLOPs(b, 2*float64(s)*float64(s)*float64(s))
		})
	}
}

// BenchmarkConv times a 3x3, stride 1, padding 1 convolution with C channels
// in and out, for one image and for a batch of 4, as sampling computes it:
// with the packed weights kept (NewConvWeights, as in a model from
// unet.Inference), and reports GFLOP/s (2·Cout·Cin·9·H·W per image).
func BenchmarkConv(b *testing.B) {
	for _, s := range convShapes {
		for _, n := range []int{1, 4} {
			b.Run(fmt.Sprintf("c%d_%dx%d_b%d", s.c, s.hw, s.hw, n), func(b *testing.B) {
				x := randTensor(1, n, s.c, s.hw, s.hw)
				w := NewConvWeights(randTensor(2, s.c, s.c, 3, 3))
				bias := randTensor(3, s.c).Data
				for b.Loop() {
					w.Conv2d(x, bias, 1, Padding{1, 1, 1, 1})
				}
				reportGFLOPs(b, float64(n)*2*float64(s.c*s.c*9*s.hw*s.hw))
			})
		}
	}
}

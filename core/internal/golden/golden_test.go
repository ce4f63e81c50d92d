package golden

import (
	"math"
	"testing"
)

func TestOpenReference(t *testing.T) {
	f := Open(t, "unet_tiny/diffusion_pytorch_model.safetensors")
	x := Tensor(t, f, "conv_in.weight")
	if got := x.Shape; len(got) != 4 || got[0] != 16 || got[1] != 3 {
		t.Errorf("conv_in.weight shape %v, want [16 3 3 3]", got)
	}
}

func TestMaxAbsDiff(t *testing.T) {
	for _, c := range []struct {
		a, b []float32
		want float64
	}{
		{[]float32{1, 2}, []float32{1, 2.5}, 0.5},
		{[]float32{}, []float32{}, 0},
		{[]float32{1}, []float32{1, 2}, math.Inf(1)},
		{[]float32{float32(math.NaN())}, []float32{0}, math.Inf(1)},
	} {
		if got := MaxAbsDiff(c.a, c.b); got != c.want {
			t.Errorf("MaxAbsDiff(%v, %v) = %v, want %v", c.a, c.b, got, c.want)
		}
	}
}

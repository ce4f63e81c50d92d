package golden

import (
	"math"
	"testing"

	"chrysalis/core/tensor"
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

// TestTinyUNet: unet_tiny has 382 parameter tensors, and edit sees the
// weights before the model is built.
func TestTinyUNet(t *testing.T) {
	if n := len(TinyUNet(t, nil).Parameters()); n != 382 {
		t.Errorf("%d parameter tensors, want 382", n)
	}
	m := TinyUNet(t, func(w map[string]*tensor.Tensor) { w["conv_out.bias"].Data[0] = 7 })
	var got float32
	for _, p := range m.Parameters() {
		if p.Name == "conv_out.bias" {
			got = p.Tensor.Data[0]
		}
	}
	if got != 7 {
		t.Errorf("conv_out.bias[0] = %v after the edit, want 7", got)
	}
}

package pytorchtest_test

import (
	"bytes"
	"math"
	"testing"

	"chrysalis/core/pytorch"
	"chrysalis/core/pytorch/pytorchtest"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// Write then pytorch.Load gives back every name, shape and bit.
func TestWriteLoad(t *testing.T) {
	state := []safetensors.Entry{
		{Name: "conv.weight", Tensor: tensor.From([]float32{1, -2, 3.5, float32(math.Inf(1)), 1e-40, 0, 7, 8}, 2, 1, 2, 2)},
		{Name: "bias", Tensor: tensor.From([]float32{0.25, -0.5, 3e9}, 3)},
		{Name: "scalar", Tensor: tensor.From([]float32{42})},
		{Name: "empty", Tensor: tensor.From([]float32{}, 0, 4)},
		{Name: "big", Tensor: tensor.From(make([]float32, 1000), 10, 100)},
	}
	var buf bytes.Buffer
	if err := pytorchtest.Write(&buf, state); err != nil {
		t.Fatal(err)
	}
	got, err := pytorch.Load(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(state) {
		t.Errorf("%d tensors, want %d", len(got), len(state))
	}
	for _, e := range state {
		g := got[e.Name]
		if g == nil || len(g.Shape) != len(e.Tensor.Shape) || len(g.Data) != len(e.Tensor.Data) {
			t.Errorf("%s: got %v", e.Name, g)
			continue
		}
		for i := range g.Shape {
			if g.Shape[i] != e.Tensor.Shape[i] {
				t.Errorf("%s: shape %v, want %v", e.Name, g.Shape, e.Tensor.Shape)
			}
		}
		for i, v := range e.Tensor.Data {
			if math.Float32bits(g.Data[i]) != math.Float32bits(v) {
				t.Errorf("%s[%d] = %v, want %v", e.Name, i, g.Data[i], v)
			}
		}
	}
}

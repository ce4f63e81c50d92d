package unet_test

import (
	"slices"
	"strings"
	"testing"

	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// TestInference checks that a model from Inference, which keeps its
// convolutions' packed weights and its linear layers' transposed ones (the
// time embedding, the resnets' projections and attention), gives Forward's
// bits on every path (Winograd at 16x16 and 8x8, the GEMM at 4x4, conv_in, the
// strided downsamplers and the 1x1 shortcuts), on its first and later passes
// and for another batch, that it refuses ForwardTrain, and that after a
// training step (an SGD update of every weight in place) a new Inference gives
// the bits of a model built afresh from the updated weights, which differ from
// the old ones.
func TestInference(t *testing.T) {
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{16, 16}
	cfg.BlockOutChannels = []int{16, 32, 32}
	cfg.DownBlockTypes = []string{"DownBlock2D", "DownBlock2D", "AttnDownBlock2D"}
	cfg.UpBlockTypes = []string{"AttnUpBlock2D", "UpBlock2D", "UpBlock2D"}
	cfg.LayersPerBlock = 1
	cfg.NormNumGroups = 8
	m, err := unet.New(cfg, randomWeights(t, cfg, 70))
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput([]int{3, 3, 16, 16}, 71)
	ts := []float32{10, 500, 990}
	forward := func(m *unet.Model, x *tensor.Tensor) []float32 {
		t.Helper()
		out, err := m.Forward(x, ts[:x.Shape[0]])
		if err != nil {
			t.Fatal(err)
		}
		return out.Data
	}
	want := forward(m, x)
	inf := m.Inference()
	for pass := range 2 {
		if !slices.Equal(forward(inf, x), want) {
			t.Fatalf("pass %d: Inference's output differs from Forward's", pass)
		}
	}
	one := tensor.From(x.Data[:3*16*16], 1, 3, 16, 16)
	if !slices.Equal(forward(inf, one), forward(m, one)) {
		t.Fatal("batch 1 after batch 3: Inference's output differs from Forward's")
	}
	if _, _, err := inf.ForwardTrain(x, ts); err == nil || !strings.Contains(err.Error(), "Inference") {
		t.Errorf("ForwardTrain on an Inference model: %v", err)
	}

	// A training step: θ ← θ - 0.1·∂L/∂θ for L = Σ out.
	_, tp, err := m.ForwardTrain(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	grads, err := unet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	dOut := tensor.New(3, 3, 16, 16)
	for i := range dOut.Data {
		dOut.Data[i] = 1
	}
	if err := m.Backward(tp, dOut, grads); err != nil {
		t.Fatal(err)
	}
	g := grads.Parameters()
	updated := map[string]*tensor.Tensor{}
	for i, p := range m.Parameters() {
		for j, d := range g[i].Tensor.Data {
			p.Tensor.Data[j] -= float32(0.1 * d)
		}
		updated[p.Name] = p.Tensor.Clone()
	}
	fresh, err := unet.New(cfg, updated)
	if err != nil {
		t.Fatal(err)
	}
	after := forward(fresh, x)
	if slices.Equal(after, want) {
		t.Fatal("the training step changed no output")
	}
	if !slices.Equal(forward(m.Inference(), x), after) {
		t.Error("after a training step, a new Inference differs from a model built from the updated weights")
	}
	if !slices.Equal(forward(m, x), after) {
		t.Error("after a training step, Forward differs from a model built from the updated weights")
	}
}

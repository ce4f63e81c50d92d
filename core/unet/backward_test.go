package unet_test

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Tolerances against diffusers' training step (train_grad/). The README
// calibrates them: PyTorch's float32 and float64 backward passes agree to a
// per-tensor relative max error of 9.1e-6, where the relative error of a
// tensor is max|g − g_ref| / max|g_ref|. Our float32 sums run in another
// order than PyTorch's, so we allow a few times that.
const (
	tolNoisy    = 1e-6 // add_noise, max abs (|noisy| ≲ 4)
	tolPred     = 1e-5 // the UNet output, max abs (as TestGoldenTiny)
	tolLoss     = 1e-6 // the MSE loss, relative
	tolGradRel  = 5e-5 // every gradient but to_k.bias, per-tensor relative max error
	tolToKBias  = 1e-8 // to_k.bias gradients, max abs (see TestGoldenTrainStep)
	numParamsUT = 382  // tensors of unet_tiny
)

// TestGoldenTrainStep reproduces diffusers' training step on unet_tiny:
// noisy = add_noise(x0, noise, t), pred = unet(noisy, t), loss = mse(pred,
// noise), and the gradient of loss for every one of the 382 parameters.
//
// The gradients of every *.attentions.*.to_k.bias are mathematically zero:
// adding to_k.bias b to every key adds q·b to every score of a query's row,
// and softmax is invariant to a shift of its row. The reference holds only
// round-off (|g| < 1e-10), and so do ours, so a relative comparison would
// compare noise with noise. They are checked against an absolute bound that
// is far below the gradients of the other biases instead.
func TestGoldenTrainStep(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	step := golden.Open(t, "train_grad/step.safetensors")
	x0, noise := golden.Tensor(t, step, "x0"), golden.Tensor(t, step, "noise")
	ts := timesteps(t, step, "timesteps")

	cfg, err := os.ReadFile(filepath.Join(golden.Dir(t), "train_grad/scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	sched, err := scheduler.FromConfig(cfg, "", scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	noisy, err := sched.AddNoise(x0, noise, ts)
	if err != nil {
		t.Fatal(err)
	}
	if d := golden.MaxAbsDiff(noisy.Data, golden.Tensor(t, step, "noisy").Data); !(d <= tolNoisy) {
		t.Fatalf("noisy: max abs error %.3g > %g", d, tolNoisy)
	} else {
		t.Logf("noisy: max abs error %.2e", d)
	}

	pred, tp, err := m.ForwardTrain(noisy, ts)
	if err != nil {
		t.Fatal(err)
	}
	if d := golden.MaxAbsDiff(pred.Data, golden.Tensor(t, step, "pred").Data); !(d <= tolPred) {
		t.Fatalf("pred: max abs error %.3g > %g", d, tolPred)
	} else {
		t.Logf("pred: max abs error %.2e", d)
	}

	// loss = mean((pred − noise)²); ∂loss/∂pred = 2(pred − noise)/N.
	n := float64(len(pred.Data))
	dOut := tensor.New(pred.Shape...)
	loss := 0.0
	for i, p := range pred.Data {
		d := float64(p) - float64(noise.Data[i])
		loss += d * d
		dOut.Data[i] = float32(2 * d / n)
	}
	loss /= n
	want := float64(golden.Tensor(t, step, "loss").Data[0])
	if e := math.Abs(loss-want) / want; !(e <= tolLoss) {
		t.Fatalf("loss %v, want %v (relative error %.3g > %g)", loss, want, e, tolLoss)
	} else {
		t.Logf("loss %.8f, want %.8f: relative error %.2e", loss, want, e)
	}

	grads, err := unet.NewZero(m.Config)
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Backward(tp, dOut, grads); err != nil {
		t.Fatal(err)
	}
	ref := golden.Open(t, "train_grad/grads.safetensors")
	got := grads.Parameters()
	if len(got) != numParamsUT || len(ref.Names()) != numParamsUT {
		t.Fatalf("%d gradients, reference has %d, want %d", len(got), len(ref.Names()), numParamsUT)
	}
	worst, worstName, worstToK := 0.0, "", 0.0
	for _, g := range got {
		r := golden.Tensor(t, ref, g.Name)
		if !slices.Equal(g.Tensor.Shape, r.Shape) {
			t.Errorf("%s: shape %v, want %v", g.Name, g.Tensor.Shape, r.Shape)
			continue
		}
		d := golden.MaxAbsDiff(g.Tensor.Data, r.Data)
		if strings.HasSuffix(g.Name, ".to_k.bias") {
			worstToK = max(worstToK, maxAbs(g.Tensor.Data))
			if !(maxAbs(g.Tensor.Data) <= tolToKBias && maxAbs(r.Data) <= tolToKBias) {
				t.Errorf("%s: max |g| %.3g (reference %.3g), want ≤ %g", g.Name, maxAbs(g.Tensor.Data), maxAbs(r.Data), tolToKBias)
			}
			continue
		}
		e := d / maxAbs(r.Data)
		if !(e <= tolGradRel) {
			t.Errorf("%s: relative max error %.3g > %g (max |g_ref| %.3g)", g.Name, e, tolGradRel, maxAbs(r.Data))
		}
		if e > worst {
			worst, worstName = e, g.Name
		}
	}
	t.Logf("382 gradients: worst relative max error %.2e (%s); to_k.bias max |g| %.2e", worst, worstName, worstToK)
}

// TestBackwardFiniteDifference checks the gradient of a few parameters of a
// small model with downsample_padding 0 (the asymmetric pad), mid-block
// scaling and a config unlike unet_tiny's, against central differences of
// the float32 forward pass (step h = 1e-2, loss Σ r·out summed in float64).
// The float32 round-off of the loss, divided by 2h, leaves noise of up to
// 5e-4 in the numeric derivatives (measured), so we allow |numeric −
// analytic| ≤ 1e-3 + 1e-2·max|g| over the tensor; a wrong term is off by
// O(max|g|) ≈ 0.1–1. The to_k.bias gradients are zero (see above) and
// their numeric values are pure noise, within the 1e-3.
func TestBackwardFiniteDifference(t *testing.T) {
	cfg := unet.DefaultConfig()
	cfg.SampleSize = [2]int{8, 8}
	cfg.BlockOutChannels = []int{4, 8}
	cfg.DownBlockTypes = []string{"AttnDownBlock2D", "DownBlock2D"}
	cfg.UpBlockTypes = []string{"UpBlock2D", "AttnUpBlock2D"}
	cfg.LayersPerBlock = 1
	cfg.NormNumGroups = 2
	cfg.AttentionHeadDim = 2
	cfg.DownsamplePadding = 0
	cfg.MidBlockScaleFactor = 2
	m, err := unet.NewZero(cfg)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range m.Parameters() {
		for i := range p.Tensor.Data {
			p.Tensor.Data[i] = float32(rng.NormFloat64() * 0.3)
			if strings.HasSuffix(p.Name, "norm1.weight") || strings.HasSuffix(p.Name, "norm2.weight") ||
				strings.HasSuffix(p.Name, "group_norm.weight") || p.Name == "conv_norm_out.weight" {
				p.Tensor.Data[i] += 1
			}
		}
	}
	x := tensor.New(2, 3, 8, 8)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	ts := []float32{3, 700}
	r := tensor.New(2, 3, 8, 8)
	for i := range r.Data {
		r.Data[i] = float32(rng.NormFloat64())
	}
	loss := func() float64 {
		out, err := m.Forward(x, ts)
		if err != nil {
			t.Fatal(err)
		}
		s := 0.0
		for i, v := range out.Data {
			s += float64(v) * float64(r.Data[i])
		}
		return s
	}
	_, tp, err := m.ForwardTrain(x, ts)
	if err != nil {
		t.Fatal(err)
	}
	grads, _ := unet.NewZero(cfg)
	if err := m.Backward(tp, r, grads); err != nil {
		t.Fatal(err)
	}
	gs := grads.Parameters()
	const h = 1e-2
	for pi, p := range m.Parameters() {
		// Two entries of every tensor: the first and one in the middle.
		num, ana := []float64{}, []float64{}
		for _, i := range []int{0, len(p.Tensor.Data) / 2} {
			v := p.Tensor.Data[i]
			p.Tensor.Data[i] = v + h
			lp := loss()
			p.Tensor.Data[i] = v - h
			lm := loss()
			p.Tensor.Data[i] = v
			num = append(num, (lp-lm)/(2*h))
			ana = append(ana, float64(gs[pi].Tensor.Data[i]))
		}
		scale := 0.0
		for _, g := range gs[pi].Tensor.Data {
			scale = max(scale, math.Abs(float64(g)))
		}
		for k := range num {
			if d := math.Abs(num[k] - ana[k]); !(d <= 1e-3+1e-2*scale) {
				t.Errorf("%s: analytic %.5g, numeric %.5g", p.Name, ana[k], num[k])
			}
		}
	}
}

// TestBackwardErrors checks the refusals of ForwardTrain and Backward.
func TestBackwardErrors(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	x := tensor.New(1, 3, 32, 32)
	out, tp, err := m.ForwardTrain(x, []float32{10})
	if err != nil {
		t.Fatal(err)
	}
	other := m.Config
	other.BlockOutChannels = []int{8, 16, 24, 32}
	wrong, err := unet.NewZero(other)
	if err != nil {
		t.Fatal(err)
	}
	grads, _ := unet.NewZero(m.Config)
	for name, f := range map[string]func() error{
		"other config": func() error { return m.Backward(tp, out, wrong) },
		"nil grads":    func() error { return m.Backward(tp, out, nil) },
		"nil tape":     func() error { return m.Backward(nil, out, grads) },
		"dOut shape":   func() error { return m.Backward(tp, tensor.New(1, 3, 16, 16), grads) },
		"dropout": func() error {
			cfg := m.Config
			cfg.Dropout = 0.1
			d, err := unet.NewZero(cfg)
			if err != nil {
				return nil
			}
			_, _, err = d.ForwardTrain(x, []float32{1})
			return err
		},
	} {
		if err := f(); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

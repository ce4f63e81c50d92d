package train

import (
	"math"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/unet"
)

// TestGoldenAdamW applies one AdamW step (lr 4e-4, weight decay 0.01, torch's
// defaults otherwise) with diffusers' stored gradients to unet_tiny and
// compares every parameter with torch's result. Update rounds the same
// float32 operations in the same order as torch's single-tensor AdamW
// (addcdiv computes θ + (value·m)/denom), so the result is bit-identical:
// the tolerance is 0. (A step changes a parameter by about lr = 4e-4.)
func TestGoldenAdamW(t *testing.T) {
	const tolAdamW = 0.0
	params := golden.TinyUNet(t, nil).Parameters()
	gf := golden.Open(t, "train_grad/grads.safetensors")
	grads := make([]unet.Named, len(params))
	for i, p := range params {
		grads[i] = unet.Named{Name: p.Name, Tensor: golden.Tensor(t, gf, p.Name)}
	}
	opt := NewAdamW(params, 0.01)
	opt.Update(params, grads, 4e-4)

	want := golden.Open(t, "train_grad/params_after_adamw.safetensors")
	if len(want.Names()) != len(params) {
		t.Fatalf("%d parameters, reference has %d", len(params), len(want.Names()))
	}
	worst, exact := 0.0, 0
	for _, p := range params {
		w := golden.Tensor(t, want, p.Name)
		d := golden.MaxAbsDiff(p.Tensor.Data, w.Data)
		if !(d <= tolAdamW) {
			t.Errorf("%s: max abs error %.3g > %g", p.Name, d, tolAdamW)
		}
		if d == 0 {
			exact++
		}
		worst = math.Max(worst, d)
	}
	t.Logf("%d tensors after one AdamW step: max abs error %.2e; %d tensors bit-identical", len(params), worst, exact)
}

package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"chrysalis/core/unet"
	"chrysalis/core/unet/unettest"
)

// With EpsilonLoss a training example's loss and gradient are the v loss's
// times ᾱ_t, and that loss is ‖ε̂ − ε‖² for the ε̂ = √ᾱ_t·v̂ + √(1−ᾱ_t)·x_t
// the prediction implies; without a gradient (evaluation) it stays the v
// loss. A model whose prediction_type is not v is refused.
func TestEpsilonLoss(t *testing.T) {
	o := trainOptions(writeImages(t, 2), t.TempDir(), 1)
	o.EpsilonLoss = true
	tr := newRun(t, o)
	obj := tr.obj
	x0 := tr.data.Images[0]
	n := x0.Numel()
	ex := obj.drawExample(x0, rand.New(rand.NewPCG(3, 4)))
	ex.t = 300
	ab := float64(obj.alphasCumprod[ex.t])

	grads := func(eps bool) (float64, []unet.Named, stageTensors) {
		obj.EpsilonLoss = eps
		g, err := unet.NewZero(tr.cfg)
		if err != nil {
			t.Fatal(err)
		}
		var k stageTensors
		sum, err := obj.loss(tr.model, ex, n, g, &k)
		if err != nil {
			t.Fatal(err)
		}
		return sum, g.Parameters(), k
	}
	vSum, vGrad, k := grads(false)
	eSum, eGrad, _ := grads(true)
	if math.Abs(eSum-ab*vSum) > 1e-12*vSum {
		t.Errorf("epsilon loss %v, want ᾱ_t·(v loss) = %v·%v", eSum, ab, vSum)
	}
	var worst float64
	for i := range vGrad {
		for j, g := range vGrad[i].Tensor.Data {
			worst = max(worst, math.Abs(float64(eGrad[i].Tensor.Data[j])-ab*float64(g)))
		}
	}
	if worst > 1e-6 {
		t.Errorf("the epsilon loss's gradient is ᾱ_t times the v loss's to within %g", worst)
	}
	// ‖ε̂ − ε‖² from the recorded x_t and prediction.
	sa, sb := math.Sqrt(ab), math.Sqrt(1-ab)
	var direct float64
	for i, v := range k.out.Data {
		d := sa*float64(v) + sb*float64(k.xt.Data[i]) - float64(ex.noise.Data[i])
		direct += d * d
	}
	if math.Abs(direct-eSum) > 1e-4*direct {
		t.Errorf("‖ε̂ − ε‖² = %v, the weighted v loss %v", direct, eSum)
	}
	if s, err := obj.loss(tr.model, ex, n, nil); err != nil || s != vSum {
		t.Errorf("evaluation under EpsilonLoss gave %v (%v), want the v loss %v", s, err, vSum)
	}

	m, err := Init(unettest.SmallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	eps := strings.Replace(schedulerConfig, `"prediction_type": "v_prediction"`, `"prediction_type": "epsilon"`, 1)
	if eps == schedulerConfig {
		t.Fatal("the test scheduler config has no v_prediction")
	}
	if _, err := New(m, []byte(eps), o); err == nil || !strings.Contains(err.Error(), "prediction_type is epsilon") {
		t.Errorf("the epsilon loss for an epsilon model: %v", err)
	}
}

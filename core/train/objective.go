package train

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"

	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Objective is the denoising loss of a diffusion model: DDPM's forward
// process from a scheduler_config.json, and what the model predicts
// (its prediction_type).
type Objective struct {
	PredictionType string // epsilon, v_prediction or sample
	Timesteps      int    // num_train_timesteps: t is drawn from [0, Timesteps)

	// EpsilonLoss trains a v_prediction model on the epsilon loss: since
	// ε = √ᾱ_t·v + √(1−ᾱ_t)·x_t, ‖ε̂ − ε‖² = ᾱ_t·‖v̂ − v‖², the v loss
	// weighted by ᾱ_t, which leaves less of the model to the noisiest
	// timesteps. It weights training steps only; evaluation stays on v.
	EpsilonLoss bool

	sched         scheduler.Scheduler
	alphasCumprod []float32
}

// Comparable says whether losses under o and p measure the same task: the
// same target, the same timesteps and the same ᾱ_t, so that the noised
// inputs of a fixed draw are identical. The error names the first difference.
func (o *Objective) Comparable(p *Objective) error {
	switch {
	case o.PredictionType != p.PredictionType:
		return fmt.Errorf("prediction_type %s against %s", o.PredictionType, p.PredictionType)
	case o.Timesteps != p.Timesteps:
		return fmt.Errorf("num_train_timesteps %d against %d", o.Timesteps, p.Timesteps)
	}
	for t, a := range o.alphasCumprod {
		if a != p.alphasCumprod[t] {
			return fmt.Errorf("noise schedule: alphas_cumprod[%d] = %g against %g", t, a, p.alphasCumprod[t])
		}
	}
	return nil
}

// NewObjective reads a scheduler_config.json of any of the scheduler classes:
// its betas give the forward process (as DDPMScheduler built from it), and
// its prediction_type (default epsilon) the target.
func NewObjective(schedulerConfig []byte) (*Objective, error) {
	var keys struct {
		PredictionType *string `json:"prediction_type"`
	}
	if err := json.Unmarshal(schedulerConfig, &keys); err != nil {
		return nil, fmt.Errorf("train: scheduler config: %v", err)
	}
	s, err := scheduler.FromConfig(schedulerConfig, scheduler.DDPM, scheduler.Options{})
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	o := &Objective{PredictionType: "epsilon", sched: s, alphasCumprod: s.AlphasCumprod()}
	if keys.PredictionType != nil {
		o.PredictionType = *keys.PredictionType
	}
	switch o.PredictionType {
	case "epsilon", "v_prediction", "sample":
	default:
		return nil, fmt.Errorf("train: scheduler config key \"prediction_type\": unsupported value %q", o.PredictionType)
	}
	o.Timesteps = len(o.alphasCumprod)
	return o, nil
}

// example is one noised training image: x0 [C,H,W], its timestep and noise.
type example struct {
	x0    *tensor.Tensor
	t     int
	noise *tensor.Tensor
}

// drawExample draws, from r, the timestep t uniform in [0, T) and then the
// standard-normal noise in CHW order (float64 draws rounded to float32).
func (o *Objective) drawExample(x0 *tensor.Tensor, r *rand.Rand) example {
	ex := example{x0: x0, t: r.IntN(o.Timesteps), noise: tensor.New(x0.Shape...)}
	for i := range ex.noise.Data {
		ex.noise.Data[i] = float32(r.NormFloat64())
	}
	return ex
}

// inputs returns the model input x_t [1,C,H,W] (the scheduler's AddNoise)
// and the model's target for ex:
//
//	x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
//	target = ε (epsilon), v = √ᾱ_t·ε − √(1−ᾱ_t)·x0 (v_prediction), or x0 (sample)
func (o *Objective) inputs(ex example) (xt, target *tensor.Tensor, err error) {
	shape := append([]int{1}, ex.x0.Shape...)
	xt, err = o.sched.AddNoise(tensor.From(ex.x0.Data, shape...), tensor.From(ex.noise.Data, shape...), []float32{float32(ex.t)})
	if err != nil {
		return nil, nil, fmt.Errorf("train: %w", err)
	}
	switch o.PredictionType {
	case "epsilon":
		return xt, tensor.From(ex.noise.Data, shape...), nil
	case "sample":
		return xt, tensor.From(ex.x0.Data, shape...), nil
	}
	ab := o.alphasCumprod[ex.t]
	sa, sb := sqrt32(ab), sqrt32(1-ab)
	target = tensor.New(shape...)
	for i, e := range ex.noise.Data {
		target.Data[i] = float32(sa*e) - float32(sb*ex.x0.Data[i])
	}
	return xt, target, nil
}

// loss runs the model on ex and returns Σ (out − target)² over the image's
// elements (in float64). With grad set it also backpropagates
// ∂L/∂out = 2(out − target)/n, the gradient of the mean over n elements,
// adding ∂L/∂θ into grad; with EpsilonLoss both are weighted by ᾱ_t there. With keep set it records x_t, the target and the
// prediction there (each [1,C,H,W]).
func (o *Objective) loss(m *unet.Model, ex example, n int, grad *unet.Model, keep ...*stageTensors) (float64, error) {
	xt, target, err := o.inputs(ex)
	if err != nil {
		return 0, err
	}
	ts := []float32{float32(ex.t)}
	var out *tensor.Tensor
	var tp *unet.Tape
	if grad == nil {
		out, err = m.Forward(xt, ts)
	} else {
		out, tp, err = m.ForwardTrain(xt, ts)
	}
	if err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	if len(keep) > 0 && keep[0] != nil {
		*keep[0] = stageTensors{xt: xt, target: target, out: out.Clone()}
	}
	var sum float64
	dOut := tensor.New(out.Shape...)
	w := 1.0
	if grad != nil && o.EpsilonLoss {
		w = float64(o.alphasCumprod[ex.t])
	}
	for i, v := range out.Data {
		d := float64(v) - float64(target.Data[i])
		sum += w * float64(d*d) // no fused multiply-add: the same bits natively and under wasm
		dOut.Data[i] = float32(2 * w * d / float64(n))
	}
	if grad == nil {
		return sum, nil
	}
	if err := m.Backward(tp, dOut, grad); err != nil {
		return 0, fmt.Errorf("train: %w", err)
	}
	return sum, nil
}

// stageTensors are the intermediate tensors of one image's loss.
type stageTensors struct{ xt, target, out *tensor.Tensor }

// predictX0 is the clean image implied by the prediction out of the model at
// x_t and timestep t:
//
//	x̂₀ = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t    epsilon
//	x̂₀ = √ᾱ_t·x_t − √(1−ᾱ_t)·v̂      v_prediction
//	x̂₀ = out                         sample
func (o *Objective) predictX0(xt, out *tensor.Tensor, t int) *tensor.Tensor {
	ab := o.alphasCumprod[t]
	sa, sb := sqrt32(ab), sqrt32(1-ab)
	x0 := tensor.New(out.Shape...)
	for i, p := range out.Data {
		switch o.PredictionType {
		case "epsilon":
			x0.Data[i] = (xt.Data[i] - float32(sb*p)) / sa
		case "v_prediction":
			x0.Data[i] = float32(sa*xt.Data[i]) - float32(sb*p)
		default:
			x0.Data[i] = p
		}
	}
	return x0
}

// DefaultSchedulerConfig is the default model's scheduler_config.json
// (butterflies-32): DDPMScheduler, 1000 steps, squaredcos_cap_v2 betas, and
// a model that predicts v. A new model trains with it unless told otherwise.
var DefaultSchedulerConfig = []byte(`{
  "_class_name": "DDPMScheduler",
  "_diffusers_version": "0.31.0",
  "beta_end": 0.02,
  "beta_schedule": "squaredcos_cap_v2",
  "beta_start": 0.0001,
  "clip_sample": true,
  "clip_sample_range": 1.0,
  "dynamic_thresholding_ratio": 0.995,
  "num_train_timesteps": 1000,
  "prediction_type": "v_prediction",
  "rescale_betas_zero_snr": false,
  "sample_max_value": 1.0,
  "steps_offset": 0,
  "thresholding": false,
  "timestep_spacing": "trailing",
  "trained_betas": null,
  "variance_type": "fixed_small"
}
`)

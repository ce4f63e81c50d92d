package scheduler

import (
	"fmt"
	"math"

	"chrysalis/core/tensor"
)

// ddpm is DDPMScheduler: ancestral sampling from the posterior
// q(x_{t'} | x_t, x̂0) of Ho et al. 2020, with t' = t − T//n.
type ddpm struct {
	common
}

func (s *ddpm) SetTimesteps(n int) error { return s.setTrainingTimesteps(n) }

// setTrainingTimesteps is DDPM's and DDIM's set_timesteps: n of the training
// timesteps, spaced by timestep_spacing, t' = t − T//n apart.
func (c *common) setTrainingTimesteps(n int) error {
	if err := c.checkSteps(n); err != nil {
		return err
	}
	ts := ddpmTimesteps(c.cfg.timestepSpacing, c.cfg.numTrainTimesteps, n, c.cfg.stepsOffset)
	if err := checkTrainingRange(ts, c.cfg, n); err != nil {
		return err
	}
	c.timesteps, c.n = ts, n
	return nil
}

// checkTrainingRange rejects a schedule with a timestep outside [0, T):
// steps_offset can push leading timesteps past T−1, and numpy's float arange
// gives some trailing schedules an extra final timestep −1. diffusers' DDPM
// and DDIM would index ᾱ with it at step time.
func checkTrainingRange(ts []float32, c *config, n int) error {
	for _, t := range ts {
		if t < 0 || int(t) >= c.numTrainTimesteps {
			return fmt.Errorf("scheduler: %d steps with %s spacing give timestep %v, outside [0, num_train_timesteps = %d)", n, c.timestepSpacing, t, c.numTrainTimesteps)
		}
	}
	return nil
}

func (s *ddpm) InitNoiseSigma() float32 { return 1 }

func (s *ddpm) ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor { return sample }

// alphaProds returns ᾱ_t and ᾱ_{t'} for step i, with t' = t − T//n and
// ᾱ_{t'} = final when t' < 0.
func (c *common) alphaProds(i int, final float32) (t int, ap, apPrev float32) {
	t = int(c.timesteps[i])
	prev := t - c.cfg.numTrainTimesteps/c.n
	apPrev = final
	if prev >= 0 {
		apPrev = c.alphasCumprod[prev]
	}
	return t, c.alphasCumprod[t], apPrev
}

// Step is DDPMScheduler.step in float32, in diffusers' order of operations:
//
//	α_t = ᾱ_t/ᾱ_{t'},  β_t = 1 − α_t
//	x̂0 from the model output (clamped to ±clip_sample_range if clip_sample)
//	μ = (√ᾱ_{t'}·β_t/(1−ᾱ_t))·x̂0 + (√α_t·(1−ᾱ_{t'})/(1−ᾱ_t))·x_t
//	x_{t'} = μ + σ_t·z for t > 0, σ_t² = (1−ᾱ_{t'})/(1−ᾱ_t)·β_t (fixed_small) or β_t (fixed_large)
func (s *ddpm) Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error) {
	if err := s.checkStep(modelOutput, i, sample); err != nil {
		return Output{}, err
	}
	t, ap, apPrev := s.alphaProds(i, 1)
	if t > 0 {
		if err := checkNoise(noise, sample, i); err != nil {
			return Output{}, err
		}
	}
	bp, bpPrev := 1-ap, 1-apPrev
	alpha := ap / apPrev
	beta := 1 - alpha

	x0 := predictX0(s.cfg.predictionType, modelOutput.Data, sample.Data, sqrt32(ap), sqrt32(bp))
	if s.cfg.clipSample {
		clamp(x0, float32(s.cfg.clipSampleRange))
	}
	cx0 := float32(sqrt32(apPrev)*beta) / bp
	cx := float32(sqrt32(alpha)*bpPrev) / bp
	prev := make([]float32, len(x0))
	for j := range prev {
		prev[j] = float32(cx0*x0[j]) + float32(cx*sample.Data[j])
	}
	if t > 0 {
		std := s.std(ap, apPrev, beta)
		for j := range prev {
			prev[j] += float32(std * noise.Data[j])
		}
	}
	return Output{
		PrevSample:   tensor.From(prev, sample.Shape...),
		PredOriginal: tensor.From(x0, sample.Shape...),
	}, nil
}

// std is σ_t for the variance_type (DDPMScheduler._get_variance):
// fixed_small √max(v, 1e-20) with v = (1−ᾱ_{t'})/(1−ᾱ_t)·β_t; fixed_small_log
// exp(½·log max(v, 1e-20)); fixed_large √β_t.
func (s *ddpm) std(ap, apPrev, beta float32) float32 {
	v := float32((1-apPrev)/(1-ap)) * beta
	v = max(v, 1e-20)
	switch s.cfg.varianceType {
	case "fixed_small_log":
		return exp32(0.5 * log32(v))
	case "fixed_large":
		return sqrt32(beta)
	}
	return sqrt32(v)
}

// AddNoise is q(x_t | x_0): x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε, one integer t per
// batch element. DDIMScheduler shares it.
func (c *common) AddNoise(x0, noise *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error) {
	if err := checkAddNoise(x0, noise, timesteps); err != nil {
		return nil, err
	}
	return perSample(x0, noise, func(x, z, out []float32, b int) error {
		t := timesteps[min(b, len(timesteps)-1)]
		if t != float32(math.Trunc(float64(t))) || t < 0 || int(t) >= len(c.alphasCumprod) {
			return fmt.Errorf("scheduler: AddNoise: timestep %v is not an integer in [0, %d)", t, len(c.alphasCumprod))
		}
		ap := c.alphasCumprod[int(t)]
		sa, sb := sqrt32(ap), sqrt32(1-ap)
		for j := range out {
			out[j] = float32(sa*x[j]) + float32(sb*z[j])
		}
		return nil
	})
}

// predictX0 is x̂0 from the model output for x_t = α·x_0 + σ·ε, where
// α = √ᾱ_t, σ = √(1−ᾱ_t) for DDPM and DDIM, and the VP α_t, σ_t of a σ
// schedule for DPM-Solver++ (its convert_model_output):
//
//	epsilon:      x̂0 = (x_t − σ·ε)/α
//	v_prediction: x̂0 = α·x_t − σ·v
//	sample:       x̂0 = model output
func predictX0(predictionType string, mo, x []float32, alpha, sigma float32) []float32 {
	x0 := make([]float32, len(x))
	switch predictionType {
	case "epsilon":
		for j := range x0 {
			x0[j] = (x[j] - float32(sigma*mo[j])) / alpha
		}
	case "v_prediction":
		for j := range x0 {
			x0[j] = float32(alpha*x[j]) - float32(sigma*mo[j])
		}
	default: // "sample"
		copy(x0, mo)
	}
	return x0
}

// clamp limits x to [-r, r] in place (torch.clamp: NaN stays NaN).
func clamp(x []float32, r float32) {
	for j, v := range x {
		if v > r {
			x[j] = r
		} else if v < -r {
			x[j] = -r
		}
	}
}

package scheduler

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"chrysalis/core/tensor"
)

// Scheduler is the sampling-side contract shared by DDPM, DDIM, DPM-Solver++ 2M
// and Euler. A Scheduler is stateful (multistep solvers remember earlier model
// outputs): use one per sampling run, and call SetTimesteps before Step.
//
// Steps are addressed by index i into Timesteps(), as a sampling loop walks
// them: step i consumes the model output at t = Timesteps()[i] and returns the
// sample for step i+1.
type Scheduler interface {
	// SetTimesteps builds the inference schedule of n steps (diffusers' set_timesteps),
	// 1 <= n <= num_train_timesteps, and resets any multistep state. A few
	// trailing-spacing schedules have n+1 steps, as numpy builds them in diffusers.
	SetTimesteps(n int) error
	// Timesteps are the model's timestep inputs, one per step (a copy). They are
	// fractional for Euler with linspace spacing.
	Timesteps() []float32
	// InitNoiseSigma scales unit Gaussian noise into the first sample x_T. It
	// depends on the schedule: call it after SetTimesteps.
	InitNoiseSigma() float32
	// ScaleModelInput returns the model input for step i: sample itself except for
	// Euler, which returns sample/sqrt(σ_i²+1) and panics if i is outside the schedule.
	ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor
	// Step computes x_{i+1} from the model output at step i. noise has the shape of
	// sample and is used only by stochastic updates (DDPM with t>0, DDIM with eta>0,
	// Euler with s_churn>0), which fail without it; elsewhere it may be nil. The
	// scheduler never draws randomness itself. DPM-Solver's steps must come in
	// order 0, 1, …; the other classes allow any order.
	Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error)
	// AddNoise is the forward process q(x_t | x_0) for each batch element's timestep
	// (one per element of x0's first dimension, or one for all). DDPM and DDIM take
	// integer timesteps in [0, num_train_timesteps); DPM-Solver and Euler look the
	// timestep up in the current schedule, so they need SetTimesteps first.
	AddNoise(x0, noise *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error)
	// AlphasCumprod is ᾱ_t for t = 0 .. num_train_timesteps-1 (a copy; for plots
	// and training).
	AlphasCumprod() []float32
}

// Output is the result of one Step.
type Output struct {
	PrevSample   *tensor.Tensor // x_{t-1} (the next sample in the loop)
	PredOriginal *tensor.Tensor // the model's estimate of x_0 at this step
}

// Options are the step() arguments that diffusers takes per call rather than
// from the config. The zero value is diffusers' default.
type Options struct {
	// Eta is DDIM's η in [0, 1]: σ_t = η·√((1−ᾱ_prev)/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_prev)).
	// 0 is deterministic DDIM; 1 draws as much noise as DDPM.
	Eta float64
	// SChurn is EulerDiscreteScheduler's s_churn >= 0 (with s_tmin = 0,
	// s_tmax = ∞, s_noise = 1): each step first raises σ to σ̂ = σ·(1+γ),
	// γ = min(s_churn/n, √2−1), by adding noise.
	SChurn float64
}

// shortNames maps the command-line scheduler names to diffusers' classes.
var shortNames = []struct{ name, class string }{
	{"ddpm", DDPM}, {"ddim", DDIM}, {"dpm++2m", DPM}, {"euler", Euler},
}

// ClassFor maps a short scheduler name (ddpm, ddim, dpm++2m, euler) to its
// diffusers class name.
func ClassFor(name string) (string, error) {
	var valid []string
	for _, s := range shortNames {
		if s.name == name {
			return s.class, nil
		}
		valid = append(valid, s.name)
	}
	return "", fmt.Errorf("scheduler: unknown scheduler %q (valid: %s)", name, strings.Join(valid, ", "))
}

// FromConfig builds a scheduler from the bytes of a diffusers
// scheduler_config.json. class is one of DDPMScheduler, DDIMScheduler,
// DPMSolverMultistepScheduler and EulerDiscreteScheduler, or "" for the
// config's own _class_name. Like diffusers' from_config, a class can be built
// from another class's config: keys it does not have are ignored and keys the
// config lacks take the class's defaults. Call SetTimesteps before stepping.
func FromConfig(data []byte, class string, opts Options) (Scheduler, error) {
	c, err := parseConfig(data, class)
	if err != nil {
		return nil, err
	}
	if opts.Eta != 0 && c.class != DDIM {
		return nil, fmt.Errorf("scheduler: eta applies only to %s, not %s", DDIM, c.class)
	}
	if !(opts.Eta >= 0 && opts.Eta <= 1) {
		return nil, fmt.Errorf("scheduler: eta %v outside [0, 1]", opts.Eta)
	}
	if opts.SChurn != 0 && c.class != Euler {
		return nil, fmt.Errorf("scheduler: s_churn applies only to %s, not %s", Euler, c.class)
	}
	if !(opts.SChurn >= 0 && !math.IsInf(opts.SChurn, 1)) {
		return nil, fmt.Errorf("scheduler: s_churn %v must be finite and non-negative", opts.SChurn)
	}
	b, err := betas(c)
	if err != nil {
		return nil, err
	}
	base := common{cfg: c, betas: b, alphasCumprod: alphasCumprod(b)}
	if c.rescaleBetasZeroSNR && (c.class == DPM || c.class == Euler) {
		// ᾱ_{T-1} = 0 would make σ infinite; diffusers uses 2^-24 instead.
		base.alphasCumprod[len(b)-1] = 0x1p-24
	}
	switch c.class {
	case DDPM:
		return &ddpm{common: base}, nil
	case DDIM:
		return &ddim{common: base, eta: float32(opts.Eta)}, nil
	case DPM:
		return newDPMSolver(base)
	default:
		return &euler{common: base, sChurn: opts.SChurn}, nil
	}
}

// common is what every class builds in __init__ and set_timesteps.
type common struct {
	cfg           *config
	betas         []float32 // β_t, t = 0..T-1
	alphasCumprod []float32 // ᾱ_t = Π_{s<=t}(1−β_s)
	timesteps     []float32 // set by SetTimesteps
	n             int       // num_inference_steps, 0 before SetTimesteps
}

func (c *common) Timesteps() []float32     { return slices.Clone(c.timesteps) }
func (c *common) AlphasCumprod() []float32 { return slices.Clone(c.alphasCumprod) }

// checkSteps validates n for SetTimesteps.
func (c *common) checkSteps(n int) error {
	if n < 1 || n > c.cfg.numTrainTimesteps {
		return fmt.Errorf("scheduler: %d inference steps outside [1, num_train_timesteps = %d]", n, c.cfg.numTrainTimesteps)
	}
	return nil
}

// checkStep validates the arguments of Step(modelOutput, i, sample, …).
func (c *common) checkStep(modelOutput *tensor.Tensor, i int, sample *tensor.Tensor) error {
	switch {
	case c.n == 0:
		return fmt.Errorf("scheduler: Step before SetTimesteps")
	case i < 0 || i >= len(c.timesteps):
		return fmt.Errorf("scheduler: step %d outside the %d-step schedule", i, len(c.timesteps))
	case modelOutput == nil || sample == nil:
		return fmt.Errorf("scheduler: step %d: nil model output or sample", i)
	case !slices.Equal(modelOutput.Shape, sample.Shape) || len(modelOutput.Data) != len(sample.Data):
		return fmt.Errorf("scheduler: step %d: model output shape %v differs from sample shape %v", i, modelOutput.Shape, sample.Shape)
	}
	return nil
}

// checkNoise validates the noise of a stochastic step.
func checkNoise(noise, sample *tensor.Tensor, i int) error {
	if noise == nil {
		return fmt.Errorf("scheduler: step %d needs noise", i)
	}
	if !slices.Equal(noise.Shape, sample.Shape) || len(noise.Data) != len(sample.Data) {
		return fmt.Errorf("scheduler: step %d: noise shape %v differs from sample shape %v", i, noise.Shape, sample.Shape)
	}
	return nil
}

// checkAddNoise validates AddNoise's arguments: x0 and noise of one shape
// [B, …], and one timestep per batch element (or one for all).
func checkAddNoise(x0, noise *tensor.Tensor, timesteps []float32) error {
	switch {
	case x0 == nil || noise == nil:
		return fmt.Errorf("scheduler: AddNoise: nil sample or noise")
	case !slices.Equal(x0.Shape, noise.Shape) || len(x0.Data) != len(noise.Data):
		return fmt.Errorf("scheduler: AddNoise: noise shape %v differs from sample shape %v", noise.Shape, x0.Shape)
	case len(x0.Shape) == 0 || x0.Shape[0] == 0:
		return fmt.Errorf("scheduler: AddNoise: sample shape %v has no batch dimension", x0.Shape)
	case len(timesteps) != x0.Shape[0] && len(timesteps) != 1:
		return fmt.Errorf("scheduler: AddNoise: %d timesteps for a batch of %d", len(timesteps), x0.Shape[0])
	}
	return nil
}

// perSample applies f(x0, noise, out, b) to each batch element b's slice.
func perSample(x0, noise *tensor.Tensor, f func(x, n, out []float32, b int) error) (*tensor.Tensor, error) {
	out := tensor.New(x0.Shape...)
	per := len(x0.Data) / x0.Shape[0]
	for b := range x0.Shape[0] {
		lo, hi := b*per, (b+1)*per
		if err := f(x0.Data[lo:hi], noise.Data[lo:hi], out.Data[lo:hi], b); err != nil {
			return nil, err
		}
	}
	return out, nil
}

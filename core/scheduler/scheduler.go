package scheduler

import "chrysalis/core/tensor"

// Scheduler is the sampling-side contract shared by DDPM, DDIM, DPM-Solver++ 2M
// and Euler. A Scheduler is stateful (multistep solvers remember earlier model
// outputs): use one per sampling run, and call SetTimesteps before Step.
//
// Steps are addressed by index i into Timesteps(), as a sampling loop walks
// them: step i consumes the model output at t = Timesteps()[i] and returns the
// sample for step i+1.
type Scheduler interface {
	// SetTimesteps builds the inference schedule of n steps (diffusers' set_timesteps)
	// and resets any multistep state.
	SetTimesteps(n int) error
	// Timesteps are the model's timestep inputs, one per step. They are fractional
	// for Euler with linspace spacing.
	Timesteps() []float32
	// InitNoiseSigma scales unit Gaussian noise into the first sample x_T.
	InitNoiseSigma() float32
	// ScaleModelInput returns the model input for step i (identity except for Euler,
	// which divides by sqrt(σ²+1)).
	ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor
	// Step computes x_{i+1} from the model output at step i. noise has the shape of
	// sample and is used only by stochastic updates (DDPM with t>0, DDIM with eta>0);
	// the scheduler never draws randomness itself.
	Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error)
	// AddNoise is the forward process q(x_t | x_0) for each batch element's timestep.
	AddNoise(x0, noise *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error)
	// AlphasCumprod is ᾱ_t for t = 0 .. num_train_timesteps-1 (for plots and training).
	AlphasCumprod() []float32
}

// Output is the result of one Step.
type Output struct {
	PrevSample   *tensor.Tensor // x_{t-1} (the next sample in the loop)
	PredOriginal *tensor.Tensor // the model's estimate of x_0 at this step
}

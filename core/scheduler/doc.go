// Package scheduler implements diffusers' noise schedulers for sampling and
// training: DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler
// (DPM-Solver++ 2M) and EulerDiscreteScheduler, built from a
// scheduler_config.json exactly as diffusers builds them.
//
// The forward process is x_t = √ᾱ_t·x_0 + √(1−ᾱ_t)·ε with ᾱ_t = Π(1−β_s)
// (AddNoise). Sampling walks Timesteps() from noisy to clean: for step i the
// model sees ScaleModelInput(x, i) at t = Timesteps()[i], and Step turns its
// output into the next sample and the predicted x0. Noise is always passed in;
// a scheduler never draws randomness.
//
// Every number follows diffusers v0.31 (PyTorch on x86-64, float32) bit for
// bit: the betas (including torch.linspace's AVX2 blocking), ᾱ (torch.cumprod
// accumulates in float64), numpy's timestep spacing, and each step's float32
// operations in diffusers' order, with torch's log/exp reproduced exactly.
// The schedulers' golden tests compare all 218 reference traces with zero
// error, natively and under WebAssembly.
package scheduler

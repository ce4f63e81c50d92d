// Package train trains a diffusers UNet2DModel with the same code that
// samples from it: the seed's five steps, in Go.
//
//	load images         Dataset: an image folder, resized, in [-1, 1], random flips
//	add noise           x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε at a random t (the scheduler's AddNoise)
//	predict             out = UNet(x_t, t)
//	measure             L = mean (out − target)², target ε, v or x0 (prediction_type)
//	update the weights  ∂L/∂θ by unet.Backward, clipped, then AdamW, with an EMA copy
//
// One optimizer step (stepper.step, shared by Trainer and FineTune), for
// each image of a batch of B:
//
//	t ~ U{0, …, T−1}, ε ~ N(0, I)                  from PCG(seed, stream | step<<20 | image)
//	x_t    = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
//	target = ε | √ᾱ_t·ε − √(1−ᾱ_t)·x0 (v) | x0
//	x̂₀     = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t | √ᾱ_t·x_t − √(1−ᾱ_t)·v̂ | out
//	L      = 1/(B·C·H·W) · Σ (out − target)²
//	g      = ∂L/∂θ;  g ← g·min(1, c/(‖g‖ + 1e-6))
//	θ      ← AdamW(θ, g, lr)
//
// Trainer.trainStep is that loop body over a dataset's epochs, with an EMA
// copy; FineTune takes the same step on batches it is given (the page's
// in-browser fine-tuning) and returns every stage for drawing. A run (New or Resume, then Run)
// checkpoints the whole state every few minutes and resumes bit for bit,
// because its random draws depend only on the seed and the step. It writes a
// diffusers model folder (the EMA weights), a loss report and sample grids.
// Evaluate measures any model's denoising loss on fixed images, timesteps and
// noise, with a confidence interval. Natively the images of a batch run in
// parallel; their gradients are summed in a fixed order, so the result does
// not depend on the number of cores.
package train

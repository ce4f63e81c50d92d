// Package pipeline is diffusers' unconditional image pipeline (DDPMPipeline,
// DDIMPipeline) in Go: the sampling loop that alternates a UNet2DModel and a
// scheduler, seeded noise that is the same however a batch is split, and the
// conversion of the final sample to 8-bit images.
//
// The loop, for n inference steps with timesteps t_0 > t_1 > ... > t_{n-1}:
//
//	x = z_T · init_noise_sigma                      z_T ~ N(0, I), [B,C,H,W]
//	for i = 0 .. n-1:
//	    ε   = unet(scale_model_input(x, i), t_i)     the model output (ε, v or x0)
//	    x, x̂0 = step(ε, i, x, z_i)                   z_i ~ N(0, I), used by DDPM and DDIM with eta > 0
//	return x                                        the final sample, nominally in [-1, 1]
//
// Noise: image j of a run with seed s draws from its own stream
// rand.New(rand.NewPCG(s, j)) (math/rand/v2), NormFloat64 rounded to
// float32, in NCHW order: first z_T, then one z_i per step, drawn on every
// step whether or not the scheduler uses it. An image's pixels therefore
// depend only on (seed, its index j, model, scheduler, steps), so images
// [first, first+count) sampled on their own are bit-identical to the same
// images of a full batch: the browser splits a batch across Web Workers this
// way.
//
// Images: like diffusers' output_type "np"/"pil", a sample x becomes
// (x/2 + 0.5) clamped to [0, 1], times 255, rounded half to even.
package pipeline

// Package engine is the sampling engine that each Web Worker runs: it builds
// a model from the files the page sends, samples its share of a batch, and
// posts a frame (x_t and the predicted x0) for every image at every step.
//
// Protocol (plain JavaScript objects through postMessage):
//
//	page → worker  {kind:"load", model, files: {"config.json": Uint8Array, ...}}
//	               {kind:"run", runId, scheduler, steps, seed (decimal string), eta, first, count}
//	               {kind:"cancel", runId}
//	worker → page  {kind:"loaded", model, error?}
//	               {kind:"frame", runId, step, steps, t, image, xt: Float32Array, x0: Float32Array}
//	               {kind:"done", runId, memory (bytes of wasm memory)}
//	               {kind:"error", runId, error}
//
// Fine-tuning (train.go, train_js.go; the core is core/train's FineTune):
//
//	page → worker  {kind:"train-start", lr?, weightDecay?, clipNorm?, seed? (decimal string), flip?}
//	               {kind:"train-step", images: Float32Array [B,C,H,W] | [Float32Array [C,H,W], ...]}
//	               {kind:"train-export"}
//	               {kind:"train-reset"}
//	worker → page  {kind:"train-ready", training, shape: [C,H,W]}            (after start and reset)
//	               {kind:"train-step", step, loss, losses: [B], t: [B], shape: [B,C,H,W], memory,
//	                x0, noise, xt, prediction, target, x0hat: Float32Array [B,C,H,W]}
//	               {kind:"train-files", files: {"config.json": Uint8Array, "scheduler_config.json": …,
//	                "diffusion_pytorch_model.safetensors": …}}
//	               {kind:"error", request: "train-…", error}
//
// A step, per image (x0 in [-1, 1], the model's sample size):
//
//	t ~ U{0, …, T−1}, ε ~ N(0, I)
//	x_t    = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
//	target = ε (epsilon) | √ᾱ_t·ε − √(1−ᾱ_t)·x0 (v_prediction) | x0 (sample)
//	x̂₀     = (x_t − √(1−ᾱ_t)·ε̂)/√ᾱ_t | √ᾱ_t·x_t − √(1−ᾱ_t)·v̂ | prediction
//	losses = mean over C·H·W of (prediction − target)²;  loss = mean over the batch
//	θ      ← AdamW(θ, clip(∂loss/∂θ), lr)
//
// train-start fine-tunes a copy of the loaded weights (missing options keep
// train.DefaultFineTuneOptions: lr 1e-4, weight decay 0.01, clip norm 1,
// flips on); until train-reset, a run samples from the fine-tuned weights.
// A step's prediction is the model's before that step's update; x0 is the
// image as trained (flipped or not). train-files is a diffusers folder (F32
// weights) that `chrysalis sample -model DIR` and diffusers load. Step s of
// seed s0 gives the same bits natively, in wasm and for any split of
// goroutines.
//
// A worker answers "loaded" after a throw-away one-step run (Warm), so that
// the browser has optimised the kernels before the first real run.
//
// A run samples images [first, first+count) of its seed; image i draws from
// PCG(seed, i), so any split of a batch over workers gives the pixels of one
// full run (and of `chrysalis sample`). A frame's xt is the sample after the
// step; the last frame's xt is the final sample. Frames are NCHW for one
// image, in model space (about [-1, 1]), and their buffers are transferred,
// not copied. The frame object is also what the viewer iframe takes.
//
// The engine itself (engine.go) is plain Go; worker_js.go binds it to the
// worker's message port.
package engine

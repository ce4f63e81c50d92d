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

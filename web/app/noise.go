package app

import (
	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
)

// startingNoise is the first sample x_T of a run of batch images of
// channels x height x width with this seed: image i is z_T drawn from its own
// stream PCG(seed, i), times the scheduler's init_noise_sigma, as
// pipeline.Sample starts in the worker that samples image i (a worker draws
// images First..First+Count-1 of the seed, so the split does not matter).
// The viewer shows it before the first run.
func startingNoise(seed uint64, batch, channels, height, width int, sigma float32) [][]float32 {
	x := tensor.New(batch, channels, height, width)
	pipeline.NewSeeded(seed, 0, batch).Fill(x)
	per := channels * height * width
	out := make([][]float32, batch)
	for i := range out {
		out[i] = x.Data[i*per : (i+1)*per : (i+1)*per]
		for k, v := range out[i] {
			out[i][k] = v * sigma
		}
	}
	return out
}

package app

import (
	"slices"
	"testing"

	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
)

// The preview's x_T of image i is the z_T that a worker sampling image i
// alone draws (pipeline.Options{Seed, First: i, Batch: 1}), times sigma:
// exact, whatever the batch.
func TestStartingNoise(t *testing.T) {
	const seed, c, h, w = 42, 3, 4, 5
	for _, batch := range []int{1, 3} {
		for _, sigma := range []float32{1, 14.6} {
			got := startingNoise(seed, batch, c, h, w, sigma)
			for i := range batch {
				z := tensor.New(1, c, h, w)
				pipeline.NewSeeded(seed, i, 1).Fill(z)
				for k := range z.Data {
					z.Data[k] *= sigma
				}
				if !slices.Equal(got[i], z.Data) {
					t.Errorf("batch %d, sigma %v: image %d differs from PCG(%d, %d)", batch, sigma, i, seed, i)
				}
			}
		}
	}
}

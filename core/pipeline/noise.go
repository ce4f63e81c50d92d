package pipeline

import (
	"math/rand/v2"

	"chrysalis/core/tensor"
)

// Noise supplies a run's standard-normal draws in the order the loop uses
// them: the initial noise z_T first, then one tensor of the sample's shape per
// step.
type Noise interface {
	// Fill overwrites x, a [B,C,H,W] batch, with the next draw.
	Fill(x *tensor.Tensor)
}

// Seeded is the pipeline's noise: image j of a run with seed s draws from its
// own stream PCG(s, j).
type Seeded struct {
	streams []*rand.Rand
}

// NewSeeded returns the noise of images first .. first+count-1 of seed s.
func NewSeeded(seed uint64, first, count int) *Seeded {
	n := &Seeded{streams: make([]*rand.Rand, count)}
	for j := range n.streams {
		n.streams[j] = rand.New(rand.NewPCG(seed, uint64(first+j)))
	}
	return n
}

// Fill draws image j's slice of x, x.Data[j·CHW : (j+1)·CHW], from stream j,
// in NCHW order. x must hold count images.
func (n *Seeded) Fill(x *tensor.Tensor) {
	if len(n.streams) == 0 {
		return
	}
	per := len(x.Data) / len(n.streams)
	for j, r := range n.streams {
		img := x.Data[j*per : (j+1)*per]
		for k := range img {
			img[k] = float32(r.NormFloat64())
		}
	}
}

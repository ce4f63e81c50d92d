package pipeline

import (
	"context"
	"fmt"
	"math"

	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// MaxBatch bounds the images of one run: it keeps a mistyped batch from
// asking for gigabytes.
const MaxBatch = 64

// Pipeline is diffusers' DDPMPipeline / DDIMPipeline: a UNet2DModel and the
// scheduler that turns its outputs into samples. A scheduler keeps state
// during a run, so a Pipeline runs one Sample at a time.
type Pipeline struct {
	UNet      *unet.Model
	Scheduler scheduler.Scheduler
}

// Options describe one sampling run.
type Options struct {
	Steps int    // inference steps (the scheduler's set_timesteps)
	Seed  uint64 // the run's seed s
	// First and Batch select images First .. First+Batch-1 of seed s: a run
	// of images [0, 4) equals runs of [0, 2) and [2, 4), bit for bit.
	First, Batch int
	// InitNoise, if set, replaces the seeded initial noise z_T (diffusers'
	// latents): a [Batch,C,H,W] unit-variance tensor that the loop scales by
	// init_noise_sigma. The seeded streams still draw (and drop) their z_T,
	// so the step noise is the same with or without InitNoise.
	InitNoise *tensor.Tensor
	// Noise, if set, replaces the seeded noise NewSeeded(Seed, First, Batch).
	Noise Noise
	// OnStep, if set, is called after every step.
	OnStep func(Frame)
}

// Frame reports step Index of Steps. Sample is the new sample x after the
// step (x_{t_{Index+1}}, the final sample on the last step) and PredOriginal
// the model's estimate of x_0 at t = Timestep; both are [B,C,H,W]. The loop
// does not modify them afterwards, but the scheduler may reuse their memory
// in later steps: clone what you keep.
type Frame struct {
	Index, Steps int
	Timestep     float32
	Sample       *tensor.Tensor
	PredOriginal *tensor.Tensor
}

// Sample runs the sampling loop and returns the final sample [B,C,H,W]. It
// checks ctx before every step and returns ctx.Err() when it is done. A model
// output or a sample that holds NaN or ±Inf stops the run with an error that
// names the step and timestep.
func (p *Pipeline) Sample(ctx context.Context, o Options) (*tensor.Tensor, error) {
	shape, err := p.shape(o)
	if err != nil {
		return nil, err
	}
	if err := p.Scheduler.SetTimesteps(o.Steps); err != nil {
		return nil, fmt.Errorf("pipeline: %w", err)
	}
	noise := o.Noise
	if noise == nil {
		noise = NewSeeded(o.Seed, o.First, o.Batch)
	}

	// x = z_T · init_noise_sigma
	x := tensor.New(shape...)
	noise.Fill(x)
	if o.InitNoise != nil {
		copy(x.Data, o.InitNoise.Data)
	}
	if err := finite(x); err != nil {
		return nil, fmt.Errorf("pipeline: initial noise has %w", err)
	}
	sigma := p.Scheduler.InitNoiseSigma()
	for k, v := range x.Data {
		x.Data[k] = v * sigma
	}

	ts := p.Scheduler.Timesteps()
	tb := make([]float32, shape[0])
	z := tensor.New(shape...)
	for i, t := range ts {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		for k := range tb {
			tb[k] = t
		}
		out, err := p.UNet.Forward(p.Scheduler.ScaleModelInput(x, i), tb)
		if err != nil {
			return nil, fmt.Errorf("pipeline: step %d of %d (t=%v): %w", i, len(ts), t, err)
		}
		if err := finite(out); err != nil {
			return nil, fmt.Errorf("pipeline: step %d of %d (t=%v): model output has %w", i, len(ts), t, err)
		}
		noise.Fill(z)
		st, err := p.Scheduler.Step(out, i, x, z)
		if err != nil {
			return nil, fmt.Errorf("pipeline: step %d of %d (t=%v): %w", i, len(ts), t, err)
		}
		if err := finite(st.PrevSample); err != nil {
			return nil, fmt.Errorf("pipeline: step %d of %d (t=%v): sample has %w", i, len(ts), t, err)
		}
		x = st.PrevSample
		if o.OnStep != nil {
			o.OnStep(Frame{Index: i, Steps: len(ts), Timestep: t, Sample: x, PredOriginal: st.PredOriginal})
		}
	}
	return x, nil
}

// shape checks the options against the model and returns the sample shape
// [B,C,H,W]: H and W from the config's sample_size, or from InitNoise.
func (p *Pipeline) shape(o Options) ([]int, error) {
	cfg := p.UNet.Config
	switch {
	case o.Batch < 1 || o.Batch > MaxBatch:
		return nil, fmt.Errorf("pipeline: batch %d is outside [1, %d]", o.Batch, MaxBatch)
	case o.First < 0:
		return nil, fmt.Errorf("pipeline: first image index %d is negative", o.First)
	case o.Steps < 1:
		return nil, fmt.Errorf("pipeline: %d inference steps: want at least 1", o.Steps)
	}
	if n := o.InitNoise; n != nil {
		if len(n.Shape) != 4 || n.Shape[0] != o.Batch || n.Shape[1] != cfg.InChannels {
			return nil, fmt.Errorf("pipeline: initial noise has shape %v, want [%d %d H W]", n.Shape, o.Batch, cfg.InChannels)
		}
		return append([]int(nil), n.Shape...), nil
	}
	h, w := cfg.SampleSize[0], cfg.SampleSize[1]
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("pipeline: the UNet config gives no sample_size (got %dx%d)", h, w)
	}
	return []int{o.Batch, cfg.InChannels, h, w}, nil
}

// finite reports the first NaN or ±Inf in x, naming its image.
func finite(x *tensor.Tensor) error {
	per := 1
	if len(x.Shape) > 0 && x.Shape[0] > 0 {
		per = len(x.Data) / x.Shape[0]
	}
	for k, v := range x.Data {
		if f := float64(v); math.IsNaN(f) || math.IsInf(f, 0) {
			return fmt.Errorf("%v at image %d (element %d)", v, k/per, k%per)
		}
	}
	return nil
}

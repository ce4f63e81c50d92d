package train

import (
	"bytes"
	"fmt"
	"math"
	"runtime"

	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// FineTuneOptions describe a fine-tuning session: a constant learning rate
// and torch's AdamW (betas 0.9, 0.999, eps 1e-8) with WeightDecay.
type FineTuneOptions struct {
	LR          float64 // learning rate (constant)
	WeightDecay float64 // AdamW's decoupled weight decay
	ClipNorm    float64 // maximum gradient norm; 0 turns clipping off
	Seed        uint64
	Flip        bool // flip an image left-right when its draw says so, as the Trainer does
	Workers     int  // goroutines over the batch; 0: GOMAXPROCS
}

// DefaultFineTuneOptions is the course's recipe at a fine-tuning learning
// rate: AdamW at 1e-4 with weight decay 0.01, gradient norm clipped at 1,
// random flips.
func DefaultFineTuneOptions() FineTuneOptions {
	return FineTuneOptions{LR: 1e-4, WeightDecay: 0.01, ClipNorm: 1, Flip: true}
}

func (o FineTuneOptions) validate() error {
	switch {
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("train: learning rate %v: want a positive number", o.LR)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("train: weight decay %v: want 0 or more", o.WeightDecay)
	case !(o.ClipNorm >= 0) || math.IsInf(o.ClipNorm, 0):
		return fmt.Errorf("train: gradient clipping norm %v: want 0 (off) or more", o.ClipNorm)
	}
	return nil
}

// FineTune trains a model step by step on batches it is given, and shows
// each step's stages. Its step is the Trainer's (the same code): step s
// draws image i's flip, timestep and noise from PCG(seed, streamExample |
// s<<20 | i), so a FineTune and a Trainer given the same images in the same
// order at the same learning rate produce the same bits.
//
// A FineTune trains its model's weights in place: the model it was made
// from is the fine-tuned one.
type FineTune struct {
	o           FineTuneOptions
	model       *unet.Model
	schedConfig []byte
	obj         *Objective
	s           stepper
	step        int
}

// NewFineTune starts fine-tuning model (in place), with the noise schedule
// and prediction type of schedulerConfig.
func NewFineTune(model *unet.Model, schedulerConfig []byte, o FineTuneOptions) (*FineTune, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	obj, err := NewObjective(schedulerConfig)
	if err != nil {
		return nil, err
	}
	params := model.Parameters()
	workers := o.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	f := &FineTune{o: o, model: model, schedConfig: schedulerConfig, obj: obj}
	f.s = stepper{obj: obj, model: model, params: params, grads: zerosLike(params),
		opt: NewAdamW(params, o.WeightDecay), clipNorm: o.ClipNorm, twins: make([]*unet.Model, workers)}
	for i := range f.s.twins {
		if f.s.twins[i], err = unet.NewZero(model.Config); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Model is the model being fine-tuned (its weights are the current ones).
func (f *FineTune) Model() *unet.Model { return f.model }

// Steps is the number of steps taken.
func (f *FineTune) Steps() int { return f.step }

// Stage is one image of a step, every tensor [C,H,W] in model space:
//
//	x_t    = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
//	target = ε (epsilon), √ᾱ_t·ε − √(1−ᾱ_t)·x0 (v_prediction), or x0 (sample)
//	x̂₀     = the clean image the prediction implies (see Objective.predictX0)
//	loss   = mean over the image's elements of (prediction − target)²
type Stage struct {
	T          int            // the timestep, in [0, num_train_timesteps)
	X0         *tensor.Tensor // the image as trained (flipped or not)
	Noise      *tensor.Tensor // ε
	XT         *tensor.Tensor // the model's input
	Prediction *tensor.Tensor // the model's output (before the update)
	Target     *tensor.Tensor
	X0Hat      *tensor.Tensor
	Loss       float64
}

// StepResult is one step: its stages and the batch's loss
// L = mean over the batch of (prediction − target)², the one backpropagated.
type StepResult struct {
	Step   int // 1 for the first step
	Loss   float64
	Images []Stage
}

// Step takes one optimizer step on images (x0 in [-1, 1], each [C,H,W] with
// the model's channels and sample size):
//
//	for each image: t ~ U[0,T), ε ~ N(0,I)
//	x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε
//	out = UNet(x_t, t)
//	L   = mean over the batch of (out − target)²
//	g   = ∂L/∂θ, clipped to norm ClipNorm
//	θ   ← AdamW(θ, g, LR)
//
// On an error the weights are unchanged.
func (f *FineTune) Step(images []*tensor.Tensor) (*StepResult, error) {
	if err := f.check(images); err != nil {
		return nil, err
	}
	examples := drawExamples(f.obj, images, f.o.Seed, f.step, f.o.Flip)
	keep := make([]stageTensors, len(examples))
	loss, sums, err := f.s.step(examples, f.o.LR, keep)
	if err != nil {
		return nil, err
	}
	f.step++
	r := &StepResult{Step: f.step, Loss: loss, Images: make([]Stage, len(examples))}
	for i, ex := range examples {
		k := keep[i]
		shape := ex.x0.Shape
		r.Images[i] = Stage{
			T: ex.t, X0: ex.x0, Noise: ex.noise,
			XT:         tensor.From(k.xt.Data, shape...),
			Prediction: tensor.From(k.out.Data, shape...),
			Target:     tensor.From(k.target.Data, shape...),
			X0Hat:      tensor.From(f.obj.predictX0(k.xt, k.out, ex.t).Data, shape...),
			Loss:       sums[i] / float64(ex.x0.Numel()),
		}
	}
	return r, nil
}

// maxFineTuneBatch bounds a step's batch (a browser's memory, and the
// streams of a step's images).
const maxFineTuneBatch = 64

// check refuses a batch the model cannot train on.
func (f *FineTune) check(images []*tensor.Tensor) error {
	c := f.model.Config
	want := []int{c.InChannels, c.SampleSize[0], c.SampleSize[1]}
	switch {
	case len(images) == 0:
		return fmt.Errorf("train: empty batch: want 1 to %d images", maxFineTuneBatch)
	case len(images) > maxFineTuneBatch:
		return fmt.Errorf("train: %d images in a batch: want 1 to %d", len(images), maxFineTuneBatch)
	}
	for i, x := range images {
		if x == nil || len(x.Shape) != 3 || x.Shape[0] != want[0] || x.Shape[1] != want[1] || x.Shape[2] != want[2] {
			var got []int
			if x != nil {
				got = x.Shape
			}
			return fmt.Errorf("train: image %d has shape %v: the model takes %v", i, got, want)
		}
		if len(x.Data) != x.Numel() {
			return fmt.Errorf("train: image %d has %d values for shape %v", i, len(x.Data), x.Shape)
		}
		for j, v := range x.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("train: image %d: value %d is %v: want finite values in [-1, 1]", i, j, v)
			}
		}
	}
	return nil
}

// Files returns the current weights as a diffusers single-model folder:
// config.json, scheduler_config.json and diffusion_pytorch_model.safetensors
// (F32), what `chrysalis sample -model DIR` and diffusers' from_pretrained
// load.
func (f *FineTune) Files() (map[string][]byte, error) {
	var entries []safetensors.Entry
	for _, p := range f.s.params {
		entries = append(entries, safetensors.Entry{Name: p.Name, Tensor: p.Tensor})
	}
	var w bytes.Buffer
	if err := safetensors.Write(&w, entries, safetensors.F32, map[string]string{"format": "pt"}); err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	return map[string][]byte{
		"config.json":                         f.model.Config.JSON(),
		"scheduler_config.json":               append([]byte(nil), f.schedConfig...),
		"diffusion_pytorch_model.safetensors": w.Bytes(),
	}, nil
}

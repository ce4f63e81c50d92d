package engine

import (
	"errors"
	"fmt"

	"chrysalis/core/tensor"
	"chrysalis/core/train"
	"chrysalis/core/unet"
)

// Message kinds of fine-tuning (see the package doc).
const (
	KindTrainStart  = "train-start"  // page → worker: start a session
	KindTrainReset  = "train-reset"  // page → worker: back to the loaded weights
	KindTrainReady  = "train-ready"  // worker → page: the answer to both
	KindTrainStep   = "train-step"   // page → worker: a batch; worker → page: its stages
	KindTrainExport = "train-export" // page → worker: ask for the files
	KindTrainFiles  = "train-files"  // worker → page: the fine-tuned model's folder
)

// TrainOptions are a fine-tuning session's options (train.FineTuneOptions;
// train.DefaultFineTuneOptions is the course's recipe).
type TrainOptions = train.FineTuneOptions

// TrainStart starts fine-tuning a copy of the loaded weights, ending any
// session before (its weights are dropped). From now on Run samples from the
// fine-tuned weights.
func (e *Engine) TrainStart(o TrainOptions) error {
	m, err := copyModel(e.ckpt.UNet)
	if err != nil {
		return err
	}
	ft, err := train.NewFineTune(m, e.ckpt.SchedulerConfig, o)
	if err != nil {
		return err
	}
	e.ft, e.inf = ft, nil
	return nil
}

// TrainReset ends the session: Run samples from the loaded weights again.
func (e *Engine) TrainReset() { e.ft, e.inf = nil, nil }

// Training says whether a fine-tuning session is on.
func (e *Engine) Training() bool { return e.ft != nil }

// ImageShape is [C, H, W] of the images the model takes.
func (e *Engine) ImageShape() []int {
	c := e.ckpt.UNet.Config
	return []int{c.InChannels, c.SampleSize[0], c.SampleSize[1]}
}

var errNoSession = errors.New("no fine-tuning session: send train-start first")

// TrainStep takes one step on a batch of images given as one NCHW array
// (x0 in [-1, 1], ImageShape each, images one after the other).
func (e *Engine) TrainStep(batch []float32) (*train.StepResult, error) {
	if e.ft == nil {
		return nil, errNoSession
	}
	s := e.ImageShape()
	per := s[0] * s[1] * s[2]
	if len(batch) == 0 || len(batch)%per != 0 {
		return nil, fmt.Errorf("engine: a batch of %d values is not a whole number of %d×%d×%d images", len(batch), s[0], s[1], s[2])
	}
	images := make([]*tensor.Tensor, len(batch)/per)
	for i := range images {
		images[i] = tensor.From(batch[i*per:(i+1)*per], s...)
	}
	e.inf = nil // the step changes the weights in place
	return e.ft.Step(images)
}

// TrainFiles is the fine-tuned model as a diffusers folder (config.json,
// scheduler_config.json, diffusion_pytorch_model.safetensors in F32).
func (e *Engine) TrainFiles() (map[string][]byte, error) {
	if e.ft == nil {
		return nil, errNoSession
	}
	return e.ft.Files()
}

// StepArrays are a step's stages as NCHW arrays over the batch, the arrays of
// the worker's train-step message: x0 (as trained, flipped or not), noise,
// xt, prediction, target and x0hat.
func StepArrays(r *train.StepResult) map[string][]float32 {
	out := map[string][]float32{}
	for _, s := range r.Images {
		for name, x := range map[string]*tensor.Tensor{
			"x0": s.X0, "noise": s.Noise, "xt": s.XT, "prediction": s.Prediction, "target": s.Target, "x0hat": s.X0Hat,
		} {
			out[name] = append(out[name], x.Data...)
		}
	}
	return out
}

// unetModel is the model Run samples from: the fine-tuned one during a
// session.
func (e *Engine) unetModel() *unet.Model {
	if e.ft != nil {
		return e.ft.Model()
	}
	return e.ckpt.UNet
}

// copyModel builds a model from a copy of m's weights.
func copyModel(m *unet.Model) (*unet.Model, error) {
	w := map[string]*tensor.Tensor{}
	for _, p := range m.Parameters() {
		w[p.Name] = p.Tensor.Clone()
	}
	return unet.New(m.Config, w)
}

package engine

import (
	"context"
	"fmt"
	"testing/fstest"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
)

// Message kinds of the page ↔ worker protocol (see the package doc).
const (
	KindLoad   = "load"
	KindRun    = "run"
	KindCancel = "cancel"
	KindLoaded = "loaded"
	KindFrame  = "frame"
	KindDone   = "done"
	KindError  = "error"
)

// Engine is one loaded model.
type Engine struct {
	ckpt *checkpoint.Checkpoint
}

// weightsName is where the checkpoint loader looks for the weights. The
// browser's copy is the F16 file (diffusers' "fp16" variant); the loader
// reads F16 under any name and upcasts it to float32.
const weightsName = "diffusion_pytorch_model.safetensors"

// Load builds the model from the files of a single-model folder: config.json,
// scheduler_config.json and the weights, given under the name they have on
// the server (the F16 variant is renamed for the loader).
func Load(files map[string][]byte) (*Engine, error) {
	fsys := fstest.MapFS{}
	for name, data := range files {
		if name == "diffusion_pytorch_model.fp16.safetensors" {
			name = weightsName
		}
		fsys[name] = &fstest.MapFile{Data: data}
	}
	ck, err := checkpoint.Load(fsys)
	if err != nil {
		return nil, err
	}
	return &Engine{ckpt: ck}, nil
}

// Job is one worker's share of a run: images [First, First+Count) of Seed.
type Job struct {
	RunID     int
	Scheduler string // ddpm, ddim, dpm++2m or euler
	Steps     int
	Seed      uint64
	Eta       float64
	First     int
	Count     int
}

// Run samples the job's images, calling onStep after every step, and stops
// with ctx.Err() when ctx is cancelled.
func (e *Engine) Run(ctx context.Context, j Job, onStep func(pipeline.Frame)) error {
	class, err := scheduler.ClassFor(j.Scheduler)
	if err != nil {
		return err
	}
	sched, err := scheduler.FromConfig(e.ckpt.SchedulerConfig, class, scheduler.Options{Eta: j.Eta})
	if err != nil {
		return fmt.Errorf("scheduler_config.json: %w", err)
	}
	p := &pipeline.Pipeline{UNet: e.ckpt.UNet, Scheduler: sched}
	_, err = p.Sample(ctx, pipeline.Options{Steps: j.Steps, Seed: j.Seed, First: j.First, Batch: j.Count, OnStep: onStep})
	return err
}

// Split divides a batch over n workers in contiguous shares, the first ones
// one image larger when batch is not a multiple of n: Split(5, 2) is
// [[0,3), [3,5)]. Each share is (first, count).
func Split(batch, n int) [][2]int {
	n = min(max(n, 1), batch)
	shares := make([][2]int, n)
	first := 0
	for w := range shares {
		count := batch / n
		if w < batch%n {
			count++
		}
		shares[w] = [2]int{first, count}
		first += count
	}
	return shares
}

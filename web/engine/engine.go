package engine

import (
	"context"
	"fmt"
	"testing/fstest"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
	"chrysalis/core/train"
	"chrysalis/core/unet"
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
	ft   *train.FineTune // the fine-tuning session, nil when none
	// inf is the model runs sample from, prepared once (unet's Inference:
	// packed weights kept) and dropped whenever the weights change, so a
	// worker's runs reuse one set of packed weights and its memory stays flat.
	inf *unet.Model
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

// Warm samples one image with one DDIM step and throws it away. Browsers
// compile WebAssembly with a fast baseline compiler first and optimise a
// function only once it has run hot, so without this the first run after a
// load is the slow one (about 1.5× in Chromium). An error is left for the
// real run to report.
func (e *Engine) Warm() {
	e.Run(context.Background(), Job{Scheduler: "ddim", Steps: 1, Count: 1}, nil)
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

// Run samples the job's images, calling onStep with the absolute image index
// after every step of every image, and stops with ctx.Err() when ctx is
// cancelled.
//
// Each image runs its own batch-1 pipeline (its own scheduler state and its
// own PCG(seed, i) stream), and the images take turns: step i of every image,
// in order, before step i+1 of any. A batch-1 UNet forward keeps its
// activations in cache and is about 25% faster per image in wasm than a
// batched one, and the UNet is batch-invariant, so the pixels are those of
// one batched run.
func (e *Engine) Run(ctx context.Context, j Job, onStep func(image int, f pipeline.Frame)) error {
	class, err := scheduler.ClassFor(j.Scheduler)
	if err != nil {
		return err
	}
	if j.Count < 1 || j.Count > pipeline.MaxBatch {
		return fmt.Errorf("engine: %d images in a run: want 1 to %d", j.Count, pipeline.MaxBatch)
	}
	// The lanes share one Inference: the weights stay put during a run.
	if e.inf == nil {
		e.inf = e.unetModel().Inference()
	}
	m := e.inf
	lanes := make([]*lane, j.Count)
	for k := range lanes {
		sched, err := scheduler.FromConfig(e.ckpt.SchedulerConfig, class, scheduler.Options{Eta: j.Eta})
		if err != nil {
			return fmt.Errorf("scheduler_config.json: %w", err)
		}
		lanes[k] = &lane{
			p:    &pipeline.Pipeline{UNet: m, Scheduler: sched},
			turn: make(chan struct{}),
			out:  make(chan laneEvent),
		}
	}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	for k, l := range lanes {
		go l.sample(ctx, pipeline.Options{Steps: j.Steps, Seed: j.Seed, First: j.First + k, Batch: 1})
	}
	// Give each running lane its turn until all have ended; the first error
	// stops the others (they end with ctx.Err() at their next step).
	var first error
	for running := len(lanes); running > 0; {
		for k, l := range lanes {
			if l.ended {
				continue
			}
			l.turn <- struct{}{}
			ev := <-l.out
			switch {
			case !ev.ended:
				if onStep != nil {
					onStep(j.First+k, ev.frame)
				}
				continue
			case ev.err != nil && first == nil:
				first = ev.err
				stop()
			}
			l.ended = true
			running--
		}
	}
	return first
}

// lane is one image of a Run: a goroutine that samples it and steps only
// when given its turn.
type lane struct {
	p     *pipeline.Pipeline
	turn  chan struct{} // one step (or the end) may go
	out   chan laneEvent
	ended bool // seen by Run only
}

// laneEvent is a lane's step (frame) or its end (err, nil when it finished).
type laneEvent struct {
	frame pipeline.Frame
	ended bool
	err   error
}

func (l *lane) sample(ctx context.Context, o pipeline.Options) {
	<-l.turn
	o.OnStep = func(f pipeline.Frame) {
		l.out <- laneEvent{frame: f}
		<-l.turn
	}
	_, err := l.p.Sample(ctx, o)
	l.out <- laneEvent{ended: true, err: err}
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

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
)

// samplers are the -scheduler names and their default step counts, the same
// as the demo page's (web/settings.Schedulers), so that the CLI and the page
// agree on what "default" means.
var samplers = []struct {
	name  string
	steps int
}{{"ddpm", 200}, {"ddim", 25}, {"dpm++2m", 20}, {"euler", 30}}

const sampleHelp = `usage: chrysalis sample -model PATH [flags]

Samples images from a diffusers UNet2DModel checkpoint: a single-model folder
(config.json, scheduler_config.json, diffusion_pytorch_model.safetensors or
.bin) or a pipeline folder (model_index.json, unet/, scheduler/).

Without -scheduler the checkpoint's own scheduler runs; with it, that class is
built from the checkpoint's scheduler config (like diffusers' from_config).
Default steps: ddpm 200, ddim 25, dpm++2m 20, euler 30 (as on the demo page).
Image i of seed S draws its noise from its own stream PCG(S, i), so image i is
the same whatever the batch size.

-out writes one PNG: the image, or a near-square grid (2x2 for the default 4,
4x4 for 16) for a batch, each pixel shown as a -scale x -scale block (-scale 1
keeps the model's resolution). It prints what it wrote and with which settings.
A folder that holds only a weight variant (diffusion_pytorch_model.fp16.*)
needs -variant. -gif writes the run as an animated GIF, each step's x_t
beside its predicted x̂₀ (every k-th step past 100); with -scale 2 it is the
page's "Download GIF", byte for byte.
-save-raw writes the final samples as safetensors,
tensor "sample" [B,C,H,W] F32 (before the conversion to 8 bits).
-init-noise reads safetensors with tensor "noise" [B,C,H,W] F32 that replaces
the seeded initial noise (diffusers' latents); its B is the batch.

flags:
`

// sampleArgs are the parsed flags of "chrysalis sample".
type sampleArgs struct {
	model, variant, scheduler string
	steps, batch, scale       int
	eta                       float64
	seed                      uint64
	initNoise, out, saveRaw   string
	gif                       string
	set                       map[string]bool // flags given on the command line
}

func runSample(ctx context.Context, args []string, e env) error {
	var a sampleArgs
	fs := flag.NewFlagSet("sample", flag.ContinueOnError)
	fs.StringVar(&a.model, "model", "", "checkpoint folder (required)")
	fs.StringVar(&a.variant, "variant", "", `weights variant: "fp16" loads diffusion_pytorch_model.fp16.safetensors`)
	fs.StringVar(&a.scheduler, "scheduler", "", "ddpm, ddim, dpm++2m or euler (default: the checkpoint's own)")
	fs.IntVar(&a.steps, "steps", 0, "inference steps, 1 .. num_train_timesteps (default: per scheduler)")
	fs.Float64Var(&a.eta, "eta", 0, "DDIM eta in [0, 1] (ddim only)")
	fs.Uint64Var(&a.seed, "seed", 42, "seed")
	fs.IntVar(&a.batch, "batch", 4, fmt.Sprintf("images, 1 .. %d", pipeline.MaxBatch))
	fs.StringVar(&a.initNoise, "init-noise", "", "safetensors file with the initial noise (tensor \"noise\")")
	fs.StringVar(&a.out, "out", "sample.png", "PNG to write")
	fs.IntVar(&a.scale, "scale", 4, fmt.Sprintf("PNG pixels per model pixel, 1 .. %d", maxScale))
	fs.StringVar(&a.saveRaw, "save-raw", "", "safetensors file to write the final float samples to")
	fs.StringVar(&a.gif, "gif", "", "animated GIF of the steps to write")
	if err := parseFlags(fs, args, sampleHelp, e); err != nil {
		return err
	}
	a.set = setFlags(fs)
	return sample(ctx, a, e)
}

// sample validates the flags, loads the checkpoint, runs the pipeline and
// writes the outputs.
func sample(ctx context.Context, a sampleArgs, e env) error {
	if err := a.check(); err != nil {
		return err
	}
	ck, err := checkpoint.LoadDir(a.model, checkpoint.Variant(a.variant))
	if missing := (*checkpoint.MissingWeightsError)(nil); errors.As(err, &missing) && len(missing.Variants) > 0 {
		return fmt.Errorf("sample: -model %q: %w: add -variant %s", a.model, err, missing.Variants[0])
	}
	if err != nil {
		return fmt.Errorf("sample: -model %q: %w", a.model, err)
	}
	sched, name, err := a.newScheduler(ck.SchedulerConfig)
	if err != nil {
		return err
	}
	steps := a.steps
	if !a.set["steps"] {
		for _, s := range samplers {
			if s.name == name {
				steps = s.steps
			}
		}
	}
	if n := len(sched.AlphasCumprod()); steps > n {
		return fmt.Errorf("sample: -steps %d: the scheduler has %d training timesteps, so at most %d steps", steps, n, n)
	}

	o := pipeline.Options{Steps: steps, Seed: a.seed, Batch: a.batch}
	if a.initNoise != "" {
		if o.InitNoise, err = readNoise(a.initNoise); err != nil {
			return err
		}
		if b := o.InitNoise.Shape[0]; a.set["batch"] && b != a.batch {
			return fmt.Errorf("sample: -batch %d conflicts with -init-noise %q, which holds %d images", a.batch, a.initNoise, b)
		}
		o.Batch = o.InitNoise.Shape[0]
	}
	var bar *progress
	if e.tty {
		bar = newProgress(e.stderr)
	}
	var frames []pipeline.Frame
	keep := pipeline.GIFSteps(steps)
	o.OnStep = func(f pipeline.Frame) {
		if a.gif != "" && slices.Contains(keep, f.Index) {
			f.Sample, f.PredOriginal = f.Sample.Clone(), f.PredOriginal.Clone()
			frames = append(frames, f)
		}
		bar.step(f)
	}
	p := &pipeline.Pipeline{UNet: ck.UNet.Inference(), Scheduler: sched}
	start := time.Now()
	x, err := p.Sample(ctx, o)
	if err != nil {
		bar.abandon()
		return fmt.Errorf("sample: %w", err)
	}
	settings := fmt.Sprintf("%s, %d step%s", name, steps, plural(steps))
	if name == "ddim" {
		settings += fmt.Sprintf(", eta %g", a.eta)
	}
	if a.initNoise != "" {
		settings += ", initial noise from " + a.initNoise
	} else {
		settings += fmt.Sprintf(", seed %d", a.seed)
	}
	took := time.Since(start).Round(10 * time.Millisecond)
	if a.saveRaw != "" {
		size, err := writeRaw(a.saveRaw, x)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s (%s): samples %v F32; %s; %v\n", a.saveRaw, kiB(size), x.Shape, settings, took)
	}
	if a.gif != "" {
		size, err := writeGIF(a.gif, frames, a.scale)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s (%s): %d frames of x_t beside x̂₀ at %d×; %s; %v\n", a.gif, kiB(size), len(frames), a.scale, settings, took)
	}
	if a.out != "" {
		size, grid, err := writePNG(a.out, x, a.scale)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "wrote %s (%s): %s of %d×%d at %d×, %d×%d px; %s; %v\n",
			a.out, kiB(size), gridName(o.Batch), x.Shape[3], x.Shape[2], a.scale, grid.Dx(), grid.Dy(), settings, took)
	}
	return nil
}

// gridName says how n images are laid out: "1 image" or "a 3x2 grid of 6 images".
func gridName(n int) string {
	if n == 1 {
		return "1 image"
	}
	cols, rows := pipeline.GridSize(n)
	return fmt.Sprintf("a %dx%d grid of %d images", cols, rows, n)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// kiB formats a file size.
func kiB(n int) string { return fmt.Sprintf("%.1f KiB", float64(n)/1024) }

// check validates the flags that do not need the checkpoint.
func (a *sampleArgs) check() error {
	switch {
	case a.model == "":
		return fmt.Errorf("sample: -model is required")
	case a.set["steps"] && a.steps < 1:
		return fmt.Errorf("sample: -steps %d: want at least 1", a.steps)
	case a.batch < 1 || a.batch > pipeline.MaxBatch:
		return fmt.Errorf("sample: -batch %d: want 1 .. %d", a.batch, pipeline.MaxBatch)
	case a.scale < 1 || a.scale > maxScale:
		return fmt.Errorf("sample: -scale %d: want 1 .. %d", a.scale, maxScale)
	case !(a.eta >= 0 && a.eta <= 1):
		return fmt.Errorf("sample: -eta %v: want 0 .. 1", a.eta)
	case a.set["eta"] && a.scheduler != "" && a.scheduler != "ddim":
		return fmt.Errorf("sample: -eta applies to the ddim scheduler only, not %q", a.scheduler)
	case a.out == "" && a.saveRaw == "" && a.gif == "":
		return fmt.Errorf("sample: -out, -save-raw and -gif are all empty: nothing to write")
	case a.gif != "" && !strings.EqualFold(filepath.Ext(a.gif), ".gif"):
		return fmt.Errorf("sample: -gif %q: want a .gif file", a.gif)
	case a.out != "" && !strings.EqualFold(filepath.Ext(a.out), ".png"):
		return fmt.Errorf("sample: -out %q: want a .png file", a.out)
	}
	if a.scheduler != "" {
		if _, err := scheduler.ClassFor(a.scheduler); err != nil {
			return fmt.Errorf("sample: -scheduler %q: want ddpm, ddim, dpm++2m or euler", a.scheduler)
		}
	}
	return nil
}

// newScheduler builds the scheduler: -scheduler's class from the
// checkpoint's scheduler config, or the config's own class. It returns the
// scheduler's -scheduler name, which picks the default step count.
func (a *sampleArgs) newScheduler(config []byte) (scheduler.Scheduler, string, error) {
	class, name := "", a.scheduler
	if name != "" {
		class, _ = scheduler.ClassFor(name) // checked by check
	} else {
		own, err := scheduler.ConfigClass(config)
		if err != nil {
			return nil, "", fmt.Errorf("sample: the checkpoint's scheduler config: %w", err)
		}
		for _, s := range samplers {
			if c, _ := scheduler.ClassFor(s.name); c == own {
				name = s.name
			}
		}
		if name == "" {
			return nil, "", fmt.Errorf("sample: the checkpoint's scheduler %q is not supported: pick one with -scheduler (ddpm, ddim, dpm++2m or euler)", own)
		}
		if a.set["eta"] && name != "ddim" {
			return nil, "", fmt.Errorf("sample: -eta applies to the ddim scheduler only, and the checkpoint's scheduler is %s: add -scheduler ddim", own)
		}
	}
	s, err := scheduler.FromConfig(config, class, scheduler.Options{Eta: a.eta})
	if err != nil {
		return nil, "", fmt.Errorf("sample: -scheduler %s: %w", name, err)
	}
	return s, name, nil
}

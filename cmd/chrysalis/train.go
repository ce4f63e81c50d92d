package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"chrysalis/core/checkpoint"
	"chrysalis/core/train"
	"chrysalis/core/unet"
)

const trainHelp = `usage: chrysalis train -data DIR (-config unet_config.json | -init MODEL) -out DIR [flags]

Trains a diffusers UNet2DModel on a folder of PNG/JPEG images (resized to the
model's sample_size, random horizontal flips): noise at a random timestep,
predict, mean squared error on the model's target, backpropagate, AdamW with
an EMA copy. The defaults are the shipped default model's recipe.

-config starts a new model from a UNet2DModel config.json (PyTorch's default
initialisation from -seed); -init fine-tunes a checkpoint folder. The noise
schedule and prediction type come from -scheduler-config, else from the
-init model's scheduler_config.json, else the default model's (DDPM,
squaredcos_cap_v2, v_prediction).

-out receives a diffusers model folder (config.json, scheduler_config.json and
diffusion_pytorch_model.safetensors with the EMA weights), loss.tsv,
report.png (loss curves), samples/epoch_NNNN.png (DDIM 25-step sample grids)
and checkpoint/ (the training state, saved every -save-every and on Ctrl-C).
With -resume, a run continues from -out's checkpoint exactly as if it had
not stopped (the same flags and data are required; -epochs may grow), or
starts when there is none.

-epsilon-loss trains a v_prediction model on the epsilon loss, ‖ε̂ − ε‖² =
ᾱ_t·‖v̂ − v‖², which gives the noisiest timesteps less weight than the v loss
does (the default model's first phase had it). The training loss printed is
then the epsilon loss; the evaluation stays on v, comparable with any run.

flags:
`

// trainArgs are the parsed flags of "chrysalis train".
type trainArgs struct {
	data, config, init, schedConfig, out string
	resume                               bool
	o                                    train.Options
}

func runTrain(ctx context.Context, args []string, e env) error {
	a := trainArgs{o: train.DefaultOptions()}
	fs := flag.NewFlagSet("train", flag.ContinueOnError)
	fs.StringVar(&a.data, "data", "", "image folder (required)")
	fs.StringVar(&a.config, "config", "", "UNet2DModel config.json of a new model")
	fs.StringVar(&a.init, "init", "", "checkpoint folder to fine-tune")
	fs.StringVar(&a.schedConfig, "scheduler-config", "", "scheduler_config.json: noise schedule and prediction_type")
	fs.StringVar(&a.out, "out", "", "output folder (required)")
	fs.BoolVar(&a.resume, "resume", false, "continue the run checkpointed in -out")
	fs.IntVar(&a.o.Epochs, "epochs", a.o.Epochs, "epochs")
	fs.IntVar(&a.o.Batch, "batch", a.o.Batch, "images per step")
	fs.Float64Var(&a.o.LR, "lr", a.o.LR, "peak learning rate")
	fs.IntVar(&a.o.Warmup, "warmup", a.o.Warmup, "learning-rate warm-up steps (then cosine decay to 10%)")
	fs.Float64Var(&a.o.EMADecay, "ema-decay", a.o.EMADecay, "maximum EMA decay")
	fs.Uint64Var(&a.o.Seed, "seed", a.o.Seed, "seed of the initialisation, the data order, flips, timesteps and noise")
	fs.Float64Var(&a.o.Holdout, "holdout", a.o.Holdout, "fraction of the images kept out of training and evaluated")
	fs.BoolVar(&a.o.EpsilonLoss, "epsilon-loss", false, "train a v_prediction model on the epsilon loss, ᾱ_t·‖v̂ − v‖² (evaluation stays on v)")
	fs.DurationVar(&a.o.SaveEvery, "save-every", a.o.SaveEvery, "time between checkpoints")
	fs.IntVar(&a.o.SampleEvery, "sample-every", a.o.SampleEvery, "epochs between sample grids (0: none)")
	if err := parseFlags(fs, args, trainHelp, e); err != nil {
		return err
	}
	a.o.Data, a.o.Out = a.data, a.out
	return runTraining(ctx, a, e)
}

// runTraining sets the run up (resumed, new or fine-tuned) and runs it with
// a progress bar on a terminal.
func runTraining(ctx context.Context, a trainArgs, e env) error {
	switch {
	case a.data == "":
		return errors.New("train: -data is required")
	case a.out == "":
		return errors.New("train: -out is required")
	case a.config != "" && a.init != "":
		return errors.New("train: give -config (a new model) or -init (a checkpoint), not both")
	}
	log := e.stdout
	var bar *trainProgress
	if e.tty {
		bar = &trainProgress{w: e.stderr}
		a.o.Progress = bar.step
		log = bar.lines(e.stdout)
	}
	a.o.Log = log
	a.o.Plot = plotReport

	var (
		t   *train.Trainer
		err error
	)
	if a.resume && train.HasCheckpoint(a.out) {
		fmt.Fprintf(log, "resuming the run in %s\n", a.out)
		t, err = train.Resume(a.o)
	} else {
		t, err = newTrainer(a)
	}
	if err != nil {
		return err
	}
	err = t.Run(ctx)
	bar.abandon()
	if errors.Is(err, context.Canceled) {
		return fmt.Errorf("train: interrupted; the checkpoint in %s is saved: add -resume to continue", a.out)
	}
	return err
}

// newTrainer starts a run from -config or -init.
func newTrainer(a trainArgs) (*train.Trainer, error) {
	var (
		model *unet.Model
		sched []byte
	)
	switch {
	case a.config != "":
		data, err := os.ReadFile(a.config)
		if err != nil {
			return nil, fmt.Errorf("train: -config: %w", err)
		}
		cfg, err := unet.ParseConfig(data)
		if err != nil {
			return nil, fmt.Errorf("train: -config %s: %w", a.config, err)
		}
		if model, err = train.Init(cfg, a.o.Seed); err != nil {
			return nil, fmt.Errorf("train: -config %s: %w", a.config, err)
		}
		sched = train.DefaultSchedulerConfig
	case a.init != "":
		ck, err := checkpoint.LoadDir(a.init)
		if err != nil {
			return nil, fmt.Errorf("train: -init: %w", err)
		}
		model, sched = ck.UNet, ck.SchedulerConfig
		if sched == nil {
			sched = train.DefaultSchedulerConfig
		}
	default:
		return nil, errors.New("train: give -config (a new model) or -init (a checkpoint to fine-tune)")
	}
	if a.schedConfig != "" {
		var err error
		if sched, err = os.ReadFile(a.schedConfig); err != nil {
			return nil, fmt.Errorf("train: -scheduler-config: %w", err)
		}
	}
	return train.New(model, sched, a.o)
}

// trainProgress draws a one-line progress bar, redrawn in place:
//
//	[######........................] epoch 3/180  step 30/2340  loss 0.1234  12.3 img/s  ETA 1h2m0s
type trainProgress struct {
	w    io.Writer
	open bool // a bar is drawn without its final newline
}

func (p *trainProgress) step(s train.Progress) {
	fill := barWidth * s.Step / s.Steps
	fmt.Fprintf(p.w, "\r[%s%s] epoch %d/%d  step %d/%d  loss %.4f  %.1f img/s  ETA %v \x1b[K",
		strings.Repeat("#", fill), strings.Repeat(".", barWidth-fill), s.Epoch, s.Epochs, s.Step, s.Steps,
		s.Loss, s.ImagesPerSec, s.ETA.Round(time.Second))
	p.open = true
}

// lines returns a writer for log lines that first clears the bar's line;
// the next step redraws the bar.
func (p *trainProgress) lines(w io.Writer) io.Writer {
	return writerFunc(func(b []byte) (int, error) {
		if p.open {
			fmt.Fprint(p.w, "\r\x1b[K")
			p.open = false
		}
		return w.Write(b)
	})
}

// abandon ends a drawn bar's line. p may be nil (no bar).
func (p *trainProgress) abandon() {
	if p != nil && p.open {
		fmt.Fprintln(p.w)
		p.open = false
	}
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }

const evalHelp = `usage: chrysalis eval -model DIR -data DIR [-vs DIR] [-samples N | -images DIR]

Prints the mean denoising loss of a checkpoint (any diffusers UNet2DModel
folder, with its scheduler_config.json) over every image of a folder, with a
95% confidence interval: each image (resized to the model's sample_size, not
flipped) is noised at a fixed timestep with fixed noise, drawn for image i
(in file-name order) from a fixed seed, and the loss is the mean squared
error on the model's target (epsilon, v or x0, as its prediction_type says).
Two checkpoints are therefore compared on the same numbers. With -vs, the
second checkpoint is evaluated too, and the per-image differences give a
paired interval for the difference of the two means, much narrower than the
two intervals side by side, and the same difference within bands of the
timestep, t < 10%, 10-30%, 30-60% and 60-100% of the schedule: small t is
the fine detail a sample ends with, large t its layout and colours.
`

func runEval(ctx context.Context, args []string, e env) error {
	fs := flag.NewFlagSet("eval", flag.ContinueOnError)
	model := fs.String("model", "", "checkpoint folder (required)")
	data := fs.String("data", "", "image folder (required)")
	vs := fs.String("vs", "", "a second checkpoint folder to compare with, image by image")
	var q qualityArgs
	q.register(fs)
	if err := parseFlags(fs, args, evalHelp+qualityHelp+"\nflags:\n", e); err != nil {
		return err
	}
	if err := q.check(setFlags(fs)); err != nil {
		return err
	}
	switch {
	case *model == "":
		return errors.New("eval: -model is required")
	case *data == "":
		return errors.New("eval: -data is required")
	}
	a, err := loadEvalModel(*model)
	if err != nil {
		return err
	}
	cfg := a.model.Config
	var b evalModel
	if *vs != "" {
		if b, err = loadEvalModel(*vs); err != nil {
			return err
		}
		if err := a.obj.Comparable(b.obj); err != nil {
			return fmt.Errorf("eval: -model %s and -vs %s are not comparable: %w", *model, *vs, err)
		}
		if bc := b.model.Config; bc.InChannels != cfg.InChannels || bc.SampleSize != cfg.SampleSize {
			return fmt.Errorf("eval: -vs %s takes %d×%v images, -model %d×%v", *vs, bc.InChannels, bc.SampleSize, cfg.InChannels, cfg.SampleSize)
		}
	}
	ds, err := train.LoadDataset(*data, cfg.InChannels, cfg.SampleSize[0], cfg.SampleSize[1])
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	idx := make([]int, len(ds.Images))
	for i := range idx {
		idx[i] = i
	}
	ev, err := train.Evaluate(ctx, a.model, a.obj, ds, idx, 0)
	if err != nil {
		return fmt.Errorf("eval: %w", err)
	}
	fmt.Fprintf(e.stdout, "eval loss (%s): %s\n", a.obj.PredictionType, ev)
	models := []namedModel{{*model, a}}
	if *vs != "" {
		evb, err := train.Evaluate(ctx, b.model, b.obj, ds, idx, 0)
		if err != nil {
			return fmt.Errorf("eval: -vs: %w", err)
		}
		d, err := train.Paired(ev, evb)
		if err != nil {
			return fmt.Errorf("eval: %w", err)
		}
		fmt.Fprintf(e.stdout, "vs %s: %s\n", *vs, evb)
		fmt.Fprintf(e.stdout, "difference (model − vs), paired: %+.5f (95%% CI %+.5f to %+.5f)\n", d.Mean, d.Low, d.High)
		printBands(e.stdout, d, a.obj.Timesteps)
		models = append(models, namedModel{*vs, b})
	}
	if !q.wanted() {
		return nil
	}
	return evalQuality(ctx, q, ds, models, e)
}

// evalModel is a checkpoint, its scheduler config and the objective that
// config gives.
type evalModel struct {
	model *unet.Model
	sched []byte
	obj   *train.Objective
}

func loadEvalModel(dir string) (evalModel, error) {
	ck, err := checkpoint.LoadDir(dir)
	if err != nil {
		return evalModel{}, fmt.Errorf("eval: %w", err)
	}
	if ck.SchedulerConfig == nil {
		return evalModel{}, fmt.Errorf("eval: %s has no scheduler_config.json: its noise schedule and prediction type are unknown", dir)
	}
	obj, err := train.NewObjective(ck.SchedulerConfig)
	if err != nil {
		return evalModel{}, fmt.Errorf("eval: %w", err)
	}
	return evalModel{ck.UNet, ck.SchedulerConfig, obj}, nil
}

// printBands prints the paired difference d within bands of timesteps: small
// t is the fine detail a sample ends with, large t its layout and colours.
func printBands(w io.Writer, d train.Eval, timesteps int) {
	edges := []int{0, timesteps / 10, timesteps * 3 / 10, timesteps * 6 / 10, timesteps}
	for i := range len(edges) - 1 {
		if b, ok := d.Within(edges[i], edges[i+1]); ok {
			fmt.Fprintf(w, "  at t in [%d, %d), %d images: %+.5f (95%% CI %+.5f to %+.5f)\n", edges[i], edges[i+1], len(b.Losses), b.Mean, b.Low, b.High)
		}
	}
}

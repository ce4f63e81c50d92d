package train

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Options describe a training run; chrysalis train sets them from its flags.
// DefaultOptions is the default model's recipe.
type Options struct {
	Data string // the image folder
	Out  string // the output folder: the diffusers model, the report, checkpoint/

	Epochs      int
	Batch       int
	LR          float64 // peak learning rate
	Warmup      int     // warm-up steps
	WeightDecay float64 // AdamW's decoupled weight decay
	ClipNorm    float64 // maximum gradient norm; 0 turns clipping off
	EMADecay    float64 // the EMA's maximum decay
	Seed        uint64
	Holdout     float64 // fraction of the images kept out of training (and evaluated), in [0, 1)
	EpsilonLoss bool    // train a v_prediction model on the epsilon loss (Objective.EpsilonLoss)

	SaveEvery   time.Duration // time between checkpoints
	SampleEvery int           // epochs between sample grids; 0: none
	Workers     int           // goroutines over the batch; 0: GOMAXPROCS

	Progress func(Progress) // called after every step; may be nil
	Log      io.Writer      // one line per epoch, checkpoint and sample grid; may be nil

	// Plot, if set, draws the loss curves of r as report.png after every
	// epoch. chrysalis train draws them with gonum/plot; this package stays
	// free of a plotting library, which the browser's workers would carry.
	Plot func(w io.Writer, r Report) error
}

// DefaultOptions is the recipe of the shipped default model (phase 1): batch
// 64, AdamW at 4e-4 with weight decay 0.01, 100 warm-up steps then a cosine
// decay, gradient norm clipped at 1, EMA decay up to 0.999, 180 epochs.
func DefaultOptions() Options {
	return Options{
		Epochs: 180, Batch: 64, LR: 4e-4, Warmup: 100, WeightDecay: 0.01, ClipNorm: 1, EMADecay: 0.999,
		SaveEvery: 5 * time.Minute, SampleEvery: 10,
	}
}

// Progress reports a finished step.
type Progress struct {
	Epoch, Epochs int     // the current epoch (1-based) and the total
	Step, Steps   int     // steps done and in all
	Loss          float64 // this step's loss
	ImagesPerSec  float64 // since this session started
	ETA           time.Duration
}

func (o Options) validate() error {
	switch {
	case o.Epochs < 1:
		return fmt.Errorf("train: %d epochs: want at least 1", o.Epochs)
	case o.Batch < 1 || o.Batch > maxBatch:
		return fmt.Errorf("train: batch %d outside [1, %d]", o.Batch, maxBatch)
	case !(o.LR > 0) || math.IsInf(o.LR, 0):
		return fmt.Errorf("train: learning rate %v: want a positive number", o.LR)
	case o.Warmup < 0:
		return fmt.Errorf("train: %d warm-up steps: want 0 or more", o.Warmup)
	case !(o.WeightDecay >= 0) || math.IsInf(o.WeightDecay, 0):
		return fmt.Errorf("train: weight decay %v: want 0 or more", o.WeightDecay)
	case !(o.ClipNorm >= 0) || math.IsInf(o.ClipNorm, 0):
		return fmt.Errorf("train: gradient clipping norm %v: want 0 (off) or more", o.ClipNorm)
	case !(o.EMADecay >= 0 && o.EMADecay < 1):
		return fmt.Errorf("train: EMA decay %v outside [0, 1)", o.EMADecay)
	case !(o.Holdout >= 0 && o.Holdout < 1):
		return fmt.Errorf("train: holdout fraction %v outside [0, 1)", o.Holdout)
	case o.SaveEvery <= 0:
		return fmt.Errorf("train: checkpoint interval %v: want a positive duration", o.SaveEvery)
	case o.SampleEvery < 0:
		return fmt.Errorf("train: sample grid every %d epochs: want 0 (never) or more", o.SampleEvery)
	case o.Out == "":
		return fmt.Errorf("train: no output folder")
	}
	return nil
}

// maxBatch keeps the random streams of a step's images apart (see streams).
const maxBatch = 1 << 20

// evalSubset bounds the evaluation set during training when no images are
// held out: the first evalSubset images (in name order) are evaluated.
const evalSubset = 128

// Trainer is one training run. Its random draws are a function of the seed
// and the step alone (see streams), so a run resumed from a checkpoint
// continues exactly as if it had not stopped.
type Trainer struct {
	o           Options
	cfg         unet.Config
	schedConfig []byte
	obj         *Objective
	data        *Dataset
	train, eval []int // image indices

	model, emaModel *unet.Model
	params          []unet.Named
	opt             *AdamW
	ema             *EMA
	grads           []unet.Named  // the batch's gradient
	twins           []*unet.Model // one gradient model per worker

	step    int
	elapsed time.Duration // training time of earlier sessions (resumed runs)
	session time.Time     // when this session's Run started
	history history
}

// New starts a run that trains model, with the noise schedule and
// prediction type of schedulerConfig, on the images of o.Data. It refuses an
// output folder that already holds a checkpoint: Resume continues one.
func New(model *unet.Model, schedulerConfig []byte, o Options) (*Trainer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	if HasCheckpoint(o.Out) {
		return nil, fmt.Errorf("train: %s already holds a training checkpoint: resume it, or choose another output folder", o.Out)
	}
	t := &Trainer{o: o, cfg: model.Config, schedConfig: schedulerConfig, model: model, params: model.Parameters()}
	if err := t.setup(); err != nil {
		return nil, err
	}
	t.opt = NewAdamW(t.params, o.WeightDecay)
	t.ema = NewEMA(t.params, o.EMADecay)
	return t, t.finishSetup()
}

// setup reads the scheduler config and the data, and splits off the
// evaluation images.
func (t *Trainer) setup() error {
	obj, err := NewObjective(t.schedConfig)
	if err != nil {
		return err
	}
	if t.o.EpsilonLoss && obj.PredictionType != "v_prediction" {
		return fmt.Errorf("train: the epsilon loss is for v_prediction models; this one's prediction_type is %s", obj.PredictionType)
	}
	obj.EpsilonLoss = t.o.EpsilonLoss
	t.obj = obj
	if t.data, err = LoadDataset(t.o.Data, t.cfg.InChannels, t.cfg.SampleSize[0], t.cfg.SampleSize[1]); err != nil {
		return err
	}
	n := len(t.data.Images)
	held := int(math.Round(t.o.Holdout * float64(n)))
	if held >= n {
		return fmt.Errorf("train: holding out %d of %d images leaves none to train on", held, n)
	}
	perm := rand.New(rand.NewPCG(t.o.Seed, streamHoldout)).Perm(n)
	isHeld := make([]bool, n)
	for _, i := range perm[:held] {
		isHeld[i] = true
	}
	for i := range n {
		if isHeld[i] {
			t.eval = append(t.eval, i)
		} else {
			t.train = append(t.train, i)
		}
	}
	if held == 0 {
		t.eval = t.train[:min(evalSubset, len(t.train))]
	}
	return nil
}

// finishSetup builds the EMA model and the gradient buffers.
func (t *Trainer) finishSetup() error {
	weights := make(map[string]*tensor.Tensor, len(t.ema.Params))
	for _, p := range t.ema.Params {
		weights[p.Name] = p.Tensor
	}
	var err error
	if t.emaModel, err = unet.New(t.cfg, weights); err != nil {
		return err
	}
	t.grads = zerosLike(t.params)
	workers := t.o.Workers
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	t.twins = make([]*unet.Model, min(workers, t.o.Batch))
	for i := range t.twins {
		if t.twins[i], err = unet.NewZero(t.cfg); err != nil {
			return err
		}
	}
	return nil
}

// Random streams: PCG(seed, stream). Everything random in a run is drawn
// from one of these, so it depends on the seed and the step alone.
const (
	streamHoldout = 1 << 61 // which images are held out
	streamEpoch   = 1 << 62 // | epoch: the epoch's image order
	streamExample = 1 << 63 // | step<<20 | slot: flip, timestep and noise of one image of a step
)

// stepsPerEpoch is ⌈training images / batch⌉: the last batch may be short.
func (t *Trainer) stepsPerEpoch() int { return (len(t.train) + t.o.Batch - 1) / t.o.Batch }

// batch returns the image indices of a step: the epoch's shuffled order,
// cut into batches.
func (t *Trainer) batch(step int) []int {
	spe := t.stepsPerEpoch()
	epoch, j := step/spe, step%spe
	perm := rand.New(rand.NewPCG(t.o.Seed, streamEpoch|uint64(epoch))).Perm(len(t.train))
	end := min((j+1)*t.o.Batch, len(t.train))
	imgs := make([]int, 0, end-j*t.o.Batch)
	for _, p := range perm[j*t.o.Batch : end] {
		imgs = append(imgs, t.train[p])
	}
	return imgs
}

// Run trains until the last epoch, checkpointing every SaveEvery, and writes
// the model (EMA weights) to o.Out in diffusers' layout. When ctx is done it
// saves a checkpoint and returns ctx's error.
func (t *Trainer) Run(ctx context.Context) error {
	spe := t.stepsPerEpoch()
	total := t.o.Epochs * spe
	t.session = time.Now()
	startStep, lastSave := t.step, time.Now()
	for t.step < total {
		if err := ctx.Err(); err != nil {
			if serr := t.save(); serr != nil {
				return errors.Join(err, serr)
			}
			t.logf("interrupted: checkpoint saved at step %d", t.step)
			return err
		}
		loss, err := t.trainStep(t.batch(t.step), total)
		if err != nil {
			return err
		}
		t.history.StepLoss = append(t.history.StepLoss, float32(loss))
		if t.o.Progress != nil {
			rate := float64(t.imagesBefore(t.step)-t.imagesBefore(startStep)) / time.Since(t.session).Seconds()
			t.o.Progress(Progress{
				Epoch: (t.step-1)/spe + 1, Epochs: t.o.Epochs, Step: t.step, Steps: total, Loss: loss, ImagesPerSec: rate,
				ETA: time.Duration(float64(t.imagesBefore(total)-t.imagesBefore(t.step)) / rate * float64(time.Second)),
			})
		}
		if t.step%spe == 0 {
			if err := t.endEpoch(ctx, t.step/spe); err != nil {
				return err
			}
		}
		if time.Since(lastSave) >= t.o.SaveEvery && t.step < total {
			if err := t.save(); err != nil {
				return err
			}
			t.logf("checkpoint saved at step %d", t.step)
			lastSave = time.Now()
		}
	}
	if err := t.save(); err != nil {
		return err
	}
	t.logf("done: %d steps; model written to %s", t.step, t.o.Out)
	return nil
}

// clock is the training time so far, over every session of the run.
func (t *Trainer) clock() time.Duration { return t.elapsed + time.Since(t.session) }

// imagesBefore counts the training images of steps [0, s): whole epochs,
// then full batches (only an epoch's last batch is short).
func (t *Trainer) imagesBefore(s int) int {
	spe := t.stepsPerEpoch()
	return s/spe*len(t.train) + s%spe*t.o.Batch
}

// trainStep is one optimizer step on the images imgs:
//
//	for each image: x0 (flipped at random), t ~ U[0,T), ε ~ N(0,I)
//	x_t = √ᾱ_t·x0 + √(1−ᾱ_t)·ε                       add noise
//	out = UNet(x_t, t)                                predict
//	L   = mean over the batch of (out − target)²      measure
//	g   = ∂L/∂θ, clipped to norm ClipNorm             backpropagate
//	θ   ← AdamW(θ, g, lr(step)); ema ← EMA(θ)         update
//
// It returns L.
func (t *Trainer) trainStep(imgs []int, total int) (float64, error) {
	x0s := make([]*tensor.Tensor, len(imgs))
	for i, img := range imgs {
		x0s[i] = t.data.Images[img]
	}
	s := stepper{obj: t.obj, model: t.model, params: t.params, grads: t.grads, twins: t.twins, opt: t.opt, clipNorm: t.o.ClipNorm}
	loss, _, err := s.step(drawExamples(t.obj, x0s, t.o.Seed, t.step, true), LearningRate(t.step, t.o.Warmup, total, t.o.LR), nil)
	if err != nil {
		return 0, err
	}
	t.ema.Update(t.params, t.step)
	t.step++
	return loss, nil
}

// drawExamples draws the flip, timestep and noise of each image of step
// step from its own stream PCG(seed, streamExample|step<<20|slot), flipping
// the image when the draw says so and flip is set (the draw is made either
// way, so the timesteps and noise do not depend on flip).
func drawExamples(obj *Objective, x0s []*tensor.Tensor, seed uint64, step int, flipOK bool) []example {
	examples := make([]example, len(x0s))
	for i, x0 := range x0s {
		r := rand.New(rand.NewPCG(seed, streamExample|uint64(step)<<20|uint64(i)))
		if r.IntN(2) == 1 && flipOK {
			x0 = flip(x0)
		}
		examples[i] = obj.drawExample(x0, r)
	}
	return examples
}

// stepper is the optimizer step that a Trainer and a FineTune share: the
// model and its parameters, the gradient buffers, one gradient model per
// worker, and the optimizer.
type stepper struct {
	obj      *Objective
	model    *unet.Model
	params   []unet.Named
	grads    []unet.Named
	twins    []*unet.Model
	opt      *AdamW
	clipNorm float64
}

// step computes the gradient of the batch's loss, clips it to clipNorm (when
// positive) and takes one AdamW step at learning rate lr. It returns the
// mean loss L and each image's Σ(out − target)². With keep set (one per
// example) it records each image's x_t, target and prediction there.
func (s *stepper) step(examples []example, lr float64, keep []stageTensors) (float64, []float64, error) {
	n := len(examples) * examples[0].x0.Numel()
	for _, g := range s.grads {
		clear(g.Tensor.Data)
	}
	sum, sums, err := s.gradient(examples, n, keep)
	if err != nil {
		return 0, nil, err
	}
	if s.clipNorm > 0 {
		ClipGradNorm(s.grads, s.clipNorm)
	}
	s.opt.Update(s.params, s.grads, lr)
	return sum / float64(n), sums, nil
}

// gradient adds the batch's ∂L/∂θ into s.grads and returns Σ(out − target)²
// over the batch, and over each image. The images run in parallel, one per
// worker, each into its worker's gradient model; the per-image gradients
// (and losses) are then added in image order, ((g_0 + g_1) + g_2) + …, so
// the result has the same bits for any number of workers.
func (s *stepper) gradient(examples []example, n int, keep []stageTensors) (float64, []float64, error) {
	var (
		mu    sync.Mutex
		added = sync.NewCond(&mu)
		next  int // the image whose gradient is added next
		sum   float64
		sums  = make([]float64, len(examples))
		first error
		jobs  = make(chan int)
		wg    sync.WaitGroup
	)
	for _, twin := range s.twins[:min(len(s.twins), len(examples))] {
		g := twin.Parameters()
		wg.Go(func() {
			for i := range jobs {
				for _, p := range g {
					clear(p.Tensor.Data)
				}
				var k *stageTensors
				if keep != nil {
					k = &keep[i]
				}
				l, err := s.obj.loss(s.model, examples[i], n, twin, k)
				mu.Lock()
				for next != i {
					added.Wait()
				}
				if err != nil && first == nil {
					first = err
				}
				sum += l
				sums[i] = l
				for k, p := range g {
					dst := s.grads[k].Tensor.Data
					for j, v := range p.Tensor.Data {
						dst[j] += v
					}
				}
				next++
				added.Broadcast()
				mu.Unlock()
			}
		})
	}
	for i := range examples {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	return sum, sums, first
}

// endEpoch evaluates the EMA model, logs the epoch, rewrites the report and
// loss.tsv, and draws a sample grid every SampleEvery epochs. When ctx is
// done it returns nil early: Run saves and returns on its next check.
func (t *Trainer) endEpoch(ctx context.Context, epoch int) error {
	steps := t.history.StepLoss[len(t.history.StepLoss)-t.stepsPerEpoch():]
	var mean float64
	for _, l := range steps {
		mean += float64(l)
	}
	mean /= float64(len(steps))
	ev, err := Evaluate(ctx, t.emaModel, t.obj, t.data, t.eval, len(t.twins))
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	secs, took := t.clock().Seconds(), t.clock().Seconds()
	if k := len(t.history.Epochs); k > 0 {
		took -= t.history.Epochs[k-1].Seconds
	}
	t.history.Epochs = append(t.history.Epochs, EpochLog{
		Epoch: epoch, Step: t.step, Loss: mean, Seconds: secs, Eval: ev.Mean, EvalLow: ev.Low, EvalHigh: ev.High,
	})
	t.logf("epoch %d/%d: loss %.5f, eval %s, %.1fs", epoch, t.o.Epochs, mean, ev, took)
	if err := t.writeReport(); err != nil {
		return err
	}
	if t.o.SampleEvery > 0 && (epoch%t.o.SampleEvery == 0 || epoch == t.o.Epochs) {
		path, err := t.writeSamples(ctx, epoch)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		t.logf("samples: %s", path)
	}
	return nil
}

func (t *Trainer) logf(format string, args ...any) {
	if t.o.Log != nil {
		fmt.Fprintf(t.o.Log, format+"\n", args...)
	}
}

// writeFile writes data to path atomically (a temporary file, then a rename),
// so that an interrupted run never leaves a half-written file. The file gets
// mode 0644, readable by all as os.WriteFile would make it, not the 0600 of
// a temporary file: the folder may be served to a browser.
func writeFile(path string, write func(io.Writer) error) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("train: %w", err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("train: %w", err)
	}
	if err := f.Chmod(0o644); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("train: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		os.Remove(f.Name())
		return fmt.Errorf("train: writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("train: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("train: %w", err)
	}
	return nil
}

package train

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/checkpoint"
	"chrysalis/core/golden"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
	"chrysalis/core/unet/unettest"
)

func newFineTune(t *testing.T, o FineTuneOptions) *FineTune {
	t.Helper()
	m, err := Init(unettest.SmallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFineTune(m, []byte(schedulerConfig), o)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func sameParams(t *testing.T, what string, a, b []unet.Named) {
	t.Helper()
	for i, p := range a {
		if !slices.Equal(p.Tensor.Data, b[i].Tensor.Data) {
			t.Fatalf("%s: %s differs", what, p.Name)
		}
	}
}

// TestFineTuneMatchesTrainer takes two steps of a Trainer (batch 2, no
// warm-up) and two FineTune steps on the same images at the Trainer's
// learning rates: the losses and the weights after each step are the same
// bits.
func TestFineTuneMatchesTrainer(t *testing.T) {
	o := trainOptions(writeImages(t, 4), t.TempDir(), 1)
	o.Warmup = 0
	tr := newRun(t, o)
	total := tr.o.Epochs * tr.stepsPerEpoch()
	fo := FineTuneOptions{WeightDecay: o.WeightDecay, ClipNorm: o.ClipNorm, Seed: o.Seed, Flip: true}
	f := newFineTune(t, FineTuneOptions{LR: 1, WeightDecay: o.WeightDecay, ClipNorm: o.ClipNorm, Seed: o.Seed, Flip: true})
	for s := range 2 {
		var imgs []*tensor.Tensor
		for _, i := range tr.batch(s) {
			imgs = append(imgs, tr.data.Images[i])
		}
		f.o = fo
		f.o.LR = LearningRate(s, o.Warmup, total, o.LR)
		want, err := tr.trainStep(tr.batch(s), total)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Step(imgs)
		if err != nil {
			t.Fatal(err)
		}
		if got.Loss != want || got.Step != s+1 {
			t.Fatalf("step %d: loss %v (step %d), Trainer's %v", s, got.Loss, got.Step, want)
		}
		sameParams(t, "weights", f.Model().Parameters(), tr.params)
		var mean float64
		for _, st := range got.Images {
			mean += st.Loss / float64(len(got.Images))
		}
		if math.Abs(mean-got.Loss) > 1e-6*got.Loss {
			t.Errorf("step %d: mean of the images' losses %v, batch loss %v", s, mean, got.Loss)
		}
		t.Logf("step %d: loss %.6f, bit-identical to the Trainer", s+1, got.Loss)
	}
}

// TestFineTuneStages checks the shapes of a step's stages and their
// relations: x_t from x0 and ε, the target (v) and x̂₀ from the prediction.
func TestFineTuneStages(t *testing.T) {
	f := newFineTune(t, DefaultFineTuneOptions())
	tr := newRun(t, trainOptions(writeImages(t, 3), t.TempDir(), 1))
	r, err := f.Step(tr.data.Images)
	if err != nil {
		t.Fatal(err)
	}
	c := f.Model().Config
	shape := []int{c.InChannels, c.SampleSize[0], c.SampleSize[1]}
	if len(r.Images) != 3 || r.Step != 1 || !(r.Loss > 0) {
		t.Fatalf("step %d, loss %v, %d stages", r.Step, r.Loss, len(r.Images))
	}
	for i, s := range r.Images {
		for name, x := range map[string]*tensor.Tensor{"x0": s.X0, "noise": s.Noise, "xt": s.XT, "prediction": s.Prediction, "target": s.Target, "x0hat": s.X0Hat} {
			if !slices.Equal(x.Shape, shape) || len(x.Data) != x.Numel() {
				t.Fatalf("image %d: %s has shape %v, want %v", i, name, x.Shape, shape)
			}
		}
		if s.T < 0 || s.T >= f.obj.Timesteps || !(s.Loss > 0) {
			t.Fatalf("image %d: t %d, loss %v", i, s.T, s.Loss)
		}
		ab := float64(f.obj.alphasCumprod[s.T])
		sa, sb := math.Sqrt(ab), math.Sqrt(1-ab)
		var worstXT, worstV, worstX0 float64
		var sum float64
		for j := range s.X0.Data {
			x0, e := float64(s.X0.Data[j]), float64(s.Noise.Data[j])
			worstXT = max(worstXT, math.Abs(float64(s.XT.Data[j])-(sa*x0+sb*e)))
			worstV = max(worstV, math.Abs(float64(s.Target.Data[j])-(sa*e-sb*x0)))
			worstX0 = max(worstX0, math.Abs(float64(s.X0Hat.Data[j])-(sa*float64(s.XT.Data[j])-sb*float64(s.Prediction.Data[j]))))
			d := float64(s.Prediction.Data[j]) - float64(s.Target.Data[j])
			sum += d * d
		}
		if worstXT > 1e-6 || worstV > 1e-6 || worstX0 > 1e-6 {
			t.Errorf("image %d: x_t off by %.2g, target by %.2g, x̂₀ by %.2g", i, worstXT, worstV, worstX0)
		}
		if l := sum / float64(s.X0.Numel()); math.Abs(l-s.Loss) > 1e-9*l {
			t.Errorf("image %d: loss %v, recomputed %v", i, s.Loss, l)
		}
	}
}

// TestFineTuneDeterministic runs three steps at 1 and 4 workers (and
// GOMAXPROCS 1 and 4): the same bits.
func TestFineTuneDeterministic(t *testing.T) {
	imgs := newRun(t, trainOptions(writeImages(t, 3), t.TempDir(), 1)).data.Images
	run := func(procs, workers int) (*FineTune, []float64) {
		defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(procs))
		o := DefaultFineTuneOptions()
		o.Seed, o.Workers = 42, workers
		f := newFineTune(t, o)
		var losses []float64
		for range 3 {
			r, err := f.Step(imgs)
			if err != nil {
				t.Fatal(err)
			}
			losses = append(losses, r.Loss)
		}
		return f, losses
	}
	a, la := run(1, 1)
	b, lb := run(4, 0)
	if !slices.Equal(la, lb) {
		t.Fatalf("losses %v at 1 worker, %v at 4", la, lb)
	}
	sameParams(t, "weights at 1 and 4 workers", a.Model().Parameters(), b.Model().Parameters())
}

func TestFineTuneErrors(t *testing.T) {
	f := newFineTune(t, DefaultFineTuneOptions())
	c := f.Model().Config
	good := tensor.New(c.InChannels, c.SampleSize[0], c.SampleSize[1])
	nan := good.Clone()
	nan.Data[5] = float32(math.NaN())
	for _, tc := range []struct {
		imgs []*tensor.Tensor
		want string
	}{
		{nil, "empty batch"},
		{[]*tensor.Tensor{good, tensor.New(c.InChannels, 8, 8)}, "image 1 has shape"},
		{[]*tensor.Tensor{tensor.New(1, 2, c.InChannels, c.SampleSize[0], c.SampleSize[1])}, "image 0 has shape"},
		{[]*tensor.Tensor{nil}, "image 0 has shape"},
		{[]*tensor.Tensor{good, nan}, "image 1: value 5 is NaN"},
	} {
		_, err := f.Step(tc.imgs)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%d images: error %v, want one line with %q", len(tc.imgs), err, tc.want)
		}
	}
	if f.Steps() != 0 {
		t.Errorf("%d steps after refused batches", f.Steps())
	}
	m, _ := Init(unettest.SmallConfig(), 1)
	for _, o := range []FineTuneOptions{{LR: 0}, {LR: math.NaN()}, {LR: 1, WeightDecay: -1}, {LR: 1, ClipNorm: math.Inf(1)}} {
		if _, err := NewFineTune(m, []byte(schedulerConfig), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
	if _, err := NewFineTune(m, []byte(`{"prediction_type": "x"}`), DefaultFineTuneOptions()); err == nil {
		t.Error("bad scheduler config: no error")
	}
}

// TestFineTuneFiles writes a fine-tuned model's files to a folder, loads it
// as `chrysalis sample -model DIR` does, and compares the weights bit for bit
// and samples one step.
func TestFineTuneFiles(t *testing.T) {
	f := newFineTune(t, DefaultFineTuneOptions())
	imgs := newRun(t, trainOptions(writeImages(t, 2), t.TempDir(), 1)).data.Images
	if _, err := f.Step(imgs); err != nil {
		t.Fatal(err)
	}
	files, err := f.Files()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ck, err := checkpoint.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	got := ck.UNet.Parameters()
	if len(got) != len(f.s.params) {
		t.Fatalf("%d parameters loaded, %d trained", len(got), len(f.s.params))
	}
	sameParams(t, "loaded weights", got, f.Model().Parameters())
	sched, err := scheduler.FromConfig(ck.SchedulerConfig, scheduler.DDIM, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{UNet: ck.UNet, Scheduler: sched}
	x, err := p.Sample(context.Background(), pipeline.Options{Steps: 1, Seed: 1, Batch: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range x.Data {
		if math.IsNaN(float64(v)) {
			t.Fatal("sample from the loaded files holds NaN")
		}
	}
	if string(ck.SchedulerConfig) != schedulerConfig {
		t.Errorf("scheduler config %q", ck.SchedulerConfig)
	}
}

// TestFineTuneGolden takes the stepper's step on diffusers' training step
// (train_grad/: unet_tiny, epsilon, two images at fixed timesteps and noise,
// no clipping) and compares x_t, the prediction, the loss and the weights
// after AdamW (lr 4e-4, weight decay 0.01) with torch's.
func TestFineTuneGolden(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	cfg, err := os.ReadFile(filepath.Join(golden.Dir(t), "train_grad/scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := NewFineTune(m, cfg, FineTuneOptions{LR: 4e-4, WeightDecay: 0.01})
	if err != nil {
		t.Fatal(err)
	}
	step := golden.Open(t, "train_grad/step.safetensors")
	x0, noise := golden.Tensor(t, step, "x0"), golden.Tensor(t, step, "noise")
	ts, _, err := step.Int64s("timesteps")
	if err != nil {
		t.Fatal(err)
	}
	per := x0.Numel() / 2
	examples := make([]example, 2)
	for i := range examples {
		s := x0.Shape[1:]
		examples[i] = example{x0: tensor.From(x0.Data[i*per:(i+1)*per], s...), t: int(ts[i]), noise: tensor.From(noise.Data[i*per:(i+1)*per], s...)}
	}
	keep := make([]stageTensors, 2)
	loss, _, err := f.s.step(examples, 4e-4, keep)
	if err != nil {
		t.Fatal(err)
	}
	noisy, pred := golden.Tensor(t, step, "noisy"), golden.Tensor(t, step, "pred")
	for i, k := range keep {
		if d := golden.MaxAbsDiff(k.xt.Data, noisy.Data[i*per:(i+1)*per]); d > 1e-6 {
			t.Errorf("image %d: x_t max abs error %.3g", i, d)
		}
		if d := golden.MaxAbsDiff(k.out.Data, pred.Data[i*per:(i+1)*per]); d > 1e-5 {
			t.Errorf("image %d: prediction max abs error %.3g", i, d)
		}
	}
	want := float64(golden.Tensor(t, step, "loss").Data[0])
	if e := math.Abs(loss-want) / want; e > 1e-6 {
		t.Errorf("loss %v, want %v (relative error %.3g)", loss, want, e)
	}
	// Our gradients agree with torch's to a relative 5e-5 (unet's
	// TestGoldenTrainStep). Adam's first step moves a weight by
	// lr·g/(|g| + ε) ≈ lr·sign(g), which amplifies the error of a gradient
	// near zero (the to_k.bias ones are pure round-off on both sides): a
	// weight may land up to 2·lr away, so every weight is held to 2·lr and
	// all but one in a thousand to 1e-6.
	after := golden.Open(t, "train_grad/params_after_adamw.safetensors")
	const tolAll, tolMost = 2*4e-4 + 1e-6, 1e-6
	var off, total int
	worst := 0.0
	for _, p := range f.Model().Parameters() {
		w := golden.Tensor(t, after, p.Name)
		for j, v := range p.Tensor.Data {
			d := math.Abs(float64(v) - float64(w.Data[j]))
			if d > tolAll {
				t.Fatalf("%s[%d]: %v, torch %v (> %g apart)", p.Name, j, v, w.Data[j], tolAll)
			}
			if d > tolMost {
				off++
			}
			worst = max(worst, d)
		}
		total += len(p.Tensor.Data)
	}
	if off*1000 > total {
		t.Errorf("%d of %d weights more than %g from torch's after AdamW", off, total, tolMost)
	}
	t.Logf("loss %.8f (torch %.8f); weights after AdamW: max abs error %.2e, %d of %d beyond %g", loss, want, worst, off, total, tolMost)
}

// TestFineTuneFingerprint pins a digest of two steps' losses and weights, so
// that the native and the wasm builds (and every GOMAXPROCS) are held to the
// same bits.
func TestFineTuneFingerprint(t *testing.T) {
	imgs := newRun(t, trainOptions(writeImages(t, 2), t.TempDir(), 1)).data.Images
	o := DefaultFineTuneOptions()
	o.Seed = 3
	f := newFineTune(t, o)
	h := sha256.New()
	for range 2 {
		r, err := f.Step(imgs)
		if err != nil {
			t.Fatal(err)
		}
		binary.Write(h, binary.LittleEndian, r.Loss)
	}
	for _, p := range f.Model().Parameters() {
		binary.Write(h, binary.LittleEndian, p.Tensor.Data)
	}
	const want = "48ec7367bc2cf9e8"
	if got := hex.EncodeToString(h.Sum(nil))[:16]; got != want {
		t.Errorf("digest %s, want %s", got, want)
	}
}

package train

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/checkpoint"
	"chrysalis/core/golden"
	"chrysalis/core/unet"
	"chrysalis/core/unet/unettest"
)

// schedulerConfig is the default model's scheduler: DDPM, squaredcos_cap_v2,
// v_prediction.
const schedulerConfig = `{"_class_name": "DDPMScheduler", "num_train_timesteps": 1000,
  "beta_schedule": "squaredcos_cap_v2", "prediction_type": "v_prediction"}`

// writeImages writes n 24x24 PNGs of simple shapes (a coloured disc on
// white) into a new folder and returns it.
func writeImages(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		img := image.NewNRGBA(image.Rect(0, 0, 24, 24))
		c := color.NRGBA{R: uint8(60 * i), G: uint8(200 - 40*i), B: 90, A: 255}
		for y := range 24 {
			for x := range 24 {
				dx, dy := float64(x-8-i), float64(y-12)
				if math.Hypot(dx, dy) < 6 {
					img.SetNRGBA(x, y, c)
				} else {
					img.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
				}
			}
		}
		writePNG(t, filepath.Join(dir, "img"+string(rune('a'+i))+".png"), img)
	}
	return dir
}

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestLoadDataset(t *testing.T) {
	dir := t.TempDir()
	// A 2x2 PNG with a transparent pixel, a JPEG, a file to skip.
	img := image.NewNRGBA(image.Rect(0, 0, 2, 2))
	img.SetNRGBA(0, 0, color.NRGBA{255, 0, 128, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 0, 0, 0})   // transparent: white
	img.SetNRGBA(0, 1, color.NRGBA{0, 0, 0, 128}) // half black over white: 127
	img.SetNRGBA(1, 1, color.NRGBA{10, 20, 30, 255})
	writePNG(t, filepath.Join(dir, "b.PNG"), img)
	var j bytes.Buffer
	if err := jpeg.Encode(&j, image.NewGray(image.Rect(0, 0, 8, 4)), nil); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "a.jpg"), j.Bytes(), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not an image"), 0o644)

	d, err := LoadDataset(dir, 3, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(d.Names, []string{"a.jpg", "b.PNG"}) {
		t.Fatalf("names %v", d.Names)
	}
	norm := func(b float32) float32 { return (b/255 - 0.5) / 0.5 }
	x := d.Images[1]
	want := []float32{ // R, G, B planes, row-major
		norm(255), norm(255), norm(127), norm(10),
		norm(0), norm(255), norm(127), norm(20),
		norm(128), norm(255), norm(127), norm(30),
	}
	if !slices.Equal(x.Shape, []int{3, 2, 2}) || !slices.Equal(x.Data, want) {
		t.Errorf("b.PNG: %v %v, want %v", x.Shape, x.Data, want)
	}
	// The 8x4 black JPEG is stretched to 2x2: all -1.
	for _, v := range d.Images[0].Data {
		if v != -1 {
			t.Fatalf("a.jpg: %v, want all -1", d.Images[0].Data)
		}
	}
	if f := flip(x); f.Data[0] != x.Data[1] || f.Data[1] != x.Data[0] || f.Data[11] != x.Data[10] {
		t.Errorf("flip %v of %v", f.Data, x.Data)
	}

	grey, err := LoadDataset(dir, 1, 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if l := grey.Images[1].Data[3]; l != norm(18) { // 0.299·10 + 0.587·20 + 0.114·30 = 18.2
		t.Errorf("grey pixel %v, want %v", l, norm(18))
	}
}

func TestLoadDatasetErrors(t *testing.T) {
	empty := t.TempDir()
	os.WriteFile(filepath.Join(empty, "readme.md"), []byte("x"), 0o644)
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "bad.png"), []byte("not a png"), 0o644)
	for _, c := range []struct {
		dir       string
		channels  int
		errSubstr string
	}{
		{empty, 3, "no PNG or JPEG images"},
		{broken, 3, "bad.png"},
		{filepath.Join(empty, "missing"), 3, "missing"},
		{empty, 4, "4 input channels"},
	} {
		_, err := LoadDataset(c.dir, c.channels, 8, 8)
		if err == nil || !strings.Contains(err.Error(), c.errSubstr) {
			t.Errorf("LoadDataset(%s, %d): %v, want an error containing %q", c.dir, c.channels, err, c.errSubstr)
		} else {
			t.Logf("%v", err)
		}
	}
}

func TestLearningRate(t *testing.T) {
	const peak = 1e-3
	for _, c := range []struct {
		step int
		want float64
	}{
		{0, 0}, {5, 0.5e-3}, {10, 1e-3}, {60, 0.55e-3}, {110, 0.1e-3}, {200, 0.1e-3},
	} {
		if got := LearningRate(c.step, 10, 110, peak); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("lr(%d) = %v, want %v", c.step, got, c.want)
		}
	}
}

func TestClipAndEMA(t *testing.T) {
	m, err := unet.NewZero(unettest.SmallConfig())
	if err != nil {
		t.Fatal(err)
	}
	g := m.Parameters()
	g[0].Tensor.Data[0], g[1].Tensor.Data[0] = 3, 4 // ‖g‖ = 5
	if n := ClipGradNorm(g, 1); n != 5 {
		t.Errorf("norm %v, want 5", n)
	}
	if a, b := g[0].Tensor.Data[0], g[1].Tensor.Data[0]; math.Abs(float64(a)-0.6) > 1e-6 || math.Abs(float64(b)-0.8) > 1e-6 {
		t.Errorf("clipped to %v, %v; want 0.6, 0.8", a, b)
	}

	e := NewEMA(g, 0.999)
	g[0].Tensor.Data[0] = 1.6
	e.Update(g, 0) // d = 1/10
	if v := e.Params[0].Tensor.Data[0]; math.Abs(float64(v)-(0.1*0.6+0.9*1.6)) > 1e-6 {
		t.Errorf("EMA %v after one update", v)
	}
	e.Update(g, 1_000_000) // d capped at 0.999
	if v := e.Params[0].Tensor.Data[0]; math.Abs(float64(v)-(0.999*1.5+0.001*1.6)) > 1e-6 {
		t.Errorf("EMA %v after the second update", v)
	}
}

func TestInit(t *testing.T) {
	m, err := Init(unettest.SmallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	shapes := map[string][]int{}
	for _, p := range m.Parameters() {
		shapes[p.Name] = p.Tensor.Shape
	}
	for _, p := range m.Parameters() {
		switch {
		case p.Name == "conv_norm_out.weight":
			if p.Tensor.Data[0] != 1 {
				t.Errorf("%s = %v, want 1", p.Name, p.Tensor.Data[0])
			}
		case p.Name == "conv_norm_out.bias":
			if p.Tensor.Data[0] != 0 {
				t.Errorf("%s = %v, want 0", p.Name, p.Tensor.Data[0])
			}
		case p.Name == "conv_in.weight" || p.Name == "conv_in.bias":
			bound := 1 / math.Sqrt(27) // fan_in = 3·3·3
			lo, hi := slices.Min(p.Tensor.Data), slices.Max(p.Tensor.Data)
			if float64(hi) > bound || float64(lo) < -bound || hi-lo < float32(bound) {
				t.Errorf("%s in [%v, %v], want spread over ±%v", p.Name, lo, hi, bound)
			}
		}
	}
}

// trainOptions is a small run: 4 images, batch 2 (2 steps per epoch).
func trainOptions(data, out string, epochs int) Options {
	o := DefaultOptions()
	o.Data, o.Out, o.Epochs, o.Batch = data, out, epochs, 2
	o.LR, o.Warmup, o.SampleEvery, o.Seed = 3e-3, 2, 0, 7
	return o
}

func newRun(t *testing.T, o Options) *Trainer {
	t.Helper()
	m, err := Init(unettest.SmallConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := New(m, []byte(schedulerConfig), o)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// meanLoss is the loss of m on the run's images averaged over 32 fixed
// (timestep, noise) draws per image: a less noisy figure than Evaluate's
// single draw per image, for 4 images.
func meanLoss(t *testing.T, tr *Trainer, m *unet.Model) float64 {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var sum float64
	for range 32 {
		for _, x0 := range tr.data.Images {
			s, err := tr.obj.loss(m, tr.obj.drawExample(x0, r), x0.Numel(), nil)
			if err != nil {
				t.Fatal(err)
			}
			sum += s / float64(x0.Numel())
		}
	}
	return sum / float64(32*len(tr.data.Images))
}

// TestTrainOverfits trains on 4 images for 40 steps and checks that the
// loss of the trained weights on those images falls by at least 40%
// (measured: 0.97 to 0.48). It
// also checks the output folder: a diffusers model that checkpoint.LoadDir
// reads, holding the EMA weights, the report and a sample grid.
func TestTrainOverfits(t *testing.T) {
	data := writeImages(t, 4)
	out := t.TempDir()
	o := trainOptions(data, out, 20)
	o.SampleEvery = 20
	var plotted Report
	o.Plot = func(w io.Writer, r Report) error {
		plotted = r
		_, err := io.WriteString(w, "plot")
		return err
	}
	tr := newRun(t, o)
	before := meanLoss(t, tr, tr.model)
	if err := tr.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	after := meanLoss(t, tr, tr.model)
	t.Logf("loss before %.4f, after 40 steps %.4f", before, after)
	if !(after < 0.6*before) {
		t.Errorf("loss %v after training, %v before: want a fall of 40%%", after, before)
	}

	ck, err := checkpoint.LoadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ck.UNet.Parameters() {
		if !slices.Equal(p.Tensor.Data, tr.ema.Params[i].Tensor.Data) {
			t.Fatalf("%s: the written model is not the EMA weights", p.Name)
		}
	}
	if string(ck.SchedulerConfig) != schedulerConfig {
		t.Errorf("scheduler_config.json = %s", ck.SchedulerConfig)
	}
	for _, f := range []string{"config.json", "diffusion_pytorch_model.safetensors", "report.png", "loss.tsv", "samples/epoch_0020.png", stateFile} {
		// Readable by all, like any file the user writes: a web server may serve the folder.
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		} else if fi.Mode().Perm()&0o044 != 0o044 {
			t.Errorf("%s has mode %v, want it readable by group and others", f, fi.Mode())
		}
	}
	if len(plotted.Epochs) != 20 || len(plotted.StepLoss) != 40 || plotted.PredictionType != "v_prediction" || plotted.EvalImages == 0 {
		t.Errorf("the last report plotted has %d epochs, %d step losses, %q, %d eval images",
			len(plotted.Epochs), len(plotted.StepLoss), plotted.PredictionType, plotted.EvalImages)
	}
	tsv, _ := os.ReadFile(filepath.Join(out, "loss.tsv"))
	if lines := strings.Count(string(tsv), "\n"); lines != 21 {
		t.Errorf("loss.tsv has %d lines, want a header and 20 epochs:\n%s", lines, tsv)
	}
}

// TestResumeExact interrupts a run after 3 steps, resumes it, and checks
// that the weights, EMA, optimizer state and loss history are bit-identical
// to an uninterrupted run's; and that the worker count changes nothing.
func TestResumeExact(t *testing.T) {
	data := writeImages(t, 4)
	whole := newRun(t, trainOptions(data, t.TempDir(), 3))
	if err := whole.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	out := t.TempDir()
	o := trainOptions(data, out, 3)
	o.Workers = 1
	ctx, cancel := context.WithCancel(context.Background())
	o.Progress = func(p Progress) {
		if p.Step == 3 {
			cancel()
		}
	}
	first := newRun(t, o)
	if err := first.Run(ctx); err != context.Canceled {
		t.Fatalf("interrupted run: %v, want context.Canceled", err)
	}
	o.Progress, o.Workers = nil, 3
	if _, err := New(first.model, []byte(schedulerConfig), o); err == nil {
		t.Errorf("New over a checkpoint: no error")
	}
	o.Batch = 3
	if _, err := Resume(o); err == nil || !strings.Contains(err.Error(), "-batch 2, not 3") {
		t.Errorf("resume with another batch: %v", err)
	}
	o.Batch, o.EpsilonLoss = 2, true
	if _, err := Resume(o); err == nil || !strings.Contains(err.Error(), "-epsilon-loss false, not true") {
		t.Errorf("resume with the epsilon loss: %v", err)
	}
	o.EpsilonLoss = false
	resumed, err := Resume(o)
	if err != nil {
		t.Fatal(err)
	}
	if resumed.step != 3 {
		t.Fatalf("resumed at step %d, want 3", resumed.step)
	}
	if err := resumed.Run(context.Background()); err != nil {
		t.Fatal(err)
	}

	same := func(name string, a, b []unet.Named) {
		for i := range a {
			if !slices.Equal(a[i].Tensor.Data, b[i].Tensor.Data) {
				t.Fatalf("%s %s differs after resuming", name, a[i].Name)
			}
		}
	}
	same("weights", whole.params, resumed.params)
	same("EMA", whole.ema.Params, resumed.ema.Params)
	same("AdamW m", whole.opt.M, resumed.opt.M)
	same("AdamW v", whole.opt.V, resumed.opt.V)
	if !slices.Equal(whole.history.StepLoss, resumed.history.StepLoss) || whole.opt.Step != resumed.opt.Step {
		t.Errorf("loss history %v, want %v", resumed.history.StepLoss, whole.history.StepLoss)
	}
	if len(resumed.history.Epochs) != 3 {
		t.Errorf("%d epochs logged, want 3", len(resumed.history.Epochs))
	}
}

func TestOptionsErrors(t *testing.T) {
	data := writeImages(t, 2)
	m, _ := Init(unettest.SmallConfig(), 1)
	for name, edit := range map[string]func(*Options){
		"epochs":  func(o *Options) { o.Epochs = 0 },
		"batch":   func(o *Options) { o.Batch = 0 },
		"lr":      func(o *Options) { o.LR = -1 },
		"holdout": func(o *Options) { o.Holdout = 1 },
		"all out": func(o *Options) { o.Holdout = 0.9 },
		"no out":  func(o *Options) { o.Out = "" },
		"no data": func(o *Options) { o.Data = filepath.Join(data, "none") },
	} {
		o := trainOptions(data, t.TempDir(), 1)
		edit(&o)
		if _, err := New(m, []byte(schedulerConfig), o); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
	o := trainOptions(data, t.TempDir(), 1)
	if _, err := New(m, []byte(`{"prediction_type": "noise"}`), o); err == nil {
		t.Errorf("bad prediction_type: no error")
	}
	if _, err := Resume(o); err == nil {
		t.Errorf("Resume without a checkpoint: no error")
	}
}

// TestDefaultSchedulerConfig: DefaultSchedulerConfig is the default model's
// file, byte for byte.
func TestDefaultSchedulerConfig(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(golden.Model(t, "butterflies-32"), "scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data, DefaultSchedulerConfig) {
		t.Errorf("DefaultSchedulerConfig differs from butterflies-32's:\n%s", data)
	}
}

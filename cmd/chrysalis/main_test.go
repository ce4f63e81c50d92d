package main

import (
	"bytes"
	"context"
	"image"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/checkpoint"
	"chrysalis/core/golden"
	"chrysalis/core/pipeline"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
	"chrysalis/web/settings"
)

// tinyFolder writes a single-model folder with unet_tiny's config and
// weights and the golden pipeline's DDPM scheduler config (epsilon,
// squaredcos_cap_v2). edit, if set, changes the weights first.
func tinyFolder(t testing.TB, edit func(map[string]*tensor.Tensor)) string {
	t.Helper()
	ref := golden.Dir(t)
	dir := t.TempDir()
	copyFile(t, filepath.Join(ref, "unet_tiny", "config.json"), filepath.Join(dir, "config.json"))
	copyFile(t, filepath.Join(ref, "pipeline", "ddpm10_scheduler_config.json"), filepath.Join(dir, "scheduler_config.json"))
	src := filepath.Join(ref, "unet_tiny", "diffusion_pytorch_model.safetensors")
	if edit == nil {
		copyFile(t, src, filepath.Join(dir, "diffusion_pytorch_model.safetensors"))
		return dir
	}
	w := readAll(t, src)
	edit(w)
	writeTensors(t, filepath.Join(dir, "diffusion_pytorch_model.safetensors"), w, safetensors.F32)
	return dir
}

func copyFile(t testing.TB, from, to string) {
	t.Helper()
	data, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

func readAll(t testing.TB, path string) map[string]*tensor.Tensor {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	w := map[string]*tensor.Tensor{}
	for _, name := range f.Names() {
		if w[name], err = f.Tensor(name); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

func writeTensors(t testing.TB, path string, w map[string]*tensor.Tensor, dtype safetensors.DType) {
	t.Helper()
	var entries []safetensors.Entry
	for name, x := range w {
		entries = append(entries, safetensors.Entry{Name: name, Tensor: x})
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, entries, dtype, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// runCLI runs a command line in-process and returns stdout, stderr and the error.
func runCLI(tty bool, args ...string) (string, string, error) {
	var out, errw bytes.Buffer
	err := run(context.Background(), args, env{stdout: &out, stderr: &errw, tty: tty})
	return out.String(), errw.String(), err
}

// rawSample reads the "sample" tensor of a -save-raw file.
func rawSample(t testing.TB, path string) *tensor.Tensor {
	t.Helper()
	f, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if info, ok := f.Info("sample"); !ok || info.DType != safetensors.F32 {
		t.Fatalf("%s: no F32 tensor \"sample\"", path)
	}
	x, err := f.Tensor("sample")
	if err != nil {
		t.Fatal(err)
	}
	return x
}

// TestSample runs sample end to end on unet_tiny: the PNG is the grid of
// the raw samples' images, each pixel a 4×4 block by default, and stdout says
// what was written, also when it is not a terminal (no progress bar then).
func TestSample(t *testing.T) {
	dir := tinyFolder(t, nil)
	out := t.TempDir()
	pngPath, raw := filepath.Join(out, "grid.png"), filepath.Join(out, "raw.safetensors")
	stdout, stderr, err := runCLI(false, "sample", "-model", dir, "-steps", "3", "-batch", "3", "-seed", "5",
		"-out", pngPath, "-save-raw", raw)
	if err != nil {
		t.Fatal(err)
	}
	wrote := regexp.MustCompile(`^wrote ` + regexp.QuoteMeta(raw) + ` \(36\.1 KiB\): samples \[3 3 32 32\] F32; ddpm, 3 steps, seed 5; [0-9.]+m?s\n` +
		`wrote ` + regexp.QuoteMeta(pngPath) + ` \([0-9.]+ KiB\): a 2x2 grid of 3 images of 32×32 at 4×, 256×256 px; ddpm, 3 steps, seed 5; [0-9.]+m?s\n$`)
	if !wrote.MatchString(stdout) || stderr != "" {
		t.Errorf("output when not a terminal: stdout %q, stderr %q", stdout, stderr)
	}
	x := rawSample(t, raw)
	if want := []int{3, 3, 32, 32}; !slices.Equal(x.Shape, want) {
		t.Fatalf("raw sample shape %v, want %v", x.Shape, want)
	}
	img := readPNG(t, pngPath)
	imgs, err := pipeline.Images(x)
	if err != nil {
		t.Fatal(err)
	}
	grid, err := pipeline.Grid(imgs)
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds() != image.Rect(0, 0, 256, 256) || grid.Bounds() != image.Rect(0, 0, 64, 64) {
		t.Fatalf("PNG bounds %v, want 4× the 2x2 grid %v", img.Bounds(), grid.Bounds())
	}
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			r1, g1, b1, a1 := img.At(x, y).RGBA()
			r2, g2, b2, a2 := grid.At(x/4, y/4).RGBA()
			if r1 != r2 || g1 != g2 || b1 != b2 || a1 != a2 {
				t.Fatalf("PNG pixel (%d,%d) differs from the raw sample's image", x, y)
			}
		}
	}

	// The same seed gives the same images with another batch size: image 0
	// of a batch of 1 is image 0 of the batch of 3.
	one := filepath.Join(out, "one.safetensors")
	if _, _, err := runCLI(false, "sample", "-model", dir, "-steps", "3", "-seed", "5", "-batch", "1", "-out", "", "-save-raw", one); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f32bytes(rawSample(t, one).Data), f32bytes(x.Data[:3*32*32])) {
		t.Error("image 0 differs between batch 1 and batch 3")
	}
}

// TestSampleGIF: -gif writes one frame per step, each the final x_t beside
// x̂₀ under a full bar at the end, and says so; its last frame shows the
// PNG's images (to the palette's nearest colour).
func TestSampleGIF(t *testing.T) {
	dir, out := tinyFolder(t, nil), t.TempDir()
	gifPath, pngPath := filepath.Join(out, "run.gif"), filepath.Join(out, "x.png")
	stdout, _, err := runCLI(false, "sample", "-model", dir, "-scheduler", "ddim", "-steps", "3", "-batch", "2", "-scale", "1",
		"-gif", gifPath, "-out", pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "wrote "+gifPath+" (") || !strings.Contains(stdout, "): 3 frames of x_t beside x̂₀ at 1×; ddim, 3 steps") {
		t.Errorf("stdout %q does not say what -gif wrote", stdout)
	}
	f, err := os.Open(gifPath)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	// Two pairs side by side: 2·(2·32+1) wide plus margins of 2, a 2-pixel bar.
	if len(g.Image) != 3 || g.Config.Width != 2*65+3*2 || g.Config.Height != 2+2+32+2 {
		t.Fatalf("%d frames of %dx%d", len(g.Image), g.Config.Width, g.Config.Height)
	}
	grid := readPNG(t, pngPath)
	last := g.Image[2]
	for i := range 2 {
		for y := range 32 {
			for x := range 32 {
				want := last.Palette[last.Palette.Index(grid.At(32*i+x, y))]
				if got := last.At(2+i*(65+2)+x, 4+y); got != want {
					t.Fatalf("image %d pixel (%d,%d) of the last frame: %v, want %v", i, x, y, got, want)
				}
			}
		}
	}
}

func readPNG(t *testing.T, path string) image.Image {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

// TestProgress: a terminal gets a progress bar on stderr, one redraw per step.
func TestProgress(t *testing.T) {
	dir := tinyFolder(t, nil)
	_, stderr, err := runCLI(true, "sample", "-model", dir, "-scheduler", "ddim", "-steps", "2", "-out", filepath.Join(t.TempDir(), "x.png"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Count(stderr, "\r[") != 2 || !strings.Contains(stderr, "2/2") || !strings.HasSuffix(stderr, "\n") {
		t.Errorf("progress output %q: want two \\r-redrawn bars ending with 2/2 and a newline", stderr)
	}
}

// TestInitNoise: -init-noise with the seeded z_T of seed 42 reproduces the
// seeded run, and its batch sets -batch.
func TestInitNoise(t *testing.T) {
	dir := tinyFolder(t, nil)
	tmp := t.TempDir()
	zT := tensor.New(2, 3, 32, 32)
	pipeline.NewSeeded(42, 0, 2).Fill(zT)
	noise := filepath.Join(tmp, "noise.safetensors")
	writeTensors(t, noise, map[string]*tensor.Tensor{"noise": zT}, safetensors.F32)
	a, b := filepath.Join(tmp, "a.safetensors"), filepath.Join(tmp, "b.safetensors")
	if _, _, err := runCLI(false, "sample", "-model", dir, "-steps", "2", "-batch", "2", "-out", "", "-save-raw", a); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runCLI(false, "sample", "-model", dir, "-steps", "2", "-init-noise", noise, "-out", "", "-save-raw", b); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f32bytes(rawSample(t, a).Data), f32bytes(rawSample(t, b).Data)) {
		t.Error("-init-noise with the seeded noise gave other samples")
	}
}

// TestSampleErrors: every bad input gives a one-line error naming the flag
// or file.
func TestSampleErrors(t *testing.T) {
	dir := tinyFolder(t, nil)
	tmp := t.TempDir()
	nanDir := tinyFolder(t, func(w map[string]*tensor.Tensor) { w["conv_out.bias"].Data[0] = float32(math.NaN()) })
	corrupt := tinyFolder(t, nil)
	wpath := filepath.Join(corrupt, "diffusion_pytorch_model.safetensors")
	data, err := os.ReadFile(wpath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wpath, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	variantOnly := tinyFolder(t, nil)
	err = os.Rename(filepath.Join(variantOnly, "diffusion_pytorch_model.safetensors"), filepath.Join(variantOnly, "diffusion_pytorch_model.fp16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	noiseF16 := filepath.Join(tmp, "f16.safetensors")
	writeTensors(t, noiseF16, map[string]*tensor.Tensor{"noise": tensor.New(1, 3, 32, 32)}, safetensors.F16)
	noiseName := filepath.Join(tmp, "name.safetensors")
	writeTensors(t, noiseName, map[string]*tensor.Tensor{"latents": tensor.New(1, 3, 32, 32)}, safetensors.F32)
	noise2 := filepath.Join(tmp, "two.safetensors")
	writeTensors(t, noise2, map[string]*tensor.Tensor{"noise": tensor.New(2, 3, 32, 32)}, safetensors.F32)
	noiseShape := filepath.Join(tmp, "shape.safetensors")
	writeTensors(t, noiseShape, map[string]*tensor.Tensor{"noise": tensor.New(2, 4, 32, 32)}, safetensors.F32)
	out := filepath.Join(tmp, "x.png")

	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{}, "no command given"},
		{[]string{"paint"}, `unknown command "paint"`},
		{[]string{"sample"}, "sample: -model is required"},
		{[]string{"sample", "-model", dir, "extra"}, `sample: unexpected argument "extra"`},
		{[]string{"sample", "-model", dir, "-frobnicate"}, "sample: flag provided but not defined: -frobnicate"},
		{[]string{"sample", "-model", dir, "-steps", "ten"}, `sample: invalid value "ten" for flag -steps`},
		{[]string{"sample", "-model", filepath.Join(tmp, "missing")}, `sample: -model "` + filepath.Join(tmp, "missing") + `"`},
		{[]string{"sample", "-model", tmp}, "no model_index.json or config.json"},
		{[]string{"sample", "-model", corrupt}, "diffusion_pytorch_model.safetensors"},
		{[]string{"sample", "-model", dir, "-steps", "0"}, "sample: -steps 0: want at least 1"},
		{[]string{"sample", "-model", dir, "-steps", "1001"}, "sample: -steps 1001: the scheduler has 1000 training timesteps"},
		{[]string{"sample", "-model", dir, "-batch", "0"}, "sample: -batch 0: want 1 .. 64"},
		{[]string{"sample", "-model", dir, "-batch", "65"}, "sample: -batch 65: want 1 .. 64"},
		{[]string{"sample", "-model", dir, "-scheduler", "pndm"}, `sample: -scheduler "pndm": want ddpm, ddim, dpm++2m or euler`},
		{[]string{"sample", "-model", dir, "-scheduler", "ddim", "-eta", "1.5"}, "sample: -eta 1.5: want 0 .. 1"},
		{[]string{"sample", "-model", dir, "-scheduler", "ddim", "-eta", "NaN"}, "sample: -eta NaN: want 0 .. 1"},
		{[]string{"sample", "-model", dir, "-scheduler", "euler", "-eta", "0.5"}, `sample: -eta applies to the ddim scheduler only, not "euler"`},
		{[]string{"sample", "-model", dir, "-eta", "0.5"}, "the checkpoint's scheduler is DDPMScheduler: add -scheduler ddim"},
		{[]string{"sample", "-model", dir, "-out", filepath.Join(tmp, "x.jpg")}, "-out \"" + filepath.Join(tmp, "x.jpg") + "\": want a .png file"},
		{[]string{"sample", "-model", dir, "-out", ""}, "-out, -save-raw and -gif are all empty"},
		{[]string{"sample", "-model", dir, "-gif", filepath.Join(tmp, "x.png")}, "-gif \"" + filepath.Join(tmp, "x.png") + "\": want a .gif file"},
		{[]string{"sample", "-model", dir, "-variant", "fp16"}, `checkpoint: no diffusion_pytorch_model.fp16.safetensors or .bin in the top folder`},
		{[]string{"sample", "-model", variantOnly}, `checkpoint: no diffusion_pytorch_model.safetensors or .bin in the top folder; it holds the weight variant "fp16" (diffusion_pytorch_model.fp16.*) (in ` + variantOnly + `): add -variant fp16`},
		{[]string{"sample", "-model", dir, "-scale", "0"}, "sample: -scale 0: want 1 .. 16"},
		{[]string{"sample", "-model", dir, "-scale", "17"}, "sample: -scale 17: want 1 .. 16"},
		{[]string{"sample", "-model", dir, "-init-noise", filepath.Join(tmp, "none.safetensors")}, "sample: -init-noise: safetensors:"},
		{[]string{"sample", "-model", dir, "-init-noise", noiseF16}, `tensor "noise" is F16, want F32`},
		{[]string{"sample", "-model", dir, "-init-noise", noiseName}, `has no tensor "noise"`},
		{[]string{"sample", "-model", dir, "-init-noise", noise2, "-batch", "3"}, "sample: -batch 3 conflicts with -init-noise"},
		{[]string{"sample", "-model", dir, "-init-noise", noiseShape}, "initial noise has shape [2 4 32 32], want [2 3 H W]"},
		{[]string{"sample", "-model", nanDir, "-steps", "2", "-out", out}, "sample: pipeline: step 0 of 2 (t=500): model output has NaN at image 0"},
		{[]string{"sample", "-model", dir, "-steps", "1", "-out", filepath.Join(tmp, "no", "such", "x.png")}, "sample: -out: open"},
		{[]string{"convert", "-model", dir}, "convert: -out is required"},
		{[]string{"convert", "-model", dir, "-out", tmp, "-dtype", "f8"}, `convert: -dtype "f8": want f32, f16 or bf16`},
		{[]string{"convert", "-model", dir, "-out", tmp, "-variant", "../x"}, `convert: -variant "../x": want a plain name`},
		{[]string{"convert", "-model", corrupt, "-out", tmp}, "convert: -model"},
		{[]string{"bench", "now"}, `bench: unexpected argument "now"`},
	} {
		_, _, err := runCLI(false, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: error %v, want it to contain %q", c.args, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: error is not one line: %q", c.args, err)
		}
	}
	if _, err := os.Stat(out); err == nil {
		t.Error("a PNG was written for a NaN run")
	}
}

// TestHelp: -h prints the command's help and is not an error.
func TestHelp(t *testing.T) {
	for _, cmd := range []string{"sample", "convert", "bench"} {
		stdout, _, err := runCLI(false, cmd, "-h")
		if err != nil || !strings.Contains(stdout, "usage: chrysalis "+cmd) {
			t.Errorf("%s -h: error %v, output %q", cmd, err, stdout)
		}
	}
	if stdout, _, err := runCLI(false, "help"); err != nil || !strings.Contains(stdout, "commands:") {
		t.Errorf("help: %v %q", err, stdout)
	}
}

// TestDefaultSteps: the CLI's default step counts are the demo page's.
func TestDefaultSteps(t *testing.T) {
	if len(samplers) != len(settings.Schedulers) {
		t.Fatalf("%d samplers, the page has %d", len(samplers), len(settings.Schedulers))
	}
	for _, s := range samplers {
		p, ok := settings.SchedulerByName(s.name)
		if !ok || p.DefaultSteps != s.steps {
			t.Errorf("%s: %d default steps, the page has %d (known %v)", s.name, s.steps, p.DefaultSteps, ok)
		}
	}
}

func f32bytes(x []float32) []byte {
	b := make([]byte, 0, 4*len(x))
	for _, v := range x {
		u := math.Float32bits(v)
		b = append(b, byte(u), byte(u>>8), byte(u>>16), byte(u>>24))
	}
	return b
}

// tinyModel loads unet_tiny from a tinyFolder.
func tinyModel(t testing.TB) *unet.Model {
	t.Helper()
	ck, err := checkpoint.LoadDir(tinyFolder(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	return ck.UNet
}

// TestProgressAbandoned: a run that fails mid-way ends the bar's line.
func TestProgressAbandoned(t *testing.T) {
	var buf bytes.Buffer
	p := newProgress(&buf)
	p.step(pipeline.Frame{Index: 0, Steps: 3, Timestep: 999})
	p.abandon()
	p.abandon()
	if s := buf.String(); !strings.HasPrefix(s, "\r[") || strings.Count(s, "\n") != 1 || !strings.HasSuffix(s, "\n") {
		t.Errorf("abandoned bar %q: want one redraw and one newline", s)
	}
	var none *progress
	none.abandon() // no bar: nothing to do
}

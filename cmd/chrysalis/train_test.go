package main

import (
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"chrysalis/core/checkpoint"
	"chrysalis/core/unet/unettest"
)

// smallConfigJSON writes unettest.SmallConfig as config.json (16x16, two
// blocks, one with attention, 8 and 16 channels) and returns its path.
func smallConfigJSON(t *testing.T) string {
	t.Helper()
	c := unettest.SmallConfig()
	path := filepath.Join(t.TempDir(), "config.json")
	if err := os.WriteFile(path, c.JSON(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// imageFolder writes n 20x20 PNGs (a coloured square on white).
func imageFolder(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	for i := range n {
		img := image.NewNRGBA(image.Rect(0, 0, 20, 20))
		for y := range 20 {
			for x := range 20 {
				c := color.NRGBA{255, 255, 255, 255}
				if x > 4+i && x < 12+i && y > 5 && y < 14 {
					c = color.NRGBA{uint8(80 * i), 40, 160, 255}
				}
				img.SetNRGBA(x, y, c)
			}
		}
		savePNG(t, filepath.Join(dir, string(rune('a'+i))+".png"), img)
	}
	return dir
}

func savePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
}

// TestTrainAndEval trains a small model for two epochs, evaluates the result,
// resumes the run for a third epoch, and fine-tunes it with -init.
func TestTrainAndEval(t *testing.T) {
	data, cfg := imageFolder(t, 3), smallConfigJSON(t)
	out := filepath.Join(t.TempDir(), "run")
	stdout, stderr, err := runCLI(false, "train", "-data", data, "-config", cfg, "-out", out,
		"-epochs", "2", "-batch", "2", "-sample-every", "0")
	if err != nil {
		t.Fatalf("train: %v\n%s", err, stderr)
	}
	if !strings.Contains(stdout, "epoch 2/2: loss") || !strings.Contains(stdout, "done: 4 steps") {
		t.Errorf("train printed:\n%s", stdout)
	}
	if _, err := checkpoint.LoadDir(out); err != nil {
		t.Fatal(err)
	}

	stdout, _, err = runCLI(false, "eval", "-model", out, "-data", data)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^eval loss \(v_prediction\): \d+\.\d+ \(95% CI \d+\.\d+–\d+\.\d+, 3 images\)\n$`).MatchString(stdout) {
		t.Errorf("eval printed %q", stdout)
	}
	// A model against itself differs by exactly nothing, image by image, and
	// in every band of timesteps that holds two images or more (12 images
	// fill at least one).
	stdout, _, err = runCLI(false, "eval", "-model", out, "-data", imageFolder(t, 12), "-vs", out)
	if err != nil {
		t.Fatal(err)
	}
	band := `(  at t in \[\d+, \d+\), \d+ images: \+0\.00000 \(95% CI \+0\.00000 to \+0\.00000\)\n)+`
	if !regexp.MustCompile(`difference \(model − vs\), paired: \+0\.00000 \(95% CI \+0\.00000 to \+0\.00000\)\n`+band+`$`).MatchString(stdout) ||
		!strings.Contains(stdout, "\nvs "+out+": ") {
		t.Errorf("eval -vs itself printed %q", stdout)
	}
	for vs, want := range map[string]string{
		t.TempDir():        "no model_index.json or config.json",
		tinyFolder(t, nil): "are not comparable: prediction_type v_prediction against epsilon",
	} {
		if _, _, err := runCLI(false, "eval", "-model", out, "-data", data, "-vs", vs); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("eval -vs %s: %v, want an error containing %q", vs, err, want)
		}
	}

	// Without -resume the checkpoint is protected; with it, the run goes on.
	if _, _, err := runCLI(false, "train", "-data", data, "-config", cfg, "-out", out, "-epochs", "3", "-batch", "2"); err == nil ||
		!strings.Contains(err.Error(), "already holds a training checkpoint") {
		t.Errorf("train over a checkpoint: %v", err)
	}
	stdout, _, err = runCLI(false, "train", "-data", data, "-config", cfg, "-out", out, "-epochs", "3", "-batch", "2",
		"-sample-every", "0", "-resume")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stdout, "resuming") || !strings.Contains(stdout, "epoch 3/3") || strings.Contains(stdout, "epoch 1/3") {
		t.Errorf("resumed run printed:\n%s", stdout)
	}

	// A progress bar on a terminal.
	_, stderr, err = runCLI(true, "train", "-data", data, "-init", out, "-out", filepath.Join(t.TempDir(), "ft"),
		"-epochs", "1", "-batch", "3", "-lr", "1e-4", "-sample-every", "0")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "epoch 1/1  step 1/1  loss") || !strings.Contains(stderr, "img/s  ETA") {
		t.Errorf("progress bar: %q", stderr)
	}
}

func TestTrainErrors(t *testing.T) {
	data, cfg := imageFolder(t, 2), smallConfigJSON(t)
	empty := t.TempDir()
	broken := t.TempDir()
	os.WriteFile(filepath.Join(broken, "x.png"), []byte("not a png"), 0o644)
	badCfg := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(badCfg, []byte(`{"act_fn": "gelu"}`), 0o644)
	notJSON := filepath.Join(t.TempDir(), "config.json")
	os.WriteFile(notJSON, []byte(`{"block_out_channels": `), 0o644)
	out := func() string { return filepath.Join(t.TempDir(), "out") }
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-config", cfg, "-out", out()}, "-data is required"},
		{[]string{"-data", data, "-config", cfg}, "-out is required"},
		{[]string{"-data", data, "-out", out()}, "give -config"},
		{[]string{"-data", data, "-config", cfg, "-init", data, "-out", out()}, "not both"},
		{[]string{"-data", empty, "-config", cfg, "-out", out()}, "no PNG or JPEG images in " + empty},
		{[]string{"-data", broken, "-config", cfg, "-out", out()}, "x.png"},
		{[]string{"-data", data, "-config", badCfg, "-out", out()}, `"act_fn": unsupported value "gelu"`},
		{[]string{"-data", data, "-config", notJSON, "-out", out()}, "not a JSON object"},
		{[]string{"-data", data, "-config", filepath.Join(empty, "none.json"), "-out", out()}, "none.json"},
		{[]string{"-data", data, "-init", empty, "-out", out()}, "no model_index.json or config.json"},
		{[]string{"-data", data, "-config", cfg, "-out", out(), "-batch", "0"}, "batch 0"},
		{[]string{"-data", data, "-config", cfg, "-out", out(), "-holdout", "1.5"}, "holdout fraction 1.5"},
	} {
		_, _, err := runCLI(false, append([]string{"train"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("train %v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"-data", data}, "-model is required"},
		{[]string{"-model", empty, "-data", data}, "no model_index.json or config.json"},
	} {
		_, _, err := runCLI(false, append([]string{"eval"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("eval %v: %v, want an error containing %q", c.args, err, c.want)
		}
	}
}

func TestTrainHelp(t *testing.T) {
	for _, cmd := range []string{"train", "eval"} {
		stdout, _, err := runCLI(false, cmd, "-h")
		if err != nil || !strings.Contains(stdout, "usage: chrysalis "+cmd) || !strings.Contains(stdout, "-data") {
			t.Errorf("%s -h: error %v, output %q", cmd, err, stdout)
		}
	}
}

// -epsilon-loss trains a v_prediction model a step, and is refused, by name,
// for a model that predicts epsilon already.
func TestTrainEpsilonLoss(t *testing.T) {
	data, cfg := imageFolder(t, 2), smallConfigJSON(t)
	if _, stderr, err := runCLI(false, "train", "-data", data, "-config", cfg, "-out", filepath.Join(t.TempDir(), "run"),
		"-epochs", "1", "-batch", "2", "-sample-every", "0", "-epsilon-loss"); err != nil {
		t.Fatalf("train -epsilon-loss: %v\n%s", err, stderr)
	}
	_, _, err := runCLI(false, "train", "-data", data, "-init", tinyFolder(t, nil), "-out", filepath.Join(t.TempDir(), "run"), "-epsilon-loss")
	if err == nil || !strings.Contains(err.Error(), "the epsilon loss is for v_prediction models; this one's prediction_type is epsilon") {
		t.Errorf("train -epsilon-loss of an epsilon model: %v", err)
	}
}

package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
)

func TestSplit(t *testing.T) {
	for _, tc := range []struct {
		batch, n int
		want     [][2]int
	}{
		{1, 1, [][2]int{{0, 1}}},
		{4, 2, [][2]int{{0, 2}, {2, 2}}},
		{5, 2, [][2]int{{0, 3}, {3, 2}}},
		{2, 8, [][2]int{{0, 1}, {1, 1}}},
		{7, 3, [][2]int{{0, 3}, {3, 2}, {5, 2}}},
		{3, 0, [][2]int{{0, 3}}},
	} {
		if got := Split(tc.batch, tc.n); !slices.Equal(got, tc.want) {
			t.Errorf("Split(%d, %d) = %v, want %v", tc.batch, tc.n, got, tc.want)
		}
	}
}

// modelFiles reads the shipped default model's folder beside the repository
// (static/models/butterflies-32) as the page would send it.
func modelFiles(t testing.TB) map[string][]byte {
	t.Helper()
	model := golden.Model(t, "butterflies-32")
	files := map[string][]byte{}
	for _, name := range []string{"config.json", "scheduler_config.json", "diffusion_pytorch_model.safetensors"} {
		data, err := os.ReadFile(filepath.Join(model, name))
		if err != nil {
			t.Fatal(err)
		}
		files[name] = data
	}
	return files
}

// Two workers sampling images [0,1) and [1,2) give the bits of one worker
// sampling [0,2), and both give the bits of one batched pipeline run (the
// engine runs each image at batch 1): the final frames (the last x_t) are
// equal exactly.
func TestSplitRunIsBitIdentical(t *testing.T) {
	e, err := Load(modelFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	final := func(j Job) [][]float32 {
		var out [][]float32
		var frames int
		err := e.Run(context.Background(), j, func(image int, f pipeline.Frame) {
			if want := j.First + frames%j.Count; image != want {
				t.Fatalf("frame %d is of image %d, want %d (images take turns)", frames, image, want)
			}
			frames++
			if f.Index == f.Steps-1 {
				out = append(out, slices.Clone(f.Sample.Data))
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if frames != j.Steps*j.Count {
			t.Fatalf("%d frames for %d images of %d steps", frames, j.Count, j.Steps)
		}
		return out
	}
	job := Job{RunID: 1, Scheduler: "dpm++2m", Steps: 2, Seed: 11, Count: 2}
	whole := final(job)
	first := final(Job{RunID: 1, Scheduler: "dpm++2m", Steps: 2, Seed: 11, First: 0, Count: 1})
	second := final(Job{RunID: 1, Scheduler: "dpm++2m", Steps: 2, Seed: 11, First: 1, Count: 1})
	if !slices.Equal(whole[0], first[0]) || !slices.Equal(whole[1], second[0]) {
		t.Error("a split batch differs from the whole batch")
	}
	sched, err := scheduler.FromConfig(e.ckpt.SchedulerConfig, scheduler.DPM, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	p := &pipeline.Pipeline{UNet: e.ckpt.UNet, Scheduler: sched}
	batched, err := p.Sample(context.Background(), pipeline.Options{Steps: 2, Seed: 11, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	per := len(batched.Data) / 2
	for k := range 2 {
		if !slices.Equal(whole[k], batched.Data[k*per:(k+1)*per]) {
			t.Errorf("image %d differs from the batched pipeline's", k)
		}
	}
	if slices.Equal(whole[0], whole[1]) {
		t.Error("images 0 and 1 are the same")
	}
}

func TestRunErrors(t *testing.T) {
	e, err := Load(modelFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := e.Run(ctx, Job{Scheduler: "ddim", Steps: 3, Count: 1}, nil); err != context.Canceled {
		t.Errorf("a cancelled run returned %v", err)
	}
	for _, tc := range []struct {
		job  Job
		want string
	}{
		{Job{Scheduler: "heun", Steps: 3, Count: 1}, `unknown scheduler "heun"`},
		{Job{Scheduler: "euler", Steps: 3, Count: 1, Eta: 0.5}, "eta applies only to DDIMScheduler"},
	} {
		if err := e.Run(context.Background(), tc.job, nil); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Run(%+v) = %v, want an error with %q", tc.job, err, tc.want)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	files := modelFiles(t)
	files["config.json"] = []byte(`{"act_fn": "gelu"}`)
	if _, err := Load(files); err == nil || !strings.Contains(err.Error(), "act_fn") {
		t.Errorf("bad config: %v", err)
	}
	files = modelFiles(t)
	delete(files, "diffusion_pytorch_model.safetensors")
	if _, err := Load(files); err == nil {
		t.Error("no weights: no error")
	}
}

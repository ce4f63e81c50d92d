package engine

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/tensor"
	"chrysalis/core/train"
)

// trainBatch is n deterministic images in [-1, 1] for the model, NCHW.
func trainBatch(e *Engine, n int) []float32 {
	s := e.ImageShape()
	b := make([]float32, n*s[0]*s[1]*s[2])
	for i := range b {
		b[i] = float32((i*37)%200)/100 - 1
	}
	return b
}

func finalSample(t *testing.T, e *Engine) []float32 {
	t.Helper()
	var out []float32
	err := e.Run(context.Background(), Job{Scheduler: "ddim", Steps: 1, Seed: 5, Count: 1}, func(_ int, f pipeline.Frame) {
		out = slices.Clone(f.Sample.Data)
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestTrainSession fine-tunes the default model for a step through the
// engine and checks it against core/train's FineTune on the same batch (the
// same bits), then that a run samples from the fine-tuned weights, that the
// exported files load with them, that after this step and a second one a run
// samples what an engine loaded from the exported files does (no run reuses
// weights packed before a step), and that a reset brings the loaded weights
// back.
func TestTrainSession(t *testing.T) {
	files := modelFiles(t)
	e, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	before := finalSample(t, e)
	o := train.DefaultFineTuneOptions()
	o.Seed = 9
	if err := e.TrainStart(o); err != nil {
		t.Fatal(err)
	}
	batch := trainBatch(e, 2)
	r, err := e.TrainStep(batch)
	if err != nil {
		t.Fatal(err)
	}

	ref, err := Load(files)
	if err != nil {
		t.Fatal(err)
	}
	ft, err := train.NewFineTune(ref.ckpt.UNet, ref.ckpt.SchedulerConfig, o)
	if err != nil {
		t.Fatal(err)
	}
	s := e.ImageShape()
	per := len(batch) / 2
	want, err := ft.Step([]*tensor.Tensor{tensor.From(batch[:per], s...), tensor.From(batch[per:], s...)})
	if err != nil {
		t.Fatal(err)
	}
	if r.Loss != want.Loss || r.Step != 1 {
		t.Fatalf("loss %v at step %d, core/train's %v", r.Loss, r.Step, want.Loss)
	}
	got := e.unetModel().Parameters()
	for i, p := range ft.Model().Parameters() {
		if !slices.Equal(p.Tensor.Data, got[i].Tensor.Data) {
			t.Fatalf("%s differs from core/train's", p.Name)
		}
	}
	arrays := StepArrays(r)
	for _, name := range []string{"x0", "noise", "xt", "prediction", "target", "x0hat"} {
		if len(arrays[name]) != len(batch) {
			t.Errorf("%s: %d values, want %d", name, len(arrays[name]), len(batch))
		}
	}
	t.Logf("step 1: loss %.5f (t = %d, %d), bit-identical to core/train", r.Loss, r.Images[0].T, r.Images[1].T)

	tuned := finalSample(t, e)
	if slices.Equal(tuned, before) {
		t.Error("a run after a training step samples the loaded weights")
	}
	out, err := e.TrainFiles()
	if err != nil {
		t.Fatal(err)
	}
	fsys := fstest.MapFS{}
	for name, b := range out {
		fsys[name] = &fstest.MapFile{Data: b}
	}
	ck, err := checkpoint.Load(fsys)
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range ck.UNet.Parameters() {
		if !slices.Equal(p.Tensor.Data, got[i].Tensor.Data) {
			t.Fatalf("exported %s differs", p.Name)
		}
	}
	for step := 1; ; step++ {
		fresh, err := Load(out)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(tuned, finalSample(t, fresh)) {
			t.Errorf("after step %d a run differs from one on the exported weights", step)
		}
		if step == 2 {
			break
		}
		if _, err := e.TrainStep(batch); err != nil {
			t.Fatal(err)
		}
		prev := tuned
		if tuned = finalSample(t, e); slices.Equal(tuned, prev) {
			t.Fatal("step 2 changed no sample")
		}
		if out, err = e.TrainFiles(); err != nil {
			t.Fatal(err)
		}
	}
	e.TrainReset()
	if !slices.Equal(finalSample(t, e), before) {
		t.Error("after a reset a run does not sample the loaded weights")
	}
}

func TestTrainErrors(t *testing.T) {
	e, err := Load(modelFiles(t))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.TrainStep(trainBatch(e, 1)); err == nil || !strings.Contains(err.Error(), "train-start") {
		t.Errorf("a step before train-start: %v", err)
	}
	if _, err := e.TrainFiles(); err == nil {
		t.Error("export before train-start: no error")
	}
	if err := e.TrainStart(TrainOptions{LR: -1}); err == nil {
		t.Error("negative learning rate: no error")
	}
	if err := e.TrainStart(train.DefaultFineTuneOptions()); err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]float32{nil, trainBatch(e, 1)[1:]} {
		if _, err := e.TrainStep(b); err == nil || !strings.Contains(err.Error(), "whole number") {
			t.Errorf("%d values: %v", len(b), err)
		}
	}
}

// BenchmarkTrainStep is one fine-tuning step of the default model
// (butterflies-32) at batch 4.
func BenchmarkTrainStep(b *testing.B) {
	files := modelFiles(b)
	e, err := Load(files)
	if err != nil {
		b.Fatal(err)
	}
	if err := e.TrainStart(train.DefaultFineTuneOptions()); err != nil {
		b.Fatal(err)
	}
	batch := trainBatch(e, 4)
	for b.Loop() {
		if _, err := e.TrainStep(batch); err != nil {
			b.Fatal(err)
		}
	}
}

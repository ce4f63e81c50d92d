package sampleview

import (
	"strings"
	"testing"
)

func testRun() Run {
	return Run{Batch: 2, Channels: 1, Height: 1, Width: 2, Steps: 3,
		Timesteps: []float32{900, 500, 100}, AlphasCumprod: []float32{0.9, 0.5, 0.1}}
}

func frame(step int, t float64, image int, v float32) Frame {
	return Frame{Step: step, Steps: 3, T: t, Image: image, XT: []float32{v, v}, X0: []float32{-v, -v}}
}

// TestViewRun drives a view through a run: stale run ids are ignored, the
// step counter follows the furthest image, late frames do not overwrite
// newer pixels, and after "cancel" the last frames stay.
func TestViewRun(t *testing.T) {
	var v View
	if got := v.Caption(); got != "press Run to sample" {
		t.Errorf("idle caption %q", got)
	}
	steps := []struct {
		m       Message
		status  Status
		caption string
		xt0     byte // R of image 0's first x_t pixel
		changed bool // whether Version moves
	}{
		{Message{Kind: "run", RunID: "1", Run: testRun()}, Running, "step 0/3", 0, true},
		{Message{Kind: "frame", RunID: "0", Frame: frame(0, 900, 0, 1)}, Running, "step 0/3", 0, false}, // stale run
		{Message{Kind: "frame", RunID: "1", Frame: frame(0, 900, 0, -1)}, Running, "step 1/3 · t=900", 0, true},
		{Message{Kind: "frame", RunID: "1", Frame: frame(1, 500, 1, 0)}, Running, "step 2/3 · t=500", 0, true},
		{Message{Kind: "frame", RunID: "1", Frame: frame(1, 500, 0, 1)}, Running, "step 2/3 · t=500", 255, true},
		{Message{Kind: "frame", RunID: "1", Frame: frame(0, 900, 0, -1)}, Running, "step 2/3 · t=500", 255, false}, // late
		{Message{Kind: "done", RunID: "0"}, Running, "step 2/3 · t=500", 255, false},
		{Message{Kind: "cancel", RunID: "1"}, Cancelled, "step 2/3 · t=500", 255, true},
		{Message{Kind: "frame", RunID: "1", Frame: frame(2, 100, 0, 0)}, Cancelled, "step 2/3 · t=500", 255, false},
		// Scrubbing the stopped run back to step 1: an older frame is shown now.
		{Message{Kind: "scrub", RunID: "1", Frame: frame(0, 900, 0, -1)}, Cancelled, "step 1/3 · t=900", 0, true},
		{Message{Kind: "scrub", RunID: "0", Frame: frame(1, 500, 0, 1)}, Cancelled, "step 1/3 · t=900", 0, false}, // stale run
		{Message{Kind: "run", RunID: "2", Run: testRun()}, Running, "step 0/3", 0, true},
		{Message{Kind: "frame", RunID: "2", Frame: frame(2, 887.777, 1, 0.5)}, Running, "step 3/3 · t=887.78", 0, true},
		{Message{Kind: "scrub", RunID: "2", Frame: frame(0, 900, 0, 1)}, Running, "step 3/3 · t=887.78", 0, false}, // not while running
		{Message{Kind: "done", RunID: "2"}, Done, "step 3/3 · t=887.78", 0, true},
	}
	for i, s := range steps {
		before := v.Version
		if err := v.Apply(s.m); err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		var xt0 byte
		if v.XT != nil && v.XT[0] != nil {
			xt0 = v.XT[0][0]
		}
		if v.Status != s.status || v.Caption() != s.caption || xt0 != s.xt0 {
			t.Errorf("message %d: status %d caption %q x_t[0] %d, want %d %q %d", i, v.Status, v.Caption(), xt0, s.status, s.caption, s.xt0)
		}
		if changed := v.Version != before; changed != s.changed {
			t.Errorf("message %d: version %d -> %d", i, before, v.Version)
		}
	}
	if v.X0[1][0] != Pixel(-0.5) || v.X0[1][3] != 255 {
		t.Errorf("image 1 x0 pixel %v, want R=%d A=255", v.X0[1][:4], Pixel(-0.5))
	}
	if v.X0[0] != nil {
		t.Errorf("image 0 of run 2 has pixels before its first frame")
	}
	if v.Badge() != "done" {
		t.Errorf("badge %q, want done", v.Badge())
	}
}

// TestViewBadMessages: every malformed message is an error and changes nothing.
func TestViewBadMessages(t *testing.T) {
	bad := func(edit func(*Run)) Message {
		r := testRun()
		edit(&r)
		return Message{Kind: "run", RunID: "9", Run: r}
	}
	badFrame := func(edit func(*Frame)) Message {
		f := frame(0, 900, 0, 0)
		edit(&f)
		return Message{Kind: "frame", RunID: "1", Frame: f}
	}
	for _, tc := range []struct {
		name string
		m    Message
	}{
		{"unknown kind", Message{Kind: "pause", RunID: "1"}},
		{"batch 0", bad(func(r *Run) { r.Batch = 0 })},
		{"batch 17", bad(func(r *Run) { r.Batch = 17 })},
		{"2 channels", bad(func(r *Run) { r.Channels = 2 })},
		{"width 0", bad(func(r *Run) { r.Width = 0 })},
		{"height 2000", bad(func(r *Run) { r.Height = 2000 })},
		{"timesteps", bad(func(r *Run) { r.Timesteps = r.Timesteps[:2] })},
		{"no alphas", bad(func(r *Run) { r.AlphasCumprod = nil })},
		{"alpha 1.5", bad(func(r *Run) { r.AlphasCumprod[1] = 1.5 })},
		{"step 3", badFrame(func(f *Frame) { f.Step = 3 })},
		{"steps 4", badFrame(func(f *Frame) { f.Steps = 4 })},
		{"image 2", badFrame(func(f *Frame) { f.Image = 2 })},
		{"image -1", badFrame(func(f *Frame) { f.Image = -1 })},
		{"short x0", badFrame(func(f *Frame) { f.X0 = f.X0[:1] })},
		{"long xt", badFrame(func(f *Frame) { f.XT = append(f.XT, 0) })},
	} {
		var v View
		if err := v.Apply(Message{Kind: "run", RunID: "1", Run: testRun()}); err != nil {
			t.Fatal(err)
		}
		version := v.Version
		err := v.Apply(tc.m)
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.HasPrefix(err.Error(), "sampleview: ") {
			t.Errorf("%s: error %q lacks the package prefix", tc.name, err)
		}
		if v.Version != version || v.RunID != "1" || v.Step != -1 || v.XT[0] != nil {
			t.Errorf("%s: the view changed", tc.name)
		}
	}
}

// A preview shows the starting noise before any run and never replaces a run.
func TestViewPreview(t *testing.T) {
	var v View
	noise := [][]float32{{-1, 1}, {0, 1}}
	if err := v.Apply(Message{Kind: "preview", RunID: "0", Run: testRun(), Seed: 42, Noise: noise}); err != nil {
		t.Fatal(err)
	}
	if v.Status != Preview || v.XT[0][0] != 0 || v.XT[0][4] != 255 || v.X0[0] != nil || v.Step != -1 {
		t.Fatalf("preview: %+v", v)
	}
	if got := v.Caption(); got != "x_T of seed 42: the noise that Run starts from" {
		t.Errorf("caption %q", got)
	}
	if err := v.Apply(Message{Kind: "preview", RunID: "0", Run: testRun(), Noise: noise[:1]}); err == nil {
		t.Error("a preview with one noise image for batch 2: no error")
	}
	if err := v.Apply(Message{Kind: "run", RunID: "1", Run: testRun()}); err != nil {
		t.Fatal(err)
	}
	if err := v.Apply(Message{Kind: "preview", RunID: "0", Run: testRun(), Seed: 7, Noise: noise}); err != nil || v.Status != Running || v.Seed != 0 {
		t.Errorf("a preview during a run changed the view: %v, %+v", err, v)
	}
}

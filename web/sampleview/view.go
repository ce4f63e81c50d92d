package sampleview

import (
	"fmt"
	"math"
	"strconv"
)

// Limits of a run the viewer accepts.
const (
	MaxBatch     = 16
	MaxImageSide = 1024
)

// Status is where the current run stands.
type Status int

const (
	Idle      Status = iota // no run yet
	Running                 // frames are arriving
	Done                    // the run finished; its final frames stay
	Cancelled               // the run was stopped; its last frames stay
	Preview                 // no run yet: the noise x_T that a run with these settings starts from
)

// Run describes a new run (protocol message kind "run").
type Run struct {
	Batch, Channels, Height, Width, Steps int
	Timesteps                             []float32 // (Steps), the scheduler's timesteps
	AlphasCumprod                         []float32 // (num_train_timesteps), ᾱ
}

// Frame is one step of one image (protocol message kind "frame").
type Frame struct {
	Step, Steps int       // Step is 0-based, in [0, Steps)
	T           float64   // the timestep of this step
	Image       int       // 0-based index in the batch
	XT, X0      []float32 // (C,H,W) in model space: the sample x_t and the predicted x0
}

// Message is one decoded message of the page's protocol. Kind is "run",
// "frame", "scrub" (a frame of a finished run, shown whatever its step),
// "done", "cancel" or "preview"; Run is set for "run" and
// "preview", Frame for "frame" and "scrub", and Seed and Noise for "preview".
type Message struct {
	Kind  string
	RunID string
	Run   Run
	Frame Frame
	// A preview shows, before any run, the run that these settings would
	// make: Noise[i] is image i's starting noise x_T (C,H,W) of seed Seed.
	Seed  uint64
	Noise [][]float32
}

// View is what the viewer shows: the current run and, per image, the
// RGBA pixels (H,W,4) of its latest x_t and predicted x0.
type View struct {
	Status Status
	RunID  string
	Run    Run
	Step   int      // the furthest step any image has reached, -1 before the first frame
	T      float64  // the timestep of that step
	XT, X0 [][]byte // per image; nil until its first frame (X0 stays nil in a preview)
	Seed   uint64   // of a preview

	// Version changes whenever anything above does, so that a drawer can
	// tell when to upload pixels again.
	Version int

	imageStep []int // the step of each image's pixels
}

// Apply updates the view with one message. A message about a run other than
// the current one is ignored; so are frames after "done" or "cancel", and a
// preview once a run has started. A malformed message gives an error and
// leaves the view as it was.
func (v *View) Apply(m Message) error {
	switch m.Kind {
	case "run":
		return v.start(m.RunID, m.Run)
	case "preview":
		if v.Status != Idle && v.Status != Preview {
			return nil
		}
		return v.preview(m)
	case "frame":
		if m.RunID != v.RunID || v.Status != Running {
			return nil
		}
		return v.add(m.Frame, false)
	case "scrub":
		if m.RunID != v.RunID || v.Status != Done && v.Status != Cancelled {
			return nil
		}
		return v.add(m.Frame, true)
	case "done", "cancel":
		if m.RunID != v.RunID || v.Status != Running {
			return nil
		}
		v.Status = Done
		if m.Kind == "cancel" {
			v.Status = Cancelled
		}
		v.Version++
		return nil
	}
	return fmt.Errorf("sampleview: message kind %q: want run, frame, scrub, done, cancel or preview", m.Kind)
}

func (v *View) start(id string, r Run) error {
	if err := check(id, r); err != nil {
		return err
	}
	*v = View{
		Status:    Running,
		RunID:     id,
		Run:       r,
		Step:      -1,
		XT:        make([][]byte, r.Batch),
		X0:        make([][]byte, r.Batch),
		Version:   v.Version + 1,
		imageStep: make([]int, r.Batch),
	}
	for i := range v.imageStep {
		v.imageStep[i] = -1
	}
	return nil
}

func (v *View) preview(m Message) error {
	r := m.Run
	if err := check(m.RunID, r); err != nil {
		return err
	}
	if len(m.Noise) != r.Batch {
		return fmt.Errorf("sampleview: preview: %d noise images for batch %d", len(m.Noise), r.Batch)
	}
	xt := make([][]byte, r.Batch)
	for i, x := range m.Noise {
		xt[i] = make([]byte, 4*r.Height*r.Width)
		if err := ToRGBA(xt[i], x, r.Channels, r.Height, r.Width); err != nil {
			return fmt.Errorf("sampleview: preview: noise of image %d: %w", i, err)
		}
	}
	*v = View{Status: Preview, RunID: m.RunID, Run: r, Step: -1, XT: xt, X0: make([][]byte, r.Batch), Seed: m.Seed, Version: v.Version + 1}
	return nil
}

// check validates a run's (or a preview's) description.
func check(id string, r Run) error {
	switch {
	case r.Batch < 1 || r.Batch > MaxBatch:
		return fmt.Errorf("sampleview: run %q: batch %d: want 1 to %d", id, r.Batch, MaxBatch)
	case r.Channels != 1 && r.Channels != 3:
		return fmt.Errorf("sampleview: run %q: channels %d: want 1 or 3", id, r.Channels)
	case r.Height < 1 || r.Height > MaxImageSide || r.Width < 1 || r.Width > MaxImageSide:
		return fmt.Errorf("sampleview: run %q: image %dx%d: want sides 1 to %d", id, r.Width, r.Height, MaxImageSide)
	case r.Steps < 1 || len(r.Timesteps) != r.Steps:
		return fmt.Errorf("sampleview: run %q: steps %d with %d timesteps: want steps >= 1 timesteps", id, r.Steps, len(r.Timesteps))
	case len(r.AlphasCumprod) < 1:
		return fmt.Errorf("sampleview: run %q: empty alphasCumprod", id)
	}
	for t, a := range r.AlphasCumprod {
		if !(a >= 0 && a <= 1) {
			return fmt.Errorf("sampleview: run %q: alphasCumprod[%d] = %v: want a value in [0, 1]", id, t, a)
		}
	}
	return nil
}

// add shows frame f of its image. During a run a frame older than the
// image's latest is dropped; a scrub (after the run) shows any step, and the
// view's step becomes its.
func (v *View) add(f Frame, scrub bool) error {
	r := v.Run
	switch {
	case f.Steps != r.Steps || f.Step < 0 || f.Step >= r.Steps:
		return fmt.Errorf("sampleview: run %q: frame step %d of %d: want a step in [0, %d)", v.RunID, f.Step, f.Steps, r.Steps)
	case f.Image < 0 || f.Image >= r.Batch:
		return fmt.Errorf("sampleview: run %q: frame image %d: want an index in [0, %d)", v.RunID, f.Image, r.Batch)
	case math.IsNaN(f.T) || math.IsInf(f.T, 0):
		return fmt.Errorf("sampleview: run %q: frame t = %v: want a finite timestep", v.RunID, f.T)
	case len(f.XT) != r.Channels*r.Height*r.Width || len(f.X0) != len(f.XT):
		return fmt.Errorf("sampleview: run %q: frame of image %d with %d xt and %d x0 values: want C*H*W = %d each",
			v.RunID, f.Image, len(f.XT), len(f.X0), r.Channels*r.Height*r.Width)
	}
	if f.Step < v.imageStep[f.Image] && !scrub {
		return nil // an older frame of this image arrived late
	}
	xt, x0 := v.XT[f.Image], v.X0[f.Image]
	if xt == nil {
		xt, x0 = make([]byte, 4*r.Height*r.Width), make([]byte, 4*r.Height*r.Width)
	}
	if err := ToRGBA(xt, f.XT, r.Channels, r.Height, r.Width); err != nil {
		return fmt.Errorf("sampleview: run %q: frame xt of image %d: %w", v.RunID, f.Image, err)
	}
	if err := ToRGBA(x0, f.X0, r.Channels, r.Height, r.Width); err != nil {
		return fmt.Errorf("sampleview: run %q: frame x0 of image %d: %w", v.RunID, f.Image, err)
	}
	v.XT[f.Image], v.X0[f.Image] = xt, x0
	v.imageStep[f.Image] = f.Step
	if f.Step >= v.Step || scrub {
		v.Step, v.T = f.Step, f.T
	}
	v.Version++
	return nil
}

// Caption is the status line: "press Run to sample" before any run (with
// "x_T of seed 42: the noise that Run starts from" when previewing),
// "step 0/10" before a run's first frame, then "step 7/10 · t=300" with the
// step counted from 1.
func (v *View) Caption() string {
	switch {
	case v.Status == Idle:
		return "press Run to sample"
	case v.Status == Preview:
		return fmt.Sprintf("x_T of seed %d: the noise that Run starts from", v.Seed)
	case v.Step < 0:
		return fmt.Sprintf("step 0/%d", v.Run.Steps)
	}
	return fmt.Sprintf("step %d/%d · t=%s", v.Step+1, v.Run.Steps, formatT(v.T))
}

// Badge is a word for the run's state: "sampling", "done" or "stopped"
// ("" when idle, "press Run" in a preview).
func (v *View) Badge() string {
	return [...]string{Idle: "", Running: "sampling", Done: "done", Cancelled: "stopped", Preview: "press Run"}[v.Status]
}

// formatT writes a timestep with at most two decimals: 300, 287.5, 887.78.
func formatT(t float64) string {
	return strconv.FormatFloat(math.Round(t*100)/100, 'f', -1, 64)
}

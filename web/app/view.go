package app

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/vugu/vugu"
	"github.com/vugu/vugu/js"

	"chrysalis/web/settings"
	"chrysalis/web/weights"
)

// The page's parts are Vugu components: page.vugu holds notices.vugu,
// controls.vugu, status.vugu and embed-box.vugu, and `go generate` (vugugen)
// turns them into 0_components_gen.go. Each component reads the State that
// the runner's goroutine owns and builds while it owns it; its DOM event
// handlers run in browser callbacks, so they only Post a message and return.
//
// The DOM is patched by position, so a part that comes and goes sits at the
// end of a wrapper that is always there: the controls are never rebuilt, and
// so never lose the focus, because a notice appeared above them.

//go:generate go tool vugugen -s -skip-go-mod -skip-main .
//go:generate gofmt -w 0_components_gen.go

// Page is the root component, <div id="app">: the notices, the settings
// form, the run and model status, and the embed code once asked for.
type Page struct {
	State *State
	// Post queues a message for the goroutine that owns State; it never blocks.
	Post func(msg any)
	// Inputs keeps the controls' values in step with State.
	Inputs Inputs
}

// Notices shows what stops the page or a run, and the URL parameters that
// were changed or refused.
type Notices struct {
	State *State
}

// Controls is the settings form with Run/Stop, Download PNG and Copy embed code.
type Controls struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs
}

// Status shows the latest run (progress, phase, speed) and, after it, the
// slider that steps the viewer through the run's kept frames.
type Status struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs
}

func (s *State) scrubValue() string { return strconv.Itoa(s.Run.Scrub) }

// scrubLabel is "Step 12 of 25: scrub back through the run".
func (s *State) scrubLabel() string {
	steps := s.scrubSteps()
	return fmt.Sprintf("Step %d of %d: step back through the run", steps[min(s.Run.Scrub, len(steps)-1)]+1, s.Run.Settings.Steps)
}

// LoadStatus shows the model's loading, under every view.
type LoadStatus struct {
	State *State
}

// LessonEmbed is a lesson view's "Copy embed code" button, with the code
// for that view and its settings under it once copied.
type LessonEmbed struct {
	State  *State
	Post   func(msg any)
	Inputs *Inputs
}

// EmbedBox shows the embed code of the current settings.
type EmbedBox struct {
	State  *State
	Inputs *Inputs
}

// Inputs brings the value property of the form's controls to the state's
// values without undoing what a person is typing: a render sets a control's
// value only when it differs and the control does not have the focus, or
// when the state's value itself changed, or when the person has just
// committed the control (a clamped or refused value then shows at once).
type Inputs struct {
	shown map[string]string // the value that each control's last render asked for
	// Committed is the id of the control whose change event the runner
	// handled since the last render.
	Committed string
}

// sync is called for element el (id) after each render of it.
func (in *Inputs) sync(el js.Value, id, want string) {
	if in.shown == nil {
		in.shown = map[string]string{}
	}
	prev, seen := in.shown[id]
	in.shown[id] = want
	if el.Get("value").String() == want {
		return
	}
	focused := el.Call("matches", ":focus").Bool()
	if focused && seen && prev == want && in.Committed != id {
		return
	}
	el.Set("value", want)
}

// setText makes el's text s, leaving its text node as it is when it already
// reads s. vg-content would set innerHTML at every render: a click on a
// button whose text node is replaced between mousedown and mouseup is lost,
// and a live region whose text is replaced may be read out again.
func setText(el js.Value, s string) {
	if el.Get("textContent").String() != s {
		el.Set("textContent", s)
	}
}

// CommittedControl is the id of the control whose change produced msg, or "".
func CommittedControl(msg any) string {
	switch msg.(type) {
	case SetModel:
		return "model"
	case SetScheduler:
		return "scheduler"
	case SetSteps:
		return "steps"
	case SetBatch:
		return "batch"
	case SetSeed, RandomSeed:
		return "seed"
	case SetEta:
		return "eta"
	}
	return ""
}

// What the markup needs of package settings (a .vugu file imports nothing).
var schedulers = settings.Schedulers

const (
	minSteps, maxSteps = settings.MinSteps, settings.MaxSteps
	minBatch, maxBatch = settings.MinBatch, settings.MaxBatch
	maxSeed            = uint64(settings.MaxSeed)
)

// targetValue is the value of the element an event fired on.
func targetValue(e vugu.DOMEvent) string { return e.PropString("target", "value") }

func (c *Controls) submit(e vugu.DOMEvent) {
	e.PreventDefault()
	c.Post(ToggleRun{})
}

func (c *Controls) randomSeed() { c.Post(RandomSeed(rand.Uint64N(settings.MaxSeed + 1))) }

// models is the model menu's entries, empty until the model list is read.
func (s *State) models() []weights.Model {
	if s.Index == nil {
		return nil
	}
	return s.Index.Models
}

// modelNote is the provenance line of the selected model.
func (s *State) modelNote() string {
	if m, ok := s.model(s.Settings.Model); ok {
		return m.Note
	}
	return ""
}

func (s *State) stepsValue() string { return strconv.Itoa(s.Settings.Steps) }
func (s *State) batchValue() string { return strconv.Itoa(s.Settings.Batch) }
func (s *State) seedValue() string  { return strconv.FormatUint(s.Settings.Seed, 10) }
func (s *State) etaValue() string   { return settings.FormatEta(s.Settings.Eta) }

// etaOff: η only means something to DDIM.
func (s *State) etaOff() bool { return s.Settings.Scheduler != "ddim" }

// runLabel is the Run/Stop button's text.
func (s *State) runLabel() string {
	switch {
	case s.Run.Phase == Running:
		return "Stop"
	case s.RunWhenReady:
		return "Run (waiting for the model…)"
	}
	return "Run"
}

// runStatus is the run's status line and, while it runs or when it was
// stopped, the line under it ("" when none).
func (s *State) runStatus() (status, detail string) {
	r := s.Run
	switch r.Phase {
	case Idle:
		status = "Press Run to turn noise into images."
	case Running:
		status = fmt.Sprintf("Sampling %d image%s with %s on %d worker%s…", r.Settings.Batch, plural(r.Settings.Batch),
			schedulerLabel(r.Settings.Scheduler), r.Workers, plural(r.Workers))
		detail = progressText(r)
	case Done:
		status = fmt.Sprintf("Done: %d image%s, %d steps, in %s.", r.Settings.Batch, plural(r.Settings.Batch), r.Settings.Steps, seconds(r.Elapsed))
	case Stopped:
		status = r.Note
		detail = fmt.Sprintf("Step %d of %d when stopped.", r.Frames/max(r.Settings.Batch, 1), r.Settings.Steps)
	case Failed:
		status = "The run failed (see above)."
	}
	return status, detail
}

func (s *State) statusText() string { t, _ := s.runStatus(); return t }
func (s *State) rateText() string   { _, d := s.runStatus(); return d }

// workerMemory is each worker's wasm memory after the run, in bytes, comma-separated.
func (s *State) workerMemory() string {
	mem := make([]string, len(s.Run.Memory))
	for i, b := range s.Run.Memory {
		mem[i] = strconv.FormatInt(b, 10)
	}
	return strings.Join(mem, ",")
}

// progressText is "Step 12 of 25 · 3.4 steps/s · about 4 s left".
func progressText(r Run) string {
	steps := float64(r.Frames) / float64(max(r.Settings.Batch, 1))
	text := fmt.Sprintf("Step %d of %d", int(steps), r.Settings.Steps)
	if r.Frames == 0 || r.Elapsed <= 0 {
		return text
	}
	rate := steps / r.Elapsed.Seconds()
	left := time.Duration((float64(r.Settings.Steps) - steps) / rate * float64(time.Second))
	return fmt.Sprintf("%s · %.1f steps/s · about %s left", text, rate, seconds(left))
}

// loadText is the model's loading line.
func (s *State) loadText() string {
	l := s.Load
	switch l.Phase {
	case Loading:
		return fmt.Sprintf("Loading the model: %s of %s.", megabytes(l.Done), megabytes(l.Total))
	case Ready:
		return "Model ready."
	}
	return "The model could not be loaded."
}

func (s *State) loadState() string { return [...]string{"loading", "ready", "failed"}[s.Load.Phase] }

func schedulerLabel(name string) string {
	if sc, ok := settings.SchedulerByName(name); ok {
		return sc.Label
	}
	return name
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func seconds(d time.Duration) string { return fmt.Sprintf("%.1f s", d.Seconds()) }

func megabytes(b int64) string { return fmt.Sprintf("%.1f MB", float64(b)/1e6) }

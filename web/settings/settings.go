package settings

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Scheduler describes one sampler the page offers. Name is the value used in
// URLs and by `chrysalis sample -scheduler`; Label is what a person reads.
type Scheduler struct {
	Name         string
	Label        string
	DefaultSteps int
}

// Schedulers lists the samplers in the order the page shows them. DDPM walks
// many small ancestral steps; DDIM, DPM-Solver++ 2M and Euler need far fewer.
var Schedulers = []Scheduler{
	{Name: "ddpm", Label: "DDPM", DefaultSteps: 200},
	{Name: "ddim", Label: "DDIM", DefaultSteps: 25},
	{Name: "dpm++2m", Label: "DPM-Solver++ 2M", DefaultSteps: 20},
	{Name: "euler", Label: "Euler", DefaultSteps: 30},
}

// Ranges of the numeric settings. MaxSeed is 2^53-1, the largest integer a
// JavaScript number (and so an <input type=number>) holds exactly.
const (
	MinSteps = 1
	MaxSteps = 1000
	MinBatch = 1
	MaxBatch = 16
	MaxSeed  = 1<<53 - 1
	MinEta   = 0.0
	MaxEta   = 1.0
	MaxT     = 999 // the last timestep of a 1000-step training schedule
	// MaxCompare is the most samplers the compare view runs.
	MaxCompare = 6
)

// Defaults of the settings that have one (the model's default is the first
// model of the index).
const (
	DefaultScheduler = "ddim"
	DefaultSeed      = 42
	DefaultBatch     = 4
	DefaultEta       = 0.0
	DefaultView      = "sample"
	DefaultT         = 500
	// DefaultCompare is the course's point in one grid: DDPM's 1000 small
	// steps against three samplers that need a few dozen or fewer.
	DefaultCompare = "ddpm:1000,ddim:25,dpm++2m:10,euler:10"
)

// Settings is one complete choice of what to sample and how to show it.
type Settings struct {
	Model     string
	Scheduler string // a Schedulers name
	Steps     int
	Seed      uint64
	Batch     int
	Eta       float64 // DDIM only; 0 is deterministic DDIM
	Autorun   bool    // start sampling as soon as the model is loaded
	Embed     bool    // compact layout for an iframe
	View      string  // a Views name: the part of the lesson the page shows
	T         int     // the forward view's timestep t
	Compare   string  // the compare view's samplers, "name:steps,…" (see ParseCompare)
}

// View is one part of the lesson the page shows (URL parameter view).
type View struct {
	Name, Label string
}

// Views lists the page's views in the order of its tabs: sampling (the
// default), the forward process x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε, samplers side by
// side, and the training step.
var Views = []View{
	{Name: "sample", Label: "Sample"},
	{Name: "forward", Label: "Add noise"},
	{Name: "compare", Label: "Compare"},
	{Name: "train", Label: "Train"},
}

// IsView says whether name is the Name of one of Views.
func IsView(name string) bool {
	for _, v := range Views {
		if v.Name == name {
			return true
		}
	}
	return false
}

// Default returns the settings of a page opened without parameters.
func Default(model string) Settings {
	s, _ := SchedulerByName(DefaultScheduler)
	return Settings{Model: model, Scheduler: s.Name, Steps: s.DefaultSteps, Seed: DefaultSeed, Batch: DefaultBatch, Eta: DefaultEta,
		View: DefaultView, T: DefaultT, Compare: DefaultCompare}
}

// SchedulerByName finds a scheduler of Schedulers by its Name.
func SchedulerByName(name string) (Scheduler, bool) {
	for _, s := range Schedulers {
		if s.Name == name {
			return s, true
		}
	}
	return Scheduler{}, false
}

// WithScheduler switches the scheduler. When the step count is still the old
// scheduler's default it follows to the new one's default, so that a person
// who never touched "steps" always gets a sensible count.
func (s Settings) WithScheduler(name string) Settings {
	next, ok := SchedulerByName(name)
	if !ok {
		return s
	}
	if old, ok := SchedulerByName(s.Scheduler); ok && s.Steps == old.DefaultSteps {
		s.Steps = next.DefaultSteps
	}
	s.Scheduler = next.Name
	return s
}

// ClampSteps, ClampBatch, ClampSeed and ClampEta bound a value to its range.
func ClampSteps(n int) int { return min(max(n, MinSteps), MaxSteps) }

// ClampBatch bounds a batch size to [MinBatch, MaxBatch].
func ClampBatch(n int) int { return min(max(n, MinBatch), MaxBatch) }

// ClampEta bounds eta to [MinEta, MaxEta]; NaN becomes the default.
func ClampEta(e float64) float64 {
	if math.IsNaN(e) {
		return DefaultEta
	}
	return min(max(e, MinEta), MaxEta)
}

// Encode writes the settings as a URL query, parameters in a fixed order.
// eta appears only for DDIM, autorun and embed only when set, view only when
// it is not the sampling view, t only in the forward view and compare only in
// the compare view when it is not the default.
func (s Settings) Encode() string {
	q := []string{
		"model=" + url.QueryEscape(s.Model),
		"scheduler=" + url.QueryEscape(s.Scheduler),
		"steps=" + strconv.Itoa(s.Steps),
		"seed=" + strconv.FormatUint(s.Seed, 10),
		"batch=" + strconv.Itoa(s.Batch),
	}
	if s.Scheduler == "ddim" {
		q = append(q, "eta="+FormatEta(s.Eta))
	}
	if s.Autorun {
		q = append(q, "autorun=1")
	}
	if s.Embed {
		q = append(q, "embed=1")
	}
	if s.View != DefaultView && s.View != "" {
		q = append(q, "view="+s.View)
	}
	if s.View == "forward" {
		q = append(q, "t="+strconv.Itoa(s.T))
	}
	if s.View == "compare" && s.Compare != DefaultCompare {
		q = append(q, "compare="+url.QueryEscape(s.Compare))
	}
	return strings.Join(q, "&")
}

// FormatEta prints eta with the fewest digits that read back the same value.
func FormatEta(e float64) string { return strconv.FormatFloat(e, 'g', -1, 64) }

// Notice says what happened to one URL parameter that was not taken as given.
type Notice struct {
	Param   string // the parameter's name as given
	Value   string // its value as given (shortened for display by String)
	Message string // what was done, e.g. "below the minimum 1; using 1"
}

// String is the notice as one line of plain text, e.g.
// `steps: "-5" is below the minimum 1; using 1`.
func (n Notice) String() string {
	return fmt.Sprintf("%s: %s %s", shorten(n.Param, 24), strconv.Quote(shorten(n.Value, 40)), n.Message)
}

func shorten(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n]) + "…"
}

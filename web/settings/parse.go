package settings

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// params are the URL parameters of the embed API, in the order they are read.
var params = []string{"model", "scheduler", "steps", "seed", "batch", "eta", "autorun", "embed", "view", "t", "compare"}

// Parse reads settings from URL parameters. models are the known model names;
// the first is the default. Each parameter is validated and clamped to its
// range; the notices name every parameter that was changed or refused, in the
// order of params, then unknown parameters in sorted order. A refused value
// falls back to the default.
func Parse(q url.Values, models []string) (Settings, []Notice) {
	var def string
	if len(models) > 0 {
		def = models[0]
	}
	s := Default(def)
	var notices []Notice
	note := func(p, v, format string, args ...any) {
		notices = append(notices, Notice{Param: p, Value: v, Message: fmt.Sprintf(format, args...)})
	}
	// get returns the first value of p and notes any repeats.
	get := func(p string) (string, bool) {
		vs, ok := q[p]
		if !ok || len(vs) == 0 {
			return "", false
		}
		if len(vs) > 1 {
			note(p, vs[1], "is a repeat of the parameter; using the first value %q", vs[0])
		}
		return strings.TrimSpace(vs[0]), true
	}

	if v, ok := get("model"); ok {
		switch {
		case slices.Contains(models, v):
			s.Model = v
		case len(models) == 0:
			note("model", v, "cannot be checked: no model list")
		default:
			note("model", v, "is not a known model (%s); using %s", strings.Join(models, ", "), def)
		}
	}

	if v, ok := get("scheduler"); ok {
		if sch, known := SchedulerByName(strings.ToLower(v)); known {
			s.Scheduler, s.Steps = sch.Name, sch.DefaultSteps
		} else {
			note("scheduler", v, "is not one of %s; using %s", schedulerNames(), s.Scheduler)
		}
	}

	// setInt reads parameter p, a whole number clamped to [lo, hi], into
	// *field, which keeps its value when p is not a number.
	setInt := func(p string, lo, hi int, field *int) {
		v, ok := get(p)
		if !ok {
			return
		}
		n, msg := parseInt(v, lo, hi)
		switch {
		case msg == notANumber:
			note(p, v, "%s; using %d", msg, *field)
		case msg != "":
			*field = n
			note(p, v, "%s; using %d", msg, n)
		default:
			*field = n
		}
	}

	setInt("steps", MinSteps, MaxSteps, &s.Steps)

	if v, ok := get("seed"); ok {
		if n, msg := parseSeed(v); msg != "" {
			if msg == notANumber {
				note("seed", v, "%s; using %d", msg, s.Seed)
			} else {
				s.Seed = n
				note("seed", v, "%s; using %d", msg, n)
			}
		} else {
			s.Seed = n
		}
	}

	setInt("batch", MinBatch, MaxBatch, &s.Batch)

	if v, ok := get("eta"); ok {
		e, err := strconv.ParseFloat(v, 64)
		switch {
		case s.Scheduler != "ddim":
			note("eta", v, "is ignored: only DDIM uses eta")
		case err != nil && !errors.Is(err, strconv.ErrRange) || e != e:
			note("eta", v, "is not a number; using %s", FormatEta(s.Eta))
		case e < MinEta || e > MaxEta:
			s.Eta = ClampEta(e)
			note("eta", v, "is outside [%s, %s]; using %s", FormatEta(MinEta), FormatEta(MaxEta), FormatEta(s.Eta))
		default:
			s.Eta = e
		}
	}

	for _, p := range []string{"autorun", "embed"} {
		v, ok := get(p)
		if !ok {
			continue
		}
		b, known := parseFlag(v)
		if !known {
			note(p, v, "is not 1 or 0; using 0")
		}
		if p == "autorun" {
			s.Autorun = b
		} else {
			s.Embed = b
		}
	}

	if v, ok := get("view"); ok {
		if name := strings.ToLower(v); IsView(name) {
			s.View = name
		} else {
			note("view", v, "is not one of %s; using %s", viewNames(), s.View)
		}
	}

	setInt("t", 0, MaxT, &s.T)

	if v, ok := get("compare"); ok {
		if runs, err := ParseCompare(v); err != nil {
			note("compare", v, "%s; using %s", err, s.Compare)
		} else {
			s.Compare = FormatCompare(runs)
		}
	}

	var unknown []string
	for p := range q {
		if !slices.Contains(params, p) {
			unknown = append(unknown, p)
		}
	}
	slices.Sort(unknown)
	for _, p := range unknown {
		note(p, q.Get(p), "is not a parameter of this page; ignored")
	}
	return s, notices
}

func schedulerNames() string {
	names := make([]string, len(Schedulers))
	for i, s := range Schedulers {
		names[i] = s.Name
	}
	return strings.Join(names, ", ")
}

func viewNames() string {
	names := make([]string, len(Views))
	for i, v := range Views {
		names[i] = v.Name
	}
	return strings.Join(names, ", ")
}

// Sampler is one entry of the compare view: a scheduler and its step count.
type Sampler struct {
	Scheduler string
	Steps     int
}

// ParseCompare reads the compare view's list, "scheduler:steps" entries
// separated by commas ("ddpm:1000,ddim:25"), 1 to MaxCompare of them, each
// scheduler a Schedulers name and each step count in [MinSteps, MaxSteps].
// The error names the entry at fault.
func ParseCompare(v string) ([]Sampler, error) {
	var out []Sampler
	for entry := range strings.SplitSeq(v, ",") {
		entry = strings.TrimSpace(entry)
		name, steps, found := strings.Cut(entry, ":")
		sch, known := SchedulerByName(strings.ToLower(strings.TrimSpace(name)))
		if !known {
			return nil, fmt.Errorf("has %q, which is not one of %s", shorten(entry, 24), schedulerNames())
		}
		n := sch.DefaultSteps
		if found {
			var msg string
			if n, msg = parseInt(strings.TrimSpace(steps), MinSteps, MaxSteps); msg != "" {
				return nil, fmt.Errorf("has %q, whose step count %s (%d to %d)", shorten(entry, 24), msg, MinSteps, MaxSteps)
			}
		}
		out = append(out, Sampler{Scheduler: sch.Name, Steps: n})
	}
	if len(out) > MaxCompare {
		return nil, fmt.Errorf("has %d samplers, more than %d", len(out), MaxCompare)
	}
	return out, nil
}

// FormatCompare writes a compare list as ParseCompare reads it.
func FormatCompare(runs []Sampler) string {
	parts := make([]string, len(runs))
	for i, r := range runs {
		parts[i] = r.Scheduler + ":" + strconv.Itoa(r.Steps)
	}
	return strings.Join(parts, ",")
}

const notANumber = "is not a whole number"

// parseInt reads a decimal integer and clamps it to [lo, hi]. msg is empty
// when v was taken as given; n is 0 when v was refused.
func parseInt(v string, lo, hi int) (n int, msg string) {
	i, err := strconv.ParseInt(v, 10, 64)
	switch {
	case errors.Is(err, strconv.ErrRange) && strings.HasPrefix(v, "-"), err == nil && i < int64(lo):
		return lo, fmt.Sprintf("is below the minimum %d", lo)
	case errors.Is(err, strconv.ErrRange), err == nil && i > int64(hi):
		return hi, fmt.Sprintf("is above the maximum %d", hi)
	case err != nil:
		return 0, notANumber
	}
	return int(i), ""
}

// parseSeed reads a seed in [0, MaxSeed], clamping whole numbers outside it.
func parseSeed(v string) (uint64, string) {
	u, err := strconv.ParseUint(v, 10, 64)
	switch {
	case err == nil && u <= MaxSeed:
		return u, ""
	case err == nil, errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(v, "-"):
		return MaxSeed, fmt.Sprintf("is above the maximum %d", uint64(MaxSeed))
	}
	if _, err := strconv.ParseInt(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		return 0, "is below the minimum 0"
	}
	return 0, notANumber
}

// parseFlag reads a boolean parameter. An empty value (`?embed`) means on.
func parseFlag(v string) (b, known bool) {
	switch strings.ToLower(v) {
	case "", "1", "true", "yes", "on":
		return true, true
	case "0", "false", "no", "off":
		return false, true
	}
	return false, false
}

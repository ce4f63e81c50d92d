package app

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"chrysalis/web/settings"
	"chrysalis/web/ui"
)

// View renders the page's controls and status from the state. The viewer
// iframe sits beside it in index.html and is not part of the view.
func View(s *State) *ui.Node {
	return ui.El("div", ui.Class("app"),
		notices(s),
		ui.El("form", ui.ID("controls"), ui.Class("controls"), ui.A("aria-label", "Sampling settings"),
			ui.OnSubmit(func(ui.Event) any { return ToggleRun{} }),
			modelField(s),
			schedulerField(s),
			numberField("steps", "Steps", strconv.Itoa(s.Settings.Steps), settings.MinSteps, settings.MaxSteps, "1",
				func(e ui.Event) any { return SetSteps(e.Value) }, false, ""),
			numberField("batch", "Batch", strconv.Itoa(s.Settings.Batch), settings.MinBatch, settings.MaxBatch, "1",
				func(e ui.Event) any { return SetBatch(e.Value) }, false, ""),
			numberField("eta", "Eta (η)", settings.FormatEta(s.Settings.Eta), settings.MinEta, settings.MaxEta, "0.05",
				func(e ui.Event) any { return SetEta(e.Value) }, s.Settings.Scheduler != "ddim", "DDIM only; 0 is deterministic"),
			seedField(s),
			actions(s),
		),
		runStatus(s),
		loadStatus(s),
		embedCode(s),
	)
}

// Conditional parts of the view sit at the end of a wrapper that is always
// there, so the DOM patcher, which matches children by position, never
// rebuilds (and takes the focus from) the controls.

func notices(s *State) *ui.Node {
	var items ui.Children
	for _, n := range s.Notices {
		items = append(items, ui.El("li", ui.Text(n)))
	}
	return ui.El("div", ui.Class("messages"),
		errorBox("page-error", s.Err),
		when(len(s.Notices) > 0, ui.El("div", ui.ID("notice"), ui.Class("notice"), ui.A("role", "status"),
			ui.El("p", ui.Text("Some URL parameters were changed or refused:")),
			ui.El("ul", items),
		)),
		when(s.Load.Phase == LoadFailed && s.Index != nil, ui.El("div", ui.ID("model-error"), ui.Class("error"), ui.A("role", "alert"),
			ui.El("p", ui.Text("The model could not be loaded: "+s.Load.Err)),
			ui.El("p", ui.Text("Choose the model again, or press Run to retry.")))),
		when(s.Run.Phase == Failed, ui.El("div", ui.ID("run-error"), ui.Class("error"), ui.A("role", "alert"),
			ui.El("p", ui.Text("The run failed: "+s.Run.Note)))),
	)
}

func errorBox(id, msg string) *ui.Node {
	if msg == "" {
		return nil
	}
	return ui.El("p", ui.ID(id), ui.Class("error"), ui.A("role", "alert"), ui.Text(msg))
}

func when(ok bool, n *ui.Node) *ui.Node {
	if !ok {
		return nil
	}
	return n
}

func field(id, label string, control *ui.Node, hint string) *ui.Node {
	var hintNode *ui.Node
	if hint != "" {
		hintNode = ui.El("small", ui.ID(id+"-hint"), ui.Class("hint"), ui.Text(hint))
	}
	return ui.El("div", ui.Class("field field-"+id),
		ui.El("label", ui.A("for", id), ui.Text(label)),
		control,
		hintNode,
	)
}

func modelField(s *State) *ui.Node {
	var opts ui.Children
	var note string
	if s.Index != nil {
		for _, m := range s.Index.Models {
			opts = append(opts, ui.El("option", ui.A("value", m.Name), ui.Bool("selected", m.Name == s.Settings.Model), ui.Text(m.Title)))
			if m.Name == s.Settings.Model {
				note = m.Note
			}
		}
	}
	sel := ui.El("select", ui.ID("model"), ui.A("aria-describedby", "model-hint"), ui.Bool("disabled", s.Index == nil),
		ui.Value(s.Settings.Model), opts, ui.On("change", func(e ui.Event) any { return SetModel(e.Value) }))
	return field("model", "Model", sel, note)
}

func schedulerField(s *State) *ui.Node {
	var opts ui.Children
	for _, sc := range settings.Schedulers {
		opts = append(opts, ui.El("option", ui.A("value", sc.Name), ui.Bool("selected", sc.Name == s.Settings.Scheduler), ui.Text(sc.Label)))
	}
	sel := ui.El("select", ui.ID("scheduler"), ui.Value(s.Settings.Scheduler), opts,
		ui.On("change", func(e ui.Event) any { return SetScheduler(e.Value) }))
	return field("scheduler", "Scheduler", sel, "")
}

func numberField[T int | float64](id, label, value string, lo, hi T, step string, msg func(ui.Event) any, disabled bool, hint string) *ui.Node {
	in := ui.El("input", ui.ID(id), ui.A("name", id), ui.A("type", "number"), ui.A("inputmode", "decimal"),
		ui.A("min", fmt.Sprint(lo)), ui.A("max", fmt.Sprint(hi)), ui.A("step", step), ui.Bool("disabled", disabled),
		ui.Value(value), ui.On("change", msg))
	if hint != "" {
		in.Attrs = append(in.Attrs, ui.A("aria-describedby", id+"-hint"))
	}
	return field(id, label, in, hint)
}

func seedField(s *State) *ui.Node {
	in := ui.El("input", ui.ID("seed"), ui.A("name", "seed"), ui.A("type", "number"), ui.A("inputmode", "numeric"),
		ui.A("min", "0"), ui.A("max", strconv.FormatUint(settings.MaxSeed, 10)), ui.A("step", "1"),
		ui.Value(strconv.FormatUint(s.Settings.Seed, 10)), ui.On("change", func(e ui.Event) any { return SetSeed(e.Value) }))
	random := ui.El("button", ui.ID("random-seed"), ui.A("type", "button"), ui.A("aria-label", "Random seed"),
		ui.On("click", func(ui.Event) any { return RandomSeed(rand.Uint64N(settings.MaxSeed + 1)) }), ui.Text("Random"))
	return field("seed", "Seed", ui.El("div", ui.Class("with-button"), in, random), "")
}

func actions(s *State) *ui.Node {
	label := "Run"
	switch {
	case s.Run.Phase == Running:
		label = "Stop"
	case s.RunWhenReady:
		label = "Run (waiting for the model…)"
	}
	run := ui.El("button", ui.ID("run"), ui.A("type", "submit"), ui.Class("primary"), ui.Bool("disabled", s.Index == nil), ui.Text(label))
	var download *ui.Node
	if s.Download.URL != "" {
		download = ui.El("a", ui.ID("download"), ui.Class("button"), ui.A("href", s.Download.URL), ui.A("download", s.Download.Name), ui.Text("Download PNG"))
	} else {
		download = ui.El("a", ui.ID("download"), ui.Class("button"), ui.A("aria-disabled", "true"), ui.A("title", "Available after a run"), ui.Text("Download PNG"))
	}
	embed := ui.El("button", ui.ID("copy-embed"), ui.A("type", "button"), ui.On("click", func(ui.Event) any { return CopyEmbed{} }), ui.Text("Copy embed code"))
	return ui.El("div", ui.Class("actions"), run, download, embed)
}

func runStatus(s *State) *ui.Node {
	r := s.Run
	var status, detail string
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
	mem := make([]string, len(r.Memory))
	for i, b := range r.Memory {
		mem[i] = strconv.FormatInt(b, 10)
	}
	return ui.El("div", ui.Class("run-status"),
		ui.El("progress", ui.ID("progress"), ui.A("max", strconv.Itoa(max(r.Total, 1))), ui.A("value", strconv.Itoa(r.Frames)),
			ui.A("aria-label", "Sampling progress")),
		ui.El("p", ui.ID("status"), ui.A("role", "status"),
			ui.A("data-phase", r.Phase.String()), ui.A("data-run", strconv.Itoa(r.ID)),
			ui.A("data-elapsed-ms", strconv.FormatInt(r.Elapsed.Milliseconds(), 10)),
			ui.A("data-workers", strconv.Itoa(r.Workers)), ui.A("data-worker-memory", strings.Join(mem, ",")),
			ui.Text(status)),
		when(detail != "", ui.El("p", ui.ID("rate"), ui.Class("rate"), ui.Text(detail))),
	)
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

func loadStatus(s *State) *ui.Node {
	l := s.Load
	if s.Index == nil {
		return ui.El("div", ui.Class("load-status"))
	}
	var text string
	switch l.Phase {
	case Loading:
		text = fmt.Sprintf("Loading the model: %s of %s.", megabytes(l.Done), megabytes(l.Total))
	case Ready:
		text = "Model ready."
	case LoadFailed:
		text = "The model could not be loaded."
	}
	return ui.El("div", ui.Class("load-status"),
		ui.El("progress", ui.ID("model-progress"), ui.A("max", strconv.FormatInt(max(l.Total, 1), 10)),
			ui.A("value", strconv.FormatInt(l.Done, 10)), ui.A("aria-label", "Model download"), ui.Bool("hidden", l.Phase != Loading)),
		ui.El("p", ui.ID("model-status"), ui.A("data-model", l.Model), ui.A("data-state", [...]string{"loading", "ready", "failed"}[l.Phase]), ui.Text(text)),
	)
}

func embedCode(s *State) *ui.Node {
	if s.EmbedCode == "" {
		return nil
	}
	return ui.El("div", ui.Class("embed-code"),
		ui.El("label", ui.A("for", "embed-code"), ui.Text("Embed code for these settings")),
		ui.El("textarea", ui.ID("embed-code"), ui.A("readonly", ""), ui.A("rows", "4"), ui.Value(s.EmbedCode)),
		when(s.EmbedStatus != "", ui.El("p", ui.ID("embed-status"), ui.A("role", "status"), ui.Text(s.EmbedStatus))),
	)
}

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

package app

import (
	"errors"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"chrysalis/web/weights"
)

var index = &weights.Index{Models: []weights.Model{
	{Name: "butterflies-32", Title: "Butterflies", Note: "Leeds Butterfly Dataset; non-commercial."},
	{Name: "other", Title: "Other"},
}}

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// start returns a state after the page started with query and the model loaded.
func start(t *testing.T, query string, cores int) *State {
	t.Helper()
	q, err := url.ParseQuery(query)
	if err != nil {
		t.Fatal(err)
	}
	s := &State{}
	cmds := Update(s, Started{Index: index, Query: q, PageURL: "http://h/index.html", Cores: cores}, t0)
	if len(cmds) != 1 || cmds[0].(LoadModel).Model.Name != s.Settings.Model {
		t.Fatalf("Started: commands %v, want LoadModel of %s", cmds, s.Settings.Model)
	}
	return s
}

func TestAutorunStartsWhenLoaded(t *testing.T) {
	s := start(t, "batch=3&autorun=1&scheduler=ddim&steps=10", 2)
	Update(s, LoadProgress{Model: "butterflies-32", Done: 5, Total: 10}, t0)
	if s.Load.Done != 5 || s.Load.Total != 10 {
		t.Errorf("progress not recorded: %+v", s.Load)
	}
	cmds := Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	want := []any{StartRun{ID: 1, Settings: s.Settings, Workers: 2}}
	if !reflect.DeepEqual(cmds, want) {
		t.Fatalf("ModelLoaded: %v, want %v", cmds, want)
	}
	if s.Run.Phase != Running || s.Run.Total != 30 {
		t.Errorf("run %+v", s.Run)
	}
}

func TestRunToCompletion(t *testing.T) {
	s := start(t, "batch=2&steps=3&seed=9", 8)
	Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	if s.Run.Phase != Idle {
		t.Fatal("ran without autorun")
	}
	cmds := Update(s, ToggleRun{}, t0)
	if len(cmds) != 1 || cmds[0].(StartRun).Workers != 2 {
		t.Fatalf("Run: %v, want StartRun on min(8 cores, batch 2) = 2 workers", cmds)
	}
	Update(s, Frame{RunID: 0, Step: 0, Image: 0}, t0) // a stale frame
	for step := range 3 {
		for img := range 2 {
			Update(s, Frame{RunID: 1, Step: step, Steps: 3, Image: img}, t0.Add(time.Duration(step+1)*time.Second))
		}
	}
	if s.Run.Frames != 6 {
		t.Errorf("frames = %d, want 6 (stale ones ignored)", s.Run.Frames)
	}
	if got := progressText(s.Run); got != "Step 3 of 3 · 1.0 steps/s · about 0.0 s left" {
		t.Errorf("progress text %q", got)
	}
	if cmds := Update(s, WorkerDone{RunID: 1, Worker: 0, Memory: 40 << 20}, t0); cmds != nil {
		t.Errorf("one worker of two done: %v", cmds)
	}
	cmds = Update(s, WorkerDone{RunID: 1, Worker: 1, Memory: 41 << 20}, t0.Add(4*time.Second))
	want := []any{MakePNG{RunID: 1, Name: "chrysalis-butterflies-32-ddim-3steps-seed9.png"}}
	if !reflect.DeepEqual(cmds, want) || s.Run.Phase != Done || s.Run.Elapsed != 4*time.Second {
		t.Fatalf("all done: %v %+v", cmds, s.Run)
	}
	Update(s, PNGReady{RunID: 1, URL: "blob:x", Name: "a.png"}, t0)
	v := view(t, s, nil)
	if a := v.find("download"); a == nil || a.attrs["href"] != "blob:x" || a.attrs["download"] != "a.png" {
		t.Errorf("download link %+v", a)
	}
	st := v.find("status")
	if st.attrs["data-phase"] != "done" || st.attrs["data-worker-memory"] != "41943040,42991616" || st.attrs["data-elapsed-ms"] != "4000" {
		t.Errorf("status attributes %+v", st.attrs)
	}
	if got := s.statusText(); got != "Done: 2 images, 3 steps, in 4.0 s." {
		t.Errorf("status %q", got)
	}
}

func TestStopAndSettingsChangeCancel(t *testing.T) {
	s := start(t, "", 2)
	Update(s, ModelLoaded{Model: "butterflies-32"}, t0)
	Update(s, ToggleRun{}, t0)
	if got := view(t, s, nil).find("run").textContent(); got != "Stop" {
		t.Errorf("button while running: %q", got)
	}
	if cmds := Update(s, ToggleRun{}, t0); !reflect.DeepEqual(cmds, []any{CancelRun{ID: 1}}) || s.Run.Phase != Stopped {
		t.Errorf("Stop: %v, phase %v", cmds, s.Run.Phase)
	}
	Update(s, Frame{RunID: 1}, t0)
	if s.Run.Frames != 0 {
		t.Error("a frame after Stop was counted")
	}
	Update(s, ToggleRun{}, t0)
	if s.Run.ID != 2 || s.Run.Phase != Running {
		t.Fatalf("Run again: %+v", s.Run)
	}
	for _, msg := range []any{SetSteps("7"), SetScheduler("euler"), SetSeed("5"), SetBatch("9"), SetModel("other")} {
		Update(s, ToggleRun{}, t0)
		if s.Run.Phase != Running {
			Update(s, ToggleRun{}, t0)
		}
		if s.Run.Phase != Running {
			t.Fatalf("%T: could not start a run (load %+v)", msg, s.Load)
		}
		cmds := Update(s, msg, t0)
		if len(cmds) == 0 || cmds[0] != (CancelRun{ID: s.Run.ID}) || s.Run.Phase != Stopped || !strings.Contains(s.Run.Note, "settings changed") {
			t.Errorf("%T during a run: %v, %+v", msg, cmds, s.Run)
		}
		if _, ok := msg.(SetModel); ok {
			if len(cmds) != 2 || cmds[1].(LoadModel).Model.Name != "other" {
				t.Errorf("SetModel: %v, want a cancel and a load", cmds)
			}
			Update(s, ModelLoaded{Model: "other"}, t0)
		}
	}
	if got := s.Settings; got.Steps != 7 || got.Scheduler != "euler" || got.Seed != 5 || got.Batch != 9 || got.Model != "other" {
		t.Errorf("settings %+v", got)
	}
}

func TestClampedControls(t *testing.T) {
	s := start(t, "", 1)
	for _, tc := range []struct {
		msg  any
		want func(*State) bool
	}{
		{SetSteps("5000"), func(s *State) bool { return s.Settings.Steps == 1000 }},
		{SetSteps("abc"), func(s *State) bool { return s.Settings.Steps == 1000 }},
		{SetBatch("0"), func(s *State) bool { return s.Settings.Batch == 1 }},
		{SetEta("2"), func(s *State) bool { return s.Settings.Eta == 1 }},
		{SetSeed("-1"), func(s *State) bool { return s.Settings.Seed == 42 }},
		{SetSeed("99999999999999999999"), func(s *State) bool { return s.Settings.Seed == 42 }},
		{RandomSeed(1 << 60), func(s *State) bool { return s.Settings.Seed < 1<<53 }},
		{SetScheduler("nope"), func(s *State) bool { return s.Settings.Scheduler == "ddim" }},
		{SetModel("nope"), func(s *State) bool { return s.Settings.Model == "butterflies-32" }},
	} {
		Update(s, tc.msg, t0)
		if !tc.want(s) {
			t.Errorf("%T(%v): settings %+v", tc.msg, tc.msg, s.Settings)
		}
	}
}

func TestLoadFailureKeepsControlsUsable(t *testing.T) {
	s := start(t, "", 2)
	Update(s, ToggleRun{}, t0) // pressed while loading
	if !s.RunWhenReady || !strings.Contains(view(t, s, nil).find("run").textContent(), "waiting") {
		t.Error("Run while loading should wait for the model")
	}
	Update(s, ModelLoaded{Model: "butterflies-32", Err: errors.New("diffusion_pytorch_model.fp16.safetensors: SHA-256 mismatch")}, t0)
	v := view(t, s, nil)
	if e := v.find("model-error"); e == nil || !strings.Contains(e.textContent(), "SHA-256 mismatch") {
		t.Fatalf("no model error shown: %+v", e)
	}
	for _, id := range []string{"model", "scheduler", "steps", "seed", "batch", "run", "copy-embed"} {
		if _, off := v.find(id).attrs["disabled"]; off {
			t.Errorf("#%s disabled after a load failure", id)
		}
	}
	Update(s, SetScheduler("euler"), t0)
	if s.Settings.Scheduler != "euler" {
		t.Error("scheduler not changeable after a load failure")
	}
	if cmds := Update(s, ToggleRun{}, t0); len(cmds) != 1 || cmds[0].(LoadModel).Model.Name != "butterflies-32" {
		t.Errorf("Run after a failure should retry the load: %v", cmds)
	}
}

func TestHostileParametersAreText(t *testing.T) {
	s := start(t, "steps=-5&scheduler=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", 2)
	v := view(t, s, nil)
	n := v.find("notice")
	if n == nil {
		t.Fatal("no notice")
	}
	text := n.textContent()
	for _, want := range []string{`steps: "-5" is below the minimum 1; using 1`, `scheduler: "<img src=x onerror=alert(1)>" is not one of`} {
		if !strings.Contains(text, want) {
			t.Errorf("notice %q lacks %q", text, want)
		}
	}
	var walk func(*node)
	walk = func(n *node) {
		if n.tag == "img" || n.attrs["onerror"] != "" {
			t.Errorf("the view has an injected element: %+v", n)
		}
		for _, c := range n.kids {
			walk(c)
		}
	}
	walk(v)
}

func TestEmbedCode(t *testing.T) {
	s := start(t, "steps=10&batch=2", 2)
	cmds := Update(s, CopyEmbed{}, t0)
	if len(cmds) != 1 || !strings.Contains(cmds[0].(CopyText).Text, `src="http://h/index.html?model=butterflies-32&amp;scheduler=ddim&amp;steps=10&amp;seed=42&amp;batch=2&amp;eta=0&amp;embed=1"`) {
		t.Fatalf("CopyEmbed: %v", cmds)
	}
	Update(s, EmbedCopied{OK: false}, t0)
	v := view(t, s, nil)
	if v.find("embed-code") == nil || !strings.Contains(v.find("embed-status").textContent(), "Select the code") {
		t.Error("embed code not shown")
	}
	Update(s, SetSteps("11"), t0)
	if view(t, s, nil).find("embed-code") != nil {
		t.Error("embed code of the old settings still shown")
	}
}

func TestEtaOnlyForDDIM(t *testing.T) {
	s := start(t, "scheduler=euler", 2)
	if _, off := view(t, s, nil).find("eta").attrs["disabled"]; !off {
		t.Error("eta enabled for Euler")
	}
	Update(s, SetScheduler("ddim"), t0)
	if _, off := view(t, s, nil).find("eta").attrs["disabled"]; off {
		t.Error("eta disabled for DDIM")
	}
}

func TestIndexFailure(t *testing.T) {
	s := &State{}
	Update(s, Started{Err: errors.New("HTTP 404"), Query: url.Values{}}, t0)
	v := view(t, s, nil)
	if e := v.find("page-error"); e == nil || !strings.Contains(e.textContent(), "HTTP 404") {
		t.Error("no page error")
	}
	if cmds := Update(s, ToggleRun{}, t0); cmds != nil {
		t.Errorf("Run without a model list: %v", cmds)
	}
}

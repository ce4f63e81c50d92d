package settings

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

var models = []string{"butterflies-32", "cifar10-32"}

func TestParse(t *testing.T) {
	def := Default("butterflies-32")
	with := func(f func(*Settings)) Settings { s := def; f(&s); return s }
	tests := []struct {
		query   string
		want    Settings
		notices []string // the String of each notice, in order
	}{
		{"", def, nil},
		{"model=cifar10-32&scheduler=euler&seed=7&batch=3&embed=1&autorun=1", with(func(s *Settings) {
			s.Model, s.Scheduler, s.Steps, s.Seed, s.Batch, s.Embed, s.Autorun = "cifar10-32", "euler", 30, 7, 3, true, true
		}), nil},
		{"scheduler=DDPM", with(func(s *Settings) { s.Scheduler, s.Steps = "ddpm", 200 }), nil},
		{"scheduler=ddim&steps=10&eta=0.5", with(func(s *Settings) { s.Steps, s.Eta = 10, 0.5 }), nil},
		{"steps=-5&scheduler=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E", with(func(s *Settings) { s.Steps = 1 }), []string{
			`scheduler: "<img src=x onerror=alert(1)>" is not one of ddpm, ddim, dpm++2m, euler; using ddim`,
			`steps: "-5" is below the minimum 1; using 1`,
		}},
		{"steps=5000&batch=0&seed=-3", with(func(s *Settings) { s.Steps, s.Batch, s.Seed = 1000, 1, 0 }), []string{
			`steps: "5000" is above the maximum 1000; using 1000`,
			`seed: "-3" is below the minimum 0; using 0`,
			`batch: "0" is below the minimum 1; using 1`,
		}},
		{"steps=99999999999999999999999&batch=17&seed=99999999999999999999999", with(func(s *Settings) { s.Steps, s.Batch, s.Seed = 1000, 16, MaxSeed }), []string{
			`steps: "99999999999999999999999" is above the maximum 1000; using 1000`,
			`seed: "99999999999999999999999" is above the maximum 9007199254740991; using 9007199254740991`,
			`batch: "17" is above the maximum 16; using 16`,
		}},
		{"steps=2.5&batch=four&seed=x", def, []string{
			`steps: "2.5" is not a whole number; using 25`,
			`seed: "x" is not a whole number; using 42`,
			`batch: "four" is not a whole number; using 4`,
		}},
		{"model=../../etc&eta=NaN", def, []string{
			`model: "../../etc" is not a known model (butterflies-32, cifar10-32); using butterflies-32`,
			`eta: "NaN" is not a number; using 0`,
		}},
		{"eta=3", with(func(s *Settings) { s.Eta = 1 }), []string{`eta: "3" is outside [0, 1]; using 1`}},
		{"scheduler=euler&eta=0.5", with(func(s *Settings) { s.Scheduler, s.Steps = "euler", 30 }), []string{`eta: "0.5" is ignored: only DDIM uses eta`}},
		{"embed&autorun=maybe&steps=7&steps=8&zzz=1&aaa=2", with(func(s *Settings) { s.Embed, s.Steps = true, 7 }), []string{
			`steps: "8" is a repeat of the parameter; using the first value "7"`,
			`autorun: "maybe" is not 1 or 0; using 0`,
			`aaa: "2" is not a parameter of this page; ignored`,
			`zzz: "1" is not a parameter of this page; ignored`,
		}},
		{"view=Forward&t=999", with(func(s *Settings) { s.View, s.T = "forward", 999 }), nil},
		{"view=lesson&t=1000&compare=ddim:5,euler", with(func(s *Settings) { s.T, s.Compare = 999, "ddim:5,euler:30" }), []string{
			`view: "lesson" is not one of sample, forward, compare, train; using sample`,
			`t: "1000" is above the maximum 999; using 999`,
		}},
		{"t=x&compare=ddim:0", def, []string{
			`t: "x" is not a whole number; using 500`,
			`compare: "ddim:0" has "ddim:0", whose step count is below the minimum 1 (1 to 1000); using ` + DefaultCompare,
		}},
		{"compare=ddim:5,heun:10", def, []string{
			`compare: "ddim:5,heun:10" has "heun:10", which is not one of ddpm, ddim, dpm++2m, euler; using ` + DefaultCompare,
		}},
		{"compare=ddim,ddim,ddim,ddim,ddim,ddim,ddim", def, []string{
			`compare: "ddim,ddim,ddim,ddim,ddim,ddim,ddim" has 7 samplers, more than 6; using ` + DefaultCompare,
		}},
	}
	for _, tc := range tests {
		q, err := url.ParseQuery(tc.query)
		if err != nil {
			t.Fatalf("%q: %v", tc.query, err)
		}
		got, notices := Parse(q, models)
		if got != tc.want {
			t.Errorf("Parse(%q) = %+v, want %+v", tc.query, got, tc.want)
		}
		var lines []string
		for _, n := range notices {
			lines = append(lines, n.String())
		}
		if !reflect.DeepEqual(lines, tc.notices) {
			t.Errorf("Parse(%q) notices:\n%s\nwant:\n%s", tc.query, strings.Join(lines, "\n"), strings.Join(tc.notices, "\n"))
		}
	}
}

func TestNoticeShortensLongValues(t *testing.T) {
	n := Notice{Param: "scheduler", Value: strings.Repeat("x", 100), Message: "is not one of ddim"}
	want := `scheduler: "` + strings.Repeat("x", 40) + `…" is not one of ddim`
	if got := n.String(); got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// An encoded URL parses back to the same settings with no notice: a copied
// link reproduces the run.
func TestEncodeRoundTrip(t *testing.T) {
	for _, s := range []Settings{
		Default("butterflies-32"),
		{Model: "cifar10-32", Scheduler: "dpm++2m", Steps: 1000, Seed: MaxSeed, Batch: 16, Embed: true, Autorun: true,
			View: "forward", T: 0, Compare: DefaultCompare},
		{Model: "butterflies-32", Scheduler: "ddim", Steps: 1, Seed: 0, Batch: 1, Eta: 0.3, View: "compare", T: DefaultT, Compare: "euler:3,ddpm:1000"},
		{Model: "butterflies-32", Scheduler: "ddim", Steps: 1, Seed: 0, Batch: 1, View: "train", T: DefaultT, Compare: DefaultCompare},
	} {
		enc := s.Encode()
		q, err := url.ParseQuery(enc)
		if err != nil {
			t.Fatal(err)
		}
		got, notices := Parse(q, models)
		if got != s || len(notices) != 0 {
			t.Errorf("%q parsed to %+v %v, want %+v", enc, got, notices, s)
		}
	}
	if got, want := (Settings{Model: "m", Scheduler: "dpm++2m", Steps: 20, Seed: 1, Batch: 2, View: "sample", T: 7}).Encode(), "model=m&scheduler=dpm%2B%2B2m&steps=20&seed=1&batch=2"; got != want {
		t.Errorf("Encode = %s, want %s", got, want)
	}
}

func TestWithScheduler(t *testing.T) {
	s := Default("m") // ddim, 25 steps
	if got := s.WithScheduler("ddpm"); got.Scheduler != "ddpm" || got.Steps != 200 {
		t.Errorf("default steps should follow the scheduler: %+v", got)
	}
	s.Steps = 12
	if got := s.WithScheduler("euler"); got.Scheduler != "euler" || got.Steps != 12 {
		t.Errorf("chosen steps should stay: %+v", got)
	}
	if got := s.WithScheduler("bogus"); got != s {
		t.Errorf("unknown scheduler changed settings: %+v", got)
	}
}

func TestEmbedCode(t *testing.T) {
	s := Settings{Model: "butterflies-32", Scheduler: "ddim", Steps: 10, Seed: 3, Batch: 2, Eta: 0}
	got := EmbedCode("http://127.0.0.1:8080/index.html", s)
	want := `<iframe src="http://127.0.0.1:8080/index.html?model=butterflies-32&amp;scheduler=ddim&amp;steps=10&amp;seed=3&amp;batch=2&amp;eta=0&amp;embed=1" width="480" height="600" style="border:0;max-width:100%" title="Chrysalis: a diffusion model turning noise into butterflies" loading="lazy"></iframe>`
	if got != want {
		t.Errorf("EmbedCode =\n%s\nwant\n%s", got, want)
	}
	if hostile := EmbedCode(`http://x/"><script>`, s); strings.Contains(hostile, "<script>") || strings.Contains(hostile, `"><s`) {
		t.Errorf("page URL not escaped: %s", hostile)
	}
}

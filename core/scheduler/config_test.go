package scheduler

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/tensor"
)

// Every config diffusers wrote for the references builds the class it names.
func TestReferenceConfigs(t *testing.T) {
	dir := golden.Dir(t)
	files, err := filepath.Glob(filepath.Join(dir, "schedulers", "configs", "*.json"))
	if err != nil || len(files) != 8 {
		t.Fatalf("want 8 scheduler configs, found %d (%v)", len(files), err)
	}
	files = append(files,
		filepath.Join(dir, "pipeline", "ddim10_eta0_scheduler_config.json"),
		filepath.Join(dir, "pipeline", "ddpm10_scheduler_config.json"),
		filepath.Join(dir, "train_grad", "scheduler_config.json"),
		filepath.Join(golden.Model(t, "butterflies-32"), "scheduler_config.json"))
	prefixes := map[string]string{"ddpm": DDPM, "ddim": DDIM, "dpmsolver": DPM, "euler": Euler}
	for _, path := range files {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		s, err := FromConfig(data, "", Options{})
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		want := ""
		for prefix, class := range prefixes {
			if strings.HasPrefix(filepath.Base(path), prefix) {
				want = class
			}
		}
		if got := commonOf(s).cfg.class; want != "" && got != want {
			t.Errorf("%s built %s, want %s", path, got, want)
		}
		if class, err := ConfigClass(data); err != nil || class != commonOf(s).cfg.class {
			t.Errorf("%s: ConfigClass = %q, %v; FromConfig built %s", path, class, err, commonOf(s).cfg.class)
		}
		if err := s.SetTimesteps(10); err != nil {
			t.Errorf("%s: %v", path, err)
		}
	}
}

// ConfigClass reads _class_name wherever it stands, past non-finite
// literals, and names what is wrong when it cannot.
func TestConfigClass(t *testing.T) {
	for _, tc := range []struct {
		cfg, class, err string
	}{
		{`{"_class_name": "DDIMScheduler"}`, DDIM, ""},
		{`{"lambda_min_clipped": -Infinity, "x": [NaN], "_class_name": "DPMSolverMultistepScheduler"}`, DPM, ""},
		{`{"_class_name": "PNDMScheduler", "skip_prk_steps": true}`, "PNDMScheduler", ""},
		{`{"_class_name": "DDPMScheduler", "_class_name": "EulerDiscreteScheduler"}`, Euler, ""}, // the last, as Python keeps
		{`{"beta_end": 0.02}`, "", "scheduler: the config has no _class_name"},
		{`{"_class_name": null}`, "", `scheduler: config key "_class_name": want a string, got null`},
		{`{"_class_name": "DDIMScheduler", `, "", "scheduler: config JSON at byte 33: expected a string key"},
		{`["DDIMScheduler"]`, "", "scheduler: config JSON at byte 0: the config is not a JSON object"},
		{``, "", "scheduler: config JSON at byte 0: the config is not a JSON object"},
	} {
		class, err := ConfigClass([]byte(tc.cfg))
		switch {
		case tc.err == "" && (err != nil || class != tc.class):
			t.Errorf("%s: got %q, %v, want %q", tc.cfg, class, err, tc.class)
		case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err) || class != ""):
			t.Errorf("%s: got %q, %v, want the error %q", tc.cfg, class, err, tc.err)
		}
	}
}

// The DPM-Solver config holds -Infinity; the parser takes Python's three
// non-finite literals, and only outside strings.
func TestNonFiniteLiterals(t *testing.T) {
	obj, err := parseJSONObject([]byte(`{"a": -Infinity, "b": [Infinity, NaN], "c": "-Infinity", "d": 1e999}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := parseNumber(obj["a"].(jsonNumber)); !math.IsInf(got, -1) {
		t.Errorf("a = %v, want -Inf", got)
	}
	b := obj["b"].([]any)
	if !math.IsInf(parseNumber(b[0].(jsonNumber)), 1) || !math.IsNaN(parseNumber(b[1].(jsonNumber))) {
		t.Errorf("b = %v, want [+Inf NaN]", b)
	}
	if obj["c"] != "-Infinity" {
		t.Errorf("c = %#v, want the string", obj["c"])
	}
	if got := parseNumber(obj["d"].(jsonNumber)); !math.IsInf(got, 1) {
		t.Errorf("d = %v, want +Inf (as Python reads 1e999)", got)
	}
	c, err := parseConfig([]byte(`{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -Infinity}`), "")
	if err != nil || !math.IsInf(c.lambdaMinClipped, -1) {
		t.Errorf("lambda_min_clipped: %v, %v", c, err)
	}
	c, err = parseConfig([]byte(`{"_class_name": "DPMSolverMultistepScheduler", "lambda_min_clipped": -5.1}`), "")
	if err != nil || c.lambdaMinClipped != -5.1 {
		t.Errorf("lambda_min_clipped: %v, %v", c, err)
	}
}

// Missing keys take today's defaults per class; an empty config with a class
// is diffusers' Scheduler() with no arguments.
func TestDefaults(t *testing.T) {
	for _, tc := range []struct {
		class, spacing string
		clip           bool
	}{
		{DDPM, "leading", true}, {DDIM, "leading", true}, {DPM, "linspace", false}, {Euler, "linspace", false},
	} {
		c, err := parseConfig([]byte(`{}`), tc.class)
		if err != nil {
			t.Fatal(err)
		}
		if c.numTrainTimesteps != 1000 || c.betaStart != 0.0001 || c.betaEnd != 0.02 || c.betaSchedule != "linear" ||
			c.predictionType != "epsilon" || c.timestepSpacing != tc.spacing || c.clipSample != tc.clip {
			t.Errorf("%s defaults: %+v", tc.class, *c)
		}
	}
	c, _ := parseConfig([]byte(`{}`), DDPM)
	if c.varianceType != "fixed_small" || c.clipSampleRange != 1 {
		t.Errorf("DDPM defaults: %+v", *c)
	}
	c, _ = parseConfig([]byte(`{}`), DDIM)
	if !c.setAlphaToOne {
		t.Errorf("DDIM defaults: %+v", *c)
	}
	c, _ = parseConfig([]byte(`{}`), DPM)
	if c.solverOrder != 2 || !c.lowerOrderFinal || c.eulerAtFinal || c.finalSigmasType != "zero" || !math.IsInf(c.lambdaMinClipped, -1) {
		t.Errorf("DPM defaults: %+v", *c)
	}
}

// from_config: a class built from another class's config ignores the keys it
// does not have, keeps the ones it shares (timestep_spacing included) and
// defaults the rest.
func TestFromOtherClassConfig(t *testing.T) {
	ddpm := configText(t, "ddpm_squaredcos_cap_v2")
	for _, class := range classes {
		s, err := FromConfig([]byte(ddpm), class, Options{})
		if err != nil {
			t.Fatalf("%s from a DDPM config: %v", class, err)
		}
		c := commonOf(s).cfg
		if c.class != class || c.betaSchedule != "squaredcos_cap_v2" || c.timestepSpacing != "leading" {
			t.Errorf("%s from a DDPM config: %+v", class, *c)
		}
	}
	// DDPM from the DPM config: its -Infinity and DPM-only keys are ignored.
	s, err := FromConfig([]byte(configText(t, "dpmsolver_multistep_linear")), DDPM, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c := commonOf(s).cfg; c.timestepSpacing != "linspace" || !c.clipSample || c.varianceType != "fixed_small" {
		t.Errorf("DDPM from a DPM config: %+v", *c)
	}
	// A DDPM variance_type reaching DPM-Solver is inert there.
	if _, err := FromConfig([]byte(`{"variance_type": "fixed_large"}`), DPM, Options{}); err != nil {
		t.Error(err)
	}
	// Keys that diffusers filled in from defaults are dropped, so the target's apply.
	s, err = FromConfig([]byte(`{"_class_name": "DDPMScheduler", "timestep_spacing": "leading",
		"_use_default_values": ["timestep_spacing"]}`), Euler, Options{})
	if err != nil || commonOf(s).cfg.timestepSpacing != "linspace" {
		t.Errorf("_use_default_values: %v", err)
	}
}

// The checkpoint configs of 2022 (diffusers 0.1–0.9) load: google/ddpm-* and
// the course's butterflies model.
func TestLegacyConfigs(t *testing.T) {
	for _, cfg := range []string{
		`{"_class_name": "DDPMScheduler", "_diffusers_version": "0.1.1", "beta_end": 0.02, "beta_schedule": "linear",
		  "beta_start": 0.0001, "clip_sample": true, "num_train_timesteps": 1000, "trained_betas": null,
		  "variance_type": "fixed_small", "timestep_values": null, "tensor_format": "pt"}`,
		`{"_class_name": "DDPMScheduler", "_diffusers_version": "0.8.0", "beta_schedule": "squaredcos_cap_v2",
		  "num_train_timesteps": 1000, "predict_epsilon": true}`,
		`{"_class_name": "PNDMScheduler", "beta_schedule": "scaled_linear", "beta_start": 0.00085, "beta_end": 0.012,
		  "skip_prk_steps": true, "set_alpha_to_one": false, "steps_offset": 1}`,
	} {
		class := ""
		if strings.Contains(cfg, "PNDM") {
			class = DDIM // from_config of Stable Diffusion's PNDM config
		}
		s, err := FromConfig([]byte(cfg), class, Options{})
		if err != nil {
			t.Errorf("%s: %v", cfg, err)
			continue
		}
		if err := s.SetTimesteps(50); err != nil {
			t.Error(err)
		}
	}
}

// Bad configs fail with an error that names the key and the value.
func TestBadConfigs(t *testing.T) {
	for _, tc := range []struct{ cfg, class, want string }{
		{`[]`, DDPM, "not a JSON object"},
		{`{"a": 1,}`, DDPM, "expected a string key"},
		{`{"a": 01}`, DDPM, "leading zero"},
		{`{"a": "x`, DDPM, "unterminated string"},
		{`{"a": 1} x`, DDPM, "unexpected data after the object"},
		{strings.Repeat("[", 100), DDPM, "not a JSON object"},
		{`{"a":` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `}`, DDPM, "nested deeper than 64"},
		{`{"beta_schedule": "sigmoid"}`, DDPM, `config key "beta_schedule": unsupported value "sigmoid" (supported: linear, scaled_linear, squaredcos_cap_v2)`},
		{`{"thresholding": true}`, DDIM, `config key "thresholding": true is not supported`},
		{`{"prediction_type": "flow_prediction"}`, DPM, `config key "prediction_type": unsupported value "flow_prediction"`},
		{`{"prediction_type": "original_sample"}`, DDPM, `config key "prediction_type": unsupported value "original_sample"`},
		{`{"timestep_spacing": "karras"}`, Euler, `config key "timestep_spacing": unsupported value "karras"`},
		{`{"variance_type": "learned_range"}`, DDPM, `config key "variance_type": unsupported value "learned_range"`},
		{`{"variance_type": "learned"}`, DPM, `config key "variance_type": unsupported value "learned" for DPMSolverMultistepScheduler`},
		{`{"algorithm_type": "sde-dpmsolver++"}`, DPM, `config key "algorithm_type": unsupported value "sde-dpmsolver++"`},
		{`{"solver_order": 3}`, DPM, `config key "solver_order": 3 out of range [1, 2]`},
		{`{"solver_type": "heun"}`, DPM, `config key "solver_type": unsupported value "heun"`},
		{`{"use_karras_sigmas": true}`, Euler, `config key "use_karras_sigmas": true is not supported`},
		{`{"use_lu_lambdas": true}`, DPM, `config key "use_lu_lambdas": true is not supported`},
		{`{"interpolation_type": "log_linear"}`, Euler, `config key "interpolation_type": unsupported value "log_linear"`},
		{`{"final_sigmas_type": "one"}`, Euler, `config key "final_sigmas_type": unsupported value "one"`},
		{`{"timestep_type": "continuous", "prediction_type": "v_prediction"}`, Euler, `config key "timestep_type": "continuous" with v_prediction`},
		{`{"lambda_min_clipped": NaN}`, DPM, `config key "lambda_min_clipped": NaN is not supported`},
		{`{"lambda_min_clipped": 1e9}`, DPM, `config key "lambda_min_clipped": 1e+09 leaves no timesteps`},
		{`{"predict_epsilon": false}`, DDPM, `config key "predict_epsilon": false contradicts prediction_type "epsilon"`},
		// wrong JSON types
		{`{"num_train_timesteps": "1000"}`, DDPM, `config key "num_train_timesteps": want an integer, got "1000"`},
		{`{"num_train_timesteps": 1000.0}`, DDPM, `config key "num_train_timesteps": want an integer, got the number 1000.0`},
		{`{"num_train_timesteps": null}`, DDPM, `config key "num_train_timesteps": want an integer, got null`},
		{`{"num_train_timesteps": 0}`, DDPM, `config key "num_train_timesteps": 0 out of range [1, 131072]`},
		{`{"num_train_timesteps": 99999999999999999999}`, DDPM, `config key "num_train_timesteps": 99999999999999999999 out of range`},
		{`{"steps_offset": -1}`, DDIM, `config key "steps_offset": -1 out of range [0, 999]`},
		{`{"beta_start": "0.1"}`, DDPM, `config key "beta_start": want a number, got "0.1"`},
		{`{"beta_end": Infinity}`, DDPM, `config key "beta_end": want a finite number, got +Inf`},
		{`{"clip_sample": 1}`, DDPM, `config key "clip_sample": want a boolean, got the number 1`},
		{`{"clip_sample_range": 0}`, DDIM, `config key "clip_sample_range": 0 must be positive`},
		{`{"beta_schedule": ["linear"]}`, DDPM, `config key "beta_schedule": want a string, got a list`},
		{`{"set_alpha_to_one": {}}`, DDIM, `config key "set_alpha_to_one": want a boolean, got an object`},
		{`{"trained_betas": [0.1, 0.2]}`, DDPM, `config key "trained_betas": 2 values for num_train_timesteps = 1000`},
		{`{"trained_betas": "x"}`, DDPM, `config key "trained_betas": want a list of numbers or null, got "x"`},
		{`{"num_train_timesteps": 2, "trained_betas": [0.1, 2]}`, DDPM, `config key "trained_betas" gives beta[1] = 2, outside [0, 1]`},
		{`{"beta_end": 1.5}`, DDPM, `config key "beta_schedule" gives beta[666] = 1.0000333, outside [0, 1]`},
		{`{"_use_default_values": "x"}`, DDPM, `config key "_use_default_values": want a list of strings`},
		// classes and keys
		{`{"_class_name": "PNDMScheduler"}`, "", `unsupported class "PNDMScheduler" (supported: DDPMScheduler, DDIMScheduler, DPMSolverMultistepScheduler, EulerDiscreteScheduler)`},
		{`{"_class_name": 3}`, "", `config key "_class_name": want a string, got the number 3`},
		{`{}`, "", `the config has no _class_name and no class was given`},
		{`{}`, "LMSDiscreteScheduler", `unsupported class "LMSDiscreteScheduler"`},
		{`{"beta_sched": "linear"}`, DDPM, `unknown config key "beta_sched"`},
	} {
		_, err := FromConfig([]byte(tc.cfg), tc.class, Options{})
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "scheduler: ") {
			t.Errorf("%s (%s): error %v, want one containing %q", tc.cfg, tc.class, err, tc.want)
		}
	}
}

func TestOptions(t *testing.T) {
	for _, tc := range []struct {
		class string
		opts  Options
		want  string
	}{
		{DDPM, Options{Eta: 0.5}, "scheduler: eta applies only to DDIMScheduler, not DDPMScheduler"},
		{DDIM, Options{Eta: 1.5}, "scheduler: eta 1.5 outside [0, 1]"},
		{DDIM, Options{Eta: math.NaN()}, "scheduler: eta NaN outside [0, 1]"},
		{DDIM, Options{SChurn: 1}, "scheduler: s_churn applies only to EulerDiscreteScheduler, not DDIMScheduler"},
		{Euler, Options{SChurn: -1}, "scheduler: s_churn -1 must be finite and non-negative"},
	} {
		if _, err := FromConfig([]byte(`{}`), tc.class, tc.opts); err == nil || err.Error() != tc.want {
			t.Errorf("%s %+v: error %v, want %q", tc.class, tc.opts, err, tc.want)
		}
	}
	for _, opts := range []Options{{Eta: 0}, {Eta: 1}} {
		if _, err := FromConfig([]byte(`{}`), DDIM, opts); err != nil {
			t.Error(err)
		}
	}
}

func TestClassFor(t *testing.T) {
	for name, class := range map[string]string{"ddpm": DDPM, "ddim": DDIM, "dpm++2m": DPM, "euler": Euler} {
		if got, err := ClassFor(name); err != nil || got != class {
			t.Errorf("ClassFor(%q) = %q, %v", name, got, err)
		}
	}
	_, err := ClassFor("pndm")
	if want := `scheduler: unknown scheduler "pndm" (valid: ddpm, ddim, dpm++2m, euler)`; err == nil || err.Error() != want {
		t.Errorf("ClassFor(pndm): %v, want %q", err, want)
	}
}

// FuzzConfig: no input makes FromConfig, or a short sampling loop on what it
// builds, panic.
func FuzzConfig(f *testing.F) {
	for _, name := range []string{"ddpm_linear", "ddim_squaredcos_cap_v2", "dpmsolver_multistep_linear", "euler_discrete_linear"} {
		f.Add([]byte(configText(f, name)), "")
	}
	f.Add([]byte(`{"num_train_timesteps": 7, "trained_betas": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 1], "rescale_betas_zero_snr": true}`), Euler)
	f.Add([]byte(`{"lambda_min_clipped": -Infinity, "timestep_spacing": "trailing", "steps_offset": 3}`), DPM)
	f.Add([]byte(`{"a": [NaN, {"b": "\u00e9\n"}], "prediction_type": "v_prediction"}`), DDIM)
	f.Fuzz(func(t *testing.T, data []byte, class string) {
		s, err := FromConfig(data, class, Options{})
		if err != nil {
			return
		}
		for _, n := range []int{1, 3, 61} {
			if s.SetTimesteps(n) == nil {
				runLoop(s)
			}
		}
	})
}

// runLoop samples a 1x1x2x2 image with a stand-in model, ignoring errors.
func runLoop(s Scheduler) {
	x := tensor.From([]float32{0.5, -1, 2, 0}, 1, 1, 2, 2)
	z := tensor.From([]float32{1, -1, 0.5, 0.25}, 1, 1, 2, 2)
	for i := range s.Timesteps() {
		in := s.ScaleModelInput(x, i)
		out, err := s.Step(modelOutput(in, s.Timesteps()[i]), i, x, z)
		if err != nil {
			return
		}
		x = out.PrevSample
	}
	s.AddNoise(x, z, s.Timesteps()[:1])
}

// Few-step sampling with the shipped models: built from their scheduler
// config, every class starts one step from pure noise at t=999, so that one
// step gives the model's best guess x̂₀ rather than "leading" spacing's t=0,
// which leaves the noise as it is.
func TestShippedFewSteps(t *testing.T) {
	for _, model := range []string{"butterflies-32", "butterflies-32-go"} {
		data, err := os.ReadFile(filepath.Join(golden.Model(t, model), "scheduler_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, class := range []string{DDPM, DDIM, DPM, Euler} {
			for _, n := range []int{1, 2, 5} {
				s, err := FromConfig(data, class, Options{})
				if err != nil {
					t.Fatal(err)
				}
				if err := s.SetTimesteps(n); err != nil {
					t.Fatal(err)
				}
				if ts := s.Timesteps(); ts[0] != 999 {
					t.Errorf("%s, %s, %d steps: timesteps %v, want the first at 999", model, class, n, ts)
				}
			}
		}
	}
}

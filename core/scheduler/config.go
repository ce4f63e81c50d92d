package scheduler

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// The four scheduler classes, by diffusers' class names (a config's _class_name).
const (
	DDPM  = "DDPMScheduler"
	DDIM  = "DDIMScheduler"
	DPM   = "DPMSolverMultistepScheduler"
	Euler = "EulerDiscreteScheduler"
)

var classes = []string{DDPM, DDIM, DPM, Euler}

// maxTrainTimesteps bounds num_train_timesteps so that a hostile config cannot
// ask for a huge allocation; real schedulers use 1000.
const maxTrainTimesteps = 1 << 17

// config holds the scheduler_config.json keys that change the math. Keys that
// a class does not have keep their zero value.
type config struct {
	class               string
	numTrainTimesteps   int       // num_train_timesteps
	betaStart, betaEnd  float64   // beta_start, beta_end
	betaSchedule        string    // beta_schedule: linear, scaled_linear, squaredcos_cap_v2
	trainedBetas        []float64 // trained_betas: overrides beta_schedule when non-null
	rescaleBetasZeroSNR bool      // rescale_betas_zero_snr
	predictionType      string    // prediction_type: epsilon, v_prediction, sample
	timestepSpacing     string    // timestep_spacing: leading, trailing, linspace
	stepsOffset         int       // steps_offset: added to leading timesteps

	clipSample      bool    // clip_sample (DDPM, DDIM): clamp x̂0 to ±clip_sample_range
	clipSampleRange float64 // clip_sample_range
	varianceType    string  // variance_type (DDPM): fixed_small, fixed_small_log, fixed_large
	setAlphaToOne   bool    // set_alpha_to_one (DDIM): ᾱ_prev = 1 past t = 0, else ᾱ_0

	solverOrder      int     // solver_order (DPM): 1 or 2
	lowerOrderFinal  bool    // lower_order_final (DPM): first-order last steps when n < 15
	eulerAtFinal     bool    // euler_at_final (DPM): first-order last step
	lambdaMinClipped float64 // lambda_min_clipped (DPM): drop timesteps whose λ is below it
	finalSigmasType  string  // final_sigmas_type (DPM, Euler): zero or sigma_min
}

// knownKeys are the keys diffusers v0.31–v0.38 writes for the four classes,
// plus inert keys of older diffusers and of PNDMScheduler (whose configs come
// with Stable-Diffusion-style checkpoints). Building one class from another's
// config ignores the keys the target class does not have, as from_config does;
// a key outside this list is an error rather than a silent guess.
var knownKeys = map[string]bool{
	// every class
	"num_train_timesteps": true, "beta_start": true, "beta_end": true, "beta_schedule": true,
	"trained_betas": true, "prediction_type": true, "timestep_spacing": true, "steps_offset": true,
	"rescale_betas_zero_snr": true,
	// DDPM, DDIM, DPM
	"thresholding": true, "dynamic_thresholding_ratio": true, "sample_max_value": true,
	// DDPM, DDIM
	"clip_sample": true, "clip_sample_range": true,
	// DDPM, DPM
	"variance_type": true,
	// DDIM (and PNDM)
	"set_alpha_to_one": true,
	// DPM
	"solver_order": true, "algorithm_type": true, "solver_type": true, "lower_order_final": true,
	"euler_at_final": true, "lambda_min_clipped": true, "use_lu_lambdas": true,
	"use_flow_sigmas": true, "flow_shift": true, "use_dynamic_shifting": true, "time_shift_type": true,
	// DPM, Euler
	"use_karras_sigmas": true, "use_exponential_sigmas": true, "use_beta_sigmas": true,
	"final_sigmas_type": true,
	// Euler
	"interpolation_type": true, "sigma_min": true, "sigma_max": true, "timestep_type": true,
	// inert elsewhere: PNDM's skip_prk_steps; diffusers <= 0.3's tensor_format and
	// timestep_values; diffusers <= 0.9's predict_epsilon (read below)
	"skip_prk_steps": true, "tensor_format": true, "timestep_values": true, "predict_epsilon": true,
}

// ConfigClass returns the _class_name of a scheduler_config.json, such as
// "DDIMScheduler", whether or not this package implements that class. The
// config may hold the bare NaN and Infinity that diffusers writes.
func ConfigClass(data []byte) (string, error) {
	obj, err := parseJSONObject(data)
	if err != nil {
		return "", err
	}
	class, err := className(obj)
	if err == nil && class == "" {
		err = errors.New("scheduler: the config has no _class_name")
	}
	return class, err
}

// className returns the config's _class_name, "" when it has none.
func className(obj map[string]any) (string, error) {
	v, ok := obj["_class_name"]
	if !ok {
		return "", nil
	}
	name, ok := v.(string)
	if !ok {
		return "", typeError("_class_name", "a string", v)
	}
	return name, nil
}

// parseConfig reads scheduler_config.json for class ("" means its _class_name).
// Keys missing from the file take today's diffusers defaults for that class.
func parseConfig(data []byte, class string) (*config, error) {
	obj, err := parseJSONObject(data)
	if err != nil {
		return nil, err
	}
	// Keys listed in _use_default_values were filled in by diffusers, not read
	// from a file: from_config drops them so that the target's defaults apply.
	if v, ok := obj["_use_default_values"]; ok {
		list, ok := v.([]any)
		if !ok {
			return nil, typeError("_use_default_values", "a list of strings", v)
		}
		for _, k := range list {
			s, ok := k.(string)
			if !ok {
				return nil, typeError("_use_default_values", "a list of strings", v)
			}
			delete(obj, s)
		}
	}
	name, err := className(obj)
	if err != nil {
		return nil, err
	}
	if class == "" {
		class = name
	}
	if class == "" {
		return nil, fmt.Errorf("scheduler: the config has no _class_name and no class was given")
	}
	if !slices.Contains(classes, class) {
		return nil, fmt.Errorf("scheduler: unsupported class %q (supported: %s)", class, strings.Join(classes, ", "))
	}

	r := &reader{obj: obj, used: map[string]bool{}}
	c := &config{class: class}
	c.numTrainTimesteps = r.integer("num_train_timesteps", 1000, 1, maxTrainTimesteps)
	c.betaStart = r.finite("beta_start", 0.0001)
	c.betaEnd = r.finite("beta_end", 0.02)
	c.betaSchedule = r.choice("beta_schedule", "linear", "linear", "scaled_linear", "squaredcos_cap_v2")
	c.trainedBetas = r.trainedBetas(c.numTrainTimesteps)
	c.rescaleBetasZeroSNR = r.boolean("rescale_betas_zero_snr", false)
	predictionTypes := []string{"epsilon", "v_prediction", "sample"}
	if class == Euler {
		predictionTypes = append(predictionTypes, "original_sample") // Euler's old alias of "sample"
	}
	c.predictionType = r.choice("prediction_type", "epsilon", predictionTypes...)
	if c.predictionType == "original_sample" {
		c.predictionType = "sample"
	}
	r.predictEpsilon(c.predictionType)
	spacing := "linspace"
	if class == DDPM || class == DDIM {
		spacing = "leading"
	}
	c.timestepSpacing = r.choice("timestep_spacing", spacing, "leading", "trailing", "linspace")
	c.stepsOffset = r.integer("steps_offset", 0, 0, c.numTrainTimesteps-1)

	switch class {
	case DDPM, DDIM:
		c.clipSample = r.boolean("clip_sample", true)
		c.clipSampleRange = r.finite("clip_sample_range", 1)
		if c.clipSampleRange <= 0 {
			r.fail(fmt.Errorf("scheduler: config key %q: %v must be positive", "clip_sample_range", c.clipSampleRange))
		}
		r.thresholding()
		if class == DDPM {
			// null (as DPM-Solver configs write it) falls through diffusers'
			// variance branches to fixed_small.
			c.varianceType = "fixed_small"
			if v, ok := r.obj["variance_type"]; !ok || v != nil {
				c.varianceType = r.choice("variance_type", "fixed_small", "fixed_small", "fixed_small_log", "fixed_large")
			}
		} else {
			c.setAlphaToOne = r.boolean("set_alpha_to_one", true)
		}
	case DPM:
		r.thresholding()
		c.solverOrder = r.integer("solver_order", 2, 1, 2)
		// diffusers maps DEIS's "deis" to dpmsolver++, and DEIS/UniPC solver
		// types to midpoint, so that their configs convert.
		r.choice("algorithm_type", "dpmsolver++", "dpmsolver++", "deis")
		r.choice("solver_type", "midpoint", "midpoint", "logrho", "bh1", "bh2")
		c.lowerOrderFinal = r.boolean("lower_order_final", true)
		c.eulerAtFinal = r.boolean("euler_at_final", false)
		for _, k := range []string{"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas",
			"use_lu_lambdas", "use_flow_sigmas", "use_dynamic_shifting"} {
			r.off(k)
		}
		r.finite("flow_shift", 1)               // inert: flow sigmas are off
		r.str("time_shift_type", "exponential") // inert: dynamic shifting is off
		c.finalSigmasType = r.choice("final_sigmas_type", "zero", "zero", "sigma_min")
		c.lambdaMinClipped = r.number("lambda_min_clipped", math.Inf(-1))
		if math.IsNaN(c.lambdaMinClipped) {
			r.fail(fmt.Errorf("scheduler: config key %q: NaN is not supported", "lambda_min_clipped"))
		}
		// variance_type matters to DPM-Solver only when the model also predicts
		// a variance ("learned", "learned_range"); DDPM's values are inert here.
		if v, ok := r.get("variance_type"); ok && v != nil {
			if s, ok := v.(string); !ok {
				r.fail(typeError("variance_type", "a string or null", v))
			} else if s == "learned" || s == "learned_range" {
				r.fail(fmt.Errorf("scheduler: config key %q: unsupported value %q for %s", "variance_type", s, class))
			}
		}
	case Euler:
		r.choice("interpolation_type", "linear", "linear")
		for _, k := range []string{"use_karras_sigmas", "use_exponential_sigmas", "use_beta_sigmas"} {
			r.off(k)
		}
		r.nullableFinite("sigma_min") // inert: used only by Karras/exponential/beta sigmas
		r.nullableFinite("sigma_max")
		tt := r.choice("timestep_type", "discrete", "discrete", "continuous")
		if tt == "continuous" && c.predictionType == "v_prediction" {
			r.fail(fmt.Errorf("scheduler: config key %q: \"continuous\" with v_prediction is not supported", "timestep_type"))
		}
		c.finalSigmasType = r.choice("final_sigmas_type", "zero", "zero", "sigma_min")
	}
	if r.err != nil {
		return nil, r.err
	}
	keys := make([]string, 0, len(obj))
	for k := range obj {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !r.used[k] && !strings.HasPrefix(k, "_") && !knownKeys[k] {
			return nil, fmt.Errorf("scheduler: unknown config key %q", k)
		}
	}
	return c, nil
}

// reader reads typed keys from a parsed config, records which keys it read,
// and keeps the first error.
type reader struct {
	obj  map[string]any
	used map[string]bool
	err  error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

// get returns the key's value and whether it is present.
func (r *reader) get(key string) (any, bool) {
	r.used[key] = true
	v, ok := r.obj[key]
	return v, ok
}

func typeError(key, want string, v any) error {
	got := "null"
	switch v.(type) {
	case bool:
		got = "a boolean"
	case string:
		got = strconv.Quote(v.(string))
	case jsonNumber:
		got = "the number " + string(v.(jsonNumber))
	case []any:
		got = "a list"
	case map[string]any:
		got = "an object"
	}
	return fmt.Errorf("scheduler: config key %q: want %s, got %s", key, want, got)
}

func (r *reader) boolean(key string, def bool) bool {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	b, ok := v.(bool)
	if !ok {
		r.fail(typeError(key, "a boolean", v))
	}
	return b
}

// off reads a boolean feature we do not implement: it must be false.
func (r *reader) off(key string) {
	if r.boolean(key, false) {
		r.fail(fmt.Errorf("scheduler: config key %q: true is not supported", key))
	}
}

func (r *reader) str(key, def string) string {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	s, ok := v.(string)
	if !ok {
		r.fail(typeError(key, "a string", v))
	}
	return s
}

// choice reads a string that must be one of allowed.
func (r *reader) choice(key, def string, allowed ...string) string {
	s := r.str(key, def)
	if r.err == nil && !slices.Contains(allowed, s) {
		r.fail(fmt.Errorf("scheduler: config key %q: unsupported value %q (supported: %s)", key, s, strings.Join(allowed, ", ")))
	}
	return s
}

// number reads any JSON number, NaN and ±Infinity included.
func (r *reader) number(key string, def float64) float64 {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	n, ok := v.(jsonNumber)
	if !ok {
		r.fail(typeError(key, "a number", v))
		return 0
	}
	return parseNumber(n)
}

// parseNumber converts a number literal as Python does: out-of-range
// literals become ±Inf.
func parseNumber(n jsonNumber) float64 {
	f, err := strconv.ParseFloat(string(n), 64)
	if err != nil && !math.IsInf(f, 0) {
		return math.NaN() // unreachable for a literal the parser accepted
	}
	return f
}

func (r *reader) finite(key string, def float64) float64 {
	f := r.number(key, def)
	if math.IsInf(f, 0) || math.IsNaN(f) {
		r.fail(fmt.Errorf("scheduler: config key %q: want a finite number, got %v", key, f))
	}
	return f
}

// nullableFinite reads a finite number or null.
func (r *reader) nullableFinite(key string) {
	if v, ok := r.obj[key]; ok && v == nil {
		r.used[key] = true
		return
	}
	r.finite(key, 0)
}

// integer reads an integer literal in [lo, hi].
func (r *reader) integer(key string, def, lo, hi int) int {
	v, ok := r.get(key)
	if !ok {
		return def
	}
	n, ok := v.(jsonNumber)
	if !ok || strings.ContainsAny(string(n), ".eEIN") { // a float, NaN or Infinity
		r.fail(typeError(key, "an integer", v))
		return def
	}
	i, err := strconv.Atoi(string(n))
	if err != nil || i < lo || i > hi {
		r.fail(fmt.Errorf("scheduler: config key %q: %s out of range [%d, %d]", key, n, lo, hi))
		return def
	}
	return i
}

// trainedBetas reads trained_betas: null, or a list of T numbers.
func (r *reader) trainedBetas(T int) []float64 {
	const key = "trained_betas"
	v, ok := r.get(key)
	if !ok || v == nil {
		return nil
	}
	list, ok := v.([]any)
	if !ok {
		r.fail(typeError(key, "a list of numbers or null", v))
		return nil
	}
	if len(list) != T {
		r.fail(fmt.Errorf("scheduler: config key %q: %d values for num_train_timesteps = %d", key, len(list), T))
		return nil
	}
	out := make([]float64, T)
	for i, x := range list {
		n, ok := x.(jsonNumber)
		if !ok {
			r.fail(typeError(key, "a list of numbers or null", v))
			return nil
		}
		out[i] = parseNumber(n)
	}
	return out
}

// thresholding reads the dynamic-thresholding keys: thresholding must be off,
// and its two parameters are then inert.
func (r *reader) thresholding() {
	r.off("thresholding")
	r.finite("dynamic_thresholding_ratio", 0.995)
	r.finite("sample_max_value", 1)
}

// predictEpsilon reads the pre-0.10 key predict_epsilon. Today's diffusers
// ignores it. true agrees with prediction_type "epsilon"; false meant a
// sample-predicting model, which ignoring the key would sample wrongly, so it
// is accepted only together with prediction_type "sample".
func (r *reader) predictEpsilon(predictionType string) {
	const key = "predict_epsilon"
	v, ok := r.get(key)
	if !ok {
		return
	}
	b, ok := v.(bool)
	switch {
	case !ok:
		r.fail(typeError(key, "a boolean", v))
	case b != (predictionType == "epsilon"):
		r.fail(fmt.Errorf("scheduler: config key %q: %v contradicts prediction_type %q", key, b, predictionType))
	}
}

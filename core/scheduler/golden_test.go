package scheduler

// The scheduler traces are diffusers v0.31.0's own outputs, read through
// golden.Dir from the repository's test data; a missing file fails the test.
// The model outputs are not stored: the traces' stand-in model gives them bit
// for bit (modelOutput). Nor are the step traces of n=50 (cmd/goldens).

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// tolTrace bounds every step trace against diffusers: next samples, predicted
// x0 and Euler's scaled model inputs, with the model outputs and noise fed from
// the file and each sample fed from our previous step. The error of an element
// is |got − want| / max(1, |want|): 1e-5 absolute for the values |x| ≤ 1 that
// images live in, and 1e-5 relative above that, where the toy traces reach
// |x| ≈ 8e3 and one float32 ulp alone is 5e-4. DDPM, DDIM and Euler match
// bit for bit; DPM-Solver++ differs by a few ulps because torch's float32
// log/exp are not correctly rounded (logexp.go). Schedules (betas, ᾱ, σ,
// timesteps, init_noise_sigma) and add_noise must match exactly.
const tolTrace = 1e-5

// goldenFile reads one schedulers/*.safetensors file and records which tensors
// a test has compared, so that a golden case cannot go unchecked.
type goldenFile struct {
	t       *testing.T
	f       *safetensors.File
	checked map[string]bool
}

func openGolden(t *testing.T, name string) *goldenFile {
	return &goldenFile{t: t, f: golden.Open(t, "schedulers/"+name+".safetensors"), checked: map[string]bool{}}
}

func (g *goldenFile) has(name string) bool { _, ok := g.f.Info(name); return ok }

func (g *goldenFile) tensor(name string) *tensor.Tensor {
	g.checked[name] = true
	return golden.Tensor(g.t, g.f, name)
}

func (g *goldenFile) f32(name string) []float32 { return g.tensor(name).Data }

// ints reads an I64 tensor, or a float one (Euler's timesteps) as float32.
func (g *goldenFile) timesteps(name string) []float32 {
	g.checked[name] = true
	if info, _ := g.f.Info(name); info.DType == safetensors.I64 {
		v, _, err := g.f.Int64s(name)
		if err != nil {
			g.t.Fatal(err)
		}
		out := make([]float32, len(v))
		for i, x := range v {
			out[i] = float32(x)
		}
		return out
	}
	return g.f32(name)
}

func (g *goldenFile) u8(name string) []uint8 {
	g.checked[name] = true
	v, _, err := g.f.Uint8s(name)
	if err != nil {
		g.t.Fatal(err)
	}
	return v
}

// done fails the test for every tensor of the file that no check read.
func (g *goldenFile) done() {
	for _, name := range g.f.Names() {
		if !g.checked[name] {
			g.t.Errorf("golden tensor %q was not checked", name)
		}
	}
}

// exact fails unless got and want are bit-identical.
func exact(t *testing.T, what string, got, want []float32) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d values, want %d", what, len(got), len(want))
		return
	}
	bad := 0
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			if bad == 0 {
				t.Errorf("%s[%d] = %v, want %v", what, i, got[i], want[i])
			}
			bad++
		}
	}
	if bad > 1 {
		t.Errorf("%s: %d of %d values differ", what, bad, len(got))
	}
}

// configText reads schedulers/configs/<name>.json.
func configText(t testing.TB, name string) string {
	b, err := os.ReadFile(filepath.Join(golden.Dir(t), "schedulers", "configs", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// setKey replaces the value of a string or boolean key in a config's text.
func setKey(t *testing.T, cfg, key, value string) string {
	re := regexp.MustCompile(`"` + key + `": ("[^"]*"|true|false)`)
	if !re.MatchString(cfg) {
		t.Fatalf("config has no key %q", key)
	}
	return re.ReplaceAllLiteralString(cfg, `"`+key+`": `+value)
}

func build(t *testing.T, cfg string, opts Options) Scheduler {
	t.Helper()
	s, err := FromConfig([]byte(cfg), "", opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// traceErr is max_i |got_i − want_i| / max(1, |want_i|) (see tolTrace).
func traceErr(got, want []float32) float64 {
	if len(got) != len(want) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range got {
		d := math.Abs(float64(got[i])-float64(want[i])) / max(1, math.Abs(float64(want[i])))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = max(m, d)
	}
	return m
}

// maxErr tracks the largest error of each kind over a file's traces.
type maxErr map[string]float64

func (m maxErr) add(t *testing.T, kind, where string, got, want []float32) {
	t.Helper()
	d := traceErr(got, want)
	m[kind] = max(m[kind], d)
	if d > tolTrace {
		t.Errorf("%s %s: max error %.3g > %g", where, kind, d, tolTrace)
	}
}

func (m maxErr) log(t *testing.T) {
	var kinds []string
	for k := range m {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	for _, k := range kinds {
		t.Logf("max error (abs, relative above 1), %s: %.3g", k, m[k])
	}
}

// modelOutput is the traces' stand-in model: 0.5·input + float32(0.1·sin t).
func modelOutput(in *tensor.Tensor, t float32) *tensor.Tensor {
	c := float32(0.1 * math.Sin(float64(t)))
	out := tensor.New(in.Shape...)
	for j, v := range in.Data {
		out.Data[j] = 0.5*v + c
	}
	return out
}

// slice returns element k of a stacked [K, …] tensor.
func slice(x *tensor.Tensor, k int) *tensor.Tensor {
	per := len(x.Data) / x.Shape[0]
	return tensor.From(x.Data[k*per:(k+1)*per], x.Shape[1:]...)
}

// traceCase is one group <beta>/[<variant>/]<spacing>/n<n> of a golden file.
type traceCase struct {
	prefix, beta, variant, spacing string
	n                              int
}

// cases lists every group of g with a timesteps tensor, except add_noise.
func (g *goldenFile) cases() []traceCase {
	var out []traceCase
	for _, name := range g.f.Names() {
		prefix, ok := strings.CutSuffix(name, "/timesteps")
		if !ok || strings.HasSuffix(prefix, "add_noise") {
			continue
		}
		parts := strings.Split(prefix, "/")
		c := traceCase{prefix: prefix, beta: parts[0], spacing: parts[len(parts)-2]}
		if len(parts) == 4 {
			c.variant = parts[1]
		}
		n, err := strconv.Atoi(strings.TrimPrefix(parts[len(parts)-1], "n"))
		if err != nil || len(parts) < 3 || len(parts) > 4 {
			g.t.Fatalf("unexpected golden group %q", prefix)
		}
		c.n = n
		out = append(out, c)
	}
	return out
}

// runTrace sets n steps and checks the schedule of case c, then, if the group
// holds a trace, runs it. It returns whether there was a trace.
func (g *goldenFile) runTrace(s Scheduler, c traceCase, errs maxErr) bool {
	t := g.t
	p := c.prefix + "/"
	if err := s.SetTimesteps(c.n); err != nil {
		t.Fatalf("%s: %v", c.prefix, err)
	}
	ts := s.Timesteps()
	exact(t, p+"timesteps", ts, g.timesteps(p+"timesteps"))
	if g.has(p + "sigmas") {
		exact(t, p+"sigmas", sigmasOf(s), g.f32(p+"sigmas"))
	}
	if g.has(p + "init_noise_sigma") {
		exact(t, p+"init_noise_sigma", []float32{s.InitNoiseSigma()}, g.f32(p+"init_noise_sigma"))
	}
	if !g.has(p + "samples") {
		return false
	}
	samples := g.tensor(p + "samples")
	x := slice(samples, 0)
	// samples[0] = x_T_base·init_noise_sigma
	base := g.tensor("x_T_base")
	x0 := make([]float32, len(base.Data))
	for j, v := range base.Data {
		x0[j] = v * s.InitNoiseSigma()
	}
	exact(t, p+"samples[0]", x.Data, x0)

	var noise *tensor.Tensor
	var used []uint8
	if g.has(p + "noise") {
		noise, used = g.tensor(p+"noise"), g.u8(p+"noise_used")
	}
	var inputs, preds *tensor.Tensor
	if g.has(p + "model_inputs") {
		inputs = g.tensor(p + "model_inputs")
	}
	for _, name := range []string{"pred_original", "x0_pred"} {
		if g.has(p + name) {
			preds = g.tensor(p + name)
		}
	}
	for k := range ts {
		where := fmt.Sprintf("%s step %d", c.prefix, k)
		in := s.ScaleModelInput(x, k)
		if inputs != nil {
			errs.add(t, "model_inputs", where, in.Data, slice(inputs, k).Data)
		}
		mo := modelOutput(in, ts[k])
		var z *tensor.Tensor
		if used != nil && used[k] != 0 {
			z = slice(noise, k)
			// The step must really draw: without noise it is an error.
			if _, err := s.Step(mo, k, x, nil); err == nil {
				t.Errorf("%s: Step without noise succeeded, but diffusers drew noise", where)
			}
		}
		out, err := s.Step(mo, k, x, z)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		errs.add(t, "samples", where, out.PrevSample.Data, slice(samples, k+1).Data)
		if preds != nil {
			errs.add(t, "pred_original", where, out.PredOriginal.Data, slice(preds, k).Data)
		}
		x = out.PrevSample
	}
	return true
}

// sigmasOf returns the per-step σ of a DPM-Solver or Euler scheduler.
func sigmasOf(s Scheduler) []float32 {
	switch s := s.(type) {
	case *dpmSolver:
		return s.sigmas
	case *euler:
		return s.sigmas
	}
	return nil
}

var betaSchedules = []string{"linear", "squaredcos_cap_v2"}

// checkSchedule compares betas, ᾱ and (DPM, Euler) the training σ's.
func (g *goldenFile) checkSchedule(s Scheduler, beta string) {
	c := commonOf(s)
	exact(g.t, beta+"/betas", c.betas, g.f32(beta+"/betas"))
	exact(g.t, beta+"/alphas_cumprod", s.AlphasCumprod(), g.f32(beta+"/alphas_cumprod"))
	if g.has(beta + "/train_sigmas") {
		want := g.f32(beta + "/train_sigmas")
		got := trainSigmas(c.alphasCumprod)
		if _, ok := s.(*euler); ok { // flipped, with a final 0
			got = append(reversed(got), 0)
		}
		exact(g.t, beta+"/train_sigmas", got, want)
	}
}

func commonOf(s Scheduler) *common {
	switch s := s.(type) {
	case *ddpm:
		return &s.common
	case *ddim:
		return &s.common
	case *dpmSolver:
		return &s.common
	case *euler:
		return &s.common
	}
	panic("unknown scheduler type")
}

// checkAddNoise compares AddNoise for every beta schedule; schedule-indexed
// classes (DPM, Euler) first set 10 steps and use the first 3 samples.
func (g *goldenFile) checkAddNoise(cfgName string) {
	x0, noise := g.tensor("add_noise/x0"), g.tensor("add_noise/noise")
	for _, beta := range betaSchedules {
		s := build(g.t, configText(g.t, cfgName+"_"+beta), Options{})
		var ts []float32
		x, z := x0, noise
		if g.has("add_noise/timesteps") {
			ts = g.timesteps("add_noise/timesteps")
		} else {
			if err := s.SetTimesteps(10); err != nil {
				g.t.Fatal(err)
			}
			ts = g.timesteps(beta + "/add_noise/timesteps")
			per := len(x0.Data) / x0.Shape[0]
			shape := append([]int{len(ts)}, x0.Shape[1:]...)
			x = tensor.From(x0.Data[:len(ts)*per], shape...)
			z = tensor.From(noise.Data[:len(ts)*per], shape...)
		}
		out, err := s.AddNoise(x, z, ts)
		if err != nil {
			g.t.Fatal(err)
		}
		exact(g.t, beta+"/add_noise/out", out.Data, g.f32(beta+"/add_noise/out"))
	}
}

func TestDDPMGolden(t *testing.T) {
	g := openGolden(t, "ddpm")
	errs := maxErr{}
	traces := 0
	for _, beta := range betaSchedules {
		g.checkSchedule(build(t, configText(t, "ddpm_"+beta), Options{}), beta)
	}
	for _, c := range g.cases() {
		cfg := setKey(t, configText(t, "ddpm_"+c.beta), "timestep_spacing", strconv.Quote(c.spacing))
		if g.runTrace(build(t, cfg, Options{}), c, errs) {
			traces++
		}
	}
	g.checkAddNoise("ddpm")
	if traces != 20 {
		t.Errorf("%d DDPM traces, want 20", traces)
	}
	errs.log(t)
	g.done()
}

func TestDDIMGolden(t *testing.T) {
	g := openGolden(t, "ddim")
	errs := maxErr{}
	traces := 0
	for _, beta := range betaSchedules {
		cfg := configText(t, "ddim_"+beta)
		g.checkSchedule(build(t, cfg, Options{}), beta)
		s := build(t, setKey(t, cfg, "set_alpha_to_one", "false"), Options{}).(*ddim)
		exact(t, beta+"/final_alpha_cumprod_alphaToOneFalse", []float32{s.finalAlphaCumprod()},
			g.f32(beta+"/final_alpha_cumprod_alphaToOneFalse"))
	}
	for _, c := range g.cases() {
		cfg := setKey(t, configText(t, "ddim_"+c.beta), "timestep_spacing", strconv.Quote(c.spacing))
		var opts Options
		if c.variant != "" {
			// <variant> = eta{0,1}_clip{True,False}[_alphaToOneFalse]
			fields := strings.Split(c.variant, "_")
			eta, err := strconv.ParseFloat(strings.TrimPrefix(fields[0], "eta"), 64)
			if err != nil || len(fields) < 2 || len(fields) > 3 {
				t.Fatalf("unexpected DDIM variant %q", c.variant)
			}
			opts.Eta = eta
			cfg = setKey(t, cfg, "clip_sample", strings.ToLower(strings.TrimPrefix(fields[1], "clip")))
			if len(fields) == 3 {
				cfg = setKey(t, cfg, "set_alpha_to_one", "false")
			}
		}
		if g.runTrace(build(t, cfg, opts), c, errs) {
			traces++
		}
	}
	g.checkAddNoise("ddim")
	if traces != 90 {
		t.Errorf("%d DDIM traces, want 90", traces)
	}
	errs.log(t)
	g.done()
}

func TestDPMSolverGolden(t *testing.T) {
	g := openGolden(t, "dpmsolver_multistep")
	errs := maxErr{}
	traces := 0
	for _, beta := range betaSchedules {
		g.checkSchedule(build(t, configText(t, "dpmsolver_multistep_"+beta), Options{}), beta)
	}
	for _, c := range g.cases() {
		cfg := setKey(t, configText(t, "dpmsolver_multistep_"+c.beta), "timestep_spacing", strconv.Quote(c.spacing))
		if g.runTrace(build(t, cfg, Options{}), c, errs) {
			traces++
		}
	}
	g.checkAddNoise("dpmsolver_multistep")
	if traces != 18 {
		t.Errorf("%d DPM-Solver traces, want 18", traces)
	}
	errs.log(t)
	g.done()
}

func TestEulerGolden(t *testing.T) {
	g := openGolden(t, "euler_discrete")
	errs := maxErr{}
	traces := 0
	for _, beta := range betaSchedules {
		g.checkSchedule(build(t, configText(t, "euler_discrete_"+beta), Options{}), beta)
	}
	for _, c := range g.cases() {
		cfg := setKey(t, configText(t, "euler_discrete_"+c.beta), "timestep_spacing", strconv.Quote(c.spacing))
		var opts Options
		switch c.variant {
		case "default":
		case "churn1":
			opts.SChurn = 1
		default:
			t.Fatalf("unexpected Euler variant %q", c.variant)
		}
		if g.runTrace(build(t, cfg, opts), c, errs) {
			traces++
		}
	}
	g.checkAddNoise("euler_discrete")
	if traces != 36 {
		t.Errorf("%d Euler traces, want 36", traces)
	}
	errs.log(t)
	g.done()
}

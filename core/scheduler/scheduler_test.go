package scheduler

import (
	"fmt"
	"math"
	"strings"
	"testing"

	"chrysalis/core/tensor"
)

// tolProperty bounds float32 round-off in the property tests below, which
// have no diffusers reference: reconstructing x0 divides by α_t, which is
// ~0.006 at the noisiest step.
const tolProperty = 1e-4

func mustBuild(t *testing.T, cfg, class string, opts Options) Scheduler {
	t.Helper()
	s, err := FromConfig([]byte(cfg), class, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// noisy returns x at step i for a clean x0 and noise ε, and the output a
// perfect model of the given prediction type would give there.
func noisy(s Scheduler, i int, predictionType string, x0, eps []float32) (x, out []float32) {
	var a, sigma float64 // x = a·x0 + sigma·ε
	var va, vs float64   // v = va·ε − vs·x0
	switch s := s.(type) {
	case *ddpm, *ddim:
		ac := float64(s.AlphasCumprod()[int(s.Timesteps()[i])])
		a, sigma = math.Sqrt(ac), math.Sqrt(1-ac)
		va, vs = a, sigma
	case *dpmSolver:
		sg := float64(s.sigmas[i])
		a = 1 / math.Sqrt(sg*sg+1)
		sigma = sg * a
		va, vs = a, sigma
	case *euler: // x = x0 + σ·ε; the model sees x/√(σ²+1)
		sg := float64(s.sigmas[i])
		a, sigma = 1, sg
		va = 1 / math.Sqrt(sg*sg+1)
		vs = sg * va
	}
	x, out = make([]float32, len(x0)), make([]float32, len(x0))
	for j := range x0 {
		x[j] = float32(a*float64(x0[j]) + sigma*float64(eps[j]))
		switch predictionType {
		case "epsilon":
			out[j] = eps[j]
		case "v_prediction":
			out[j] = float32(va*float64(eps[j]) - vs*float64(x0[j]))
		default:
			out[j] = x0[j]
		}
	}
	return x, out
}

// Every class recovers x0 from a perfect model of every prediction type, at
// the first step (the noisiest) and at the last, where DDIM, DPM-Solver and
// Euler land exactly on x̂0.
func TestPredictionTypes(t *testing.T) {
	x0 := []float32{0.9, -0.4, 0.1, -1, 0.55, 0.3}
	eps := []float32{1.2, -0.7, 0.3, 2.1, -1.5, 0.05}
	shape := []int{1, 1, 2, 3}
	for _, class := range classes {
		for _, pt := range []string{"epsilon", "v_prediction", "sample"} {
			cfg := fmt.Sprintf(`{"prediction_type": %q, "clip_sample": false}`, pt)
			s := mustBuild(t, cfg, class, Options{})
			if err := s.SetTimesteps(10); err != nil {
				t.Fatal(err)
			}
			for _, i := range []int{0, 9} {
				x, out := noisy(s, i, pt, x0, eps)
				if dpm, ok := s.(*dpmSolver); ok {
					dpm.stepsDone, dpm.prevX0 = i, x0 // the previous x̂0 of a perfect model
				}
				res, err := s.Step(tensor.From(out, shape...), i, tensor.From(x, shape...), tensor.New(shape...))
				if err != nil {
					t.Fatal(err)
				}
				where := fmt.Sprintf("%s %s step %d", class, pt, i)
				if d := maxDiff(res.PredOriginal.Data, x0); d > tolProperty {
					t.Errorf("%s: predicted x0 off by %.3g", where, d)
				}
				if i == 9 && class != DDPM {
					if d := maxDiff(res.PrevSample.Data, x0); d > tolProperty {
						t.Errorf("%s: final sample off x0 by %.3g", where, d)
					}
				}
			}
		}
	}
}

func maxDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}

// DDPM's σ_t for each variance_type, against the float64 formulas.
func TestDDPMVarianceTypes(t *testing.T) {
	for _, vt := range []string{"fixed_small", "fixed_small_log", "fixed_large"} {
		s := mustBuild(t, fmt.Sprintf(`{"variance_type": %q}`, vt), DDPM, Options{}).(*ddpm)
		ac := s.alphasCumprod
		for _, tp := range [][2]int{{999, 899}, {500, 400}, {100, 0}} {
			ap, apPrev := ac[tp[0]], ac[tp[1]]
			beta := 1 - float64(ap)/float64(apPrev)
			want := math.Sqrt((1 - float64(apPrev)) / (1 - float64(ap)) * beta)
			if vt == "fixed_large" {
				want = math.Sqrt(beta)
			}
			got := float64(s.std(ap, apPrev, float32(1-float64(ap)/float64(apPrev))))
			if math.Abs(got-want) > 1e-6*want {
				t.Errorf("%s t=%d: σ = %v, want %v", vt, tp[0], got, want)
			}
		}
	}
}

// rescale_betas_zero_snr gives ᾱ_{T−1} = 0 (2^-24 for the σ-based classes,
// as in diffusers) and keeps ᾱ_0.
func TestRescaleZeroTerminalSNR(t *testing.T) {
	plain := mustBuild(t, `{}`, DDPM, Options{}).AlphasCumprod()
	for _, class := range classes {
		ac := mustBuild(t, `{"rescale_betas_zero_snr": true}`, class, Options{}).AlphasCumprod()
		want := float32(0)
		if class == DPM || class == Euler {
			want = 0x1p-24
		}
		if ac[999] != want || math.Abs(float64(ac[0]-plain[0])) > 1e-6 {
			t.Errorf("%s: ᾱ_0 = %v (was %v), ᾱ_999 = %v, want %v", class, ac[0], plain[0], ac[999], want)
		}
		for i := 1; i < len(ac)-1; i++ { // the 2^-24 patch may exceed ᾱ_{T−2}
			if ac[i] > ac[i-1] {
				t.Fatalf("%s: ᾱ rises at t=%d", class, i)
			}
		}
	}
}

// final_sigmas_type sigma_min ends the σ schedule at σ_0 instead of 0, and
// DPM-Solver then keeps its last step second order (n >= 15).
func TestFinalSigmaMin(t *testing.T) {
	for _, class := range []string{DPM, Euler} {
		s := mustBuild(t, `{"final_sigmas_type": "sigma_min"}`, class, Options{})
		if err := s.SetTimesteps(20); err != nil {
			t.Fatal(err)
		}
		sigmas := sigmasOf(s)
		if want := trainSigmas(commonOf(s).alphasCumprod)[0]; sigmas[20] != want {
			t.Errorf("%s: final σ %v, want σ_0 = %v", class, sigmas[20], want)
		}
	}
}

// DPM-Solver with solver_order 1 is DPM-Solver++ 1S at every step:
// x' = (σ_t/σ_s)·x − α_t(e^{−h}−1)·x̂0, checked in float64.
func TestDPMSolverFirstOrder(t *testing.T) {
	s := mustBuild(t, `{"solver_order": 1, "prediction_type": "sample"}`, DPM, Options{}).(*dpmSolver)
	if err := s.SetTimesteps(10); err != nil {
		t.Fatal(err)
	}
	x := []float32{0.5, -1.5}
	for i := range 10 {
		m := []float32{float32(i) / 10, -0.3}
		res, err := s.Step(tensor.From(m, 2), i, tensor.From(x, 2), nil)
		if err != nil {
			t.Fatal(err)
		}
		as := func(sg float64) (float64, float64) { a := 1 / math.Sqrt(sg*sg+1); return a, sg * a }
		at, st := as(float64(s.sigmas[i+1]))
		a0, s0 := as(float64(s.sigmas[i]))
		ratio, c := st/s0, -at // e^{−h} = (σ_t/α_t)/(σ_s/α_s) = 0 at the end
		if st > 0 {
			c = at * ((st/at)/(s0/a0) - 1)
		}
		for j := range x {
			want := ratio*float64(x[j]) - c*float64(m[j])
			if got := float64(res.PrevSample.Data[j]); math.Abs(got-want) > 1e-5*max(1, math.Abs(want)) {
				t.Errorf("step %d: x'[%d] = %v, want %v", i, j, got, want)
			}
		}
		x = res.PrevSample.Data
	}
}

// Schedules that numpy builds with an extra entry: np.arange(1000, 0, -1000/61)
// has 62 elements, the last rounding to timestep −1. Euler and DPM-Solver keep
// it as diffusers does; DDPM and DDIM would index ᾱ at −1, so they refuse.
func TestTrailingExtraStep(t *testing.T) {
	for _, class := range []string{Euler, DPM} {
		s := mustBuild(t, `{"timestep_spacing": "trailing"}`, class, Options{})
		if err := s.SetTimesteps(61); err != nil {
			t.Fatal(err)
		}
		if ts := s.Timesteps(); len(ts) != 62 || ts[61] != -1 {
			t.Errorf("%s: %d timesteps ending %v, want 62 ending -1", class, len(ts), ts[len(ts)-1])
		}
	}
	for _, class := range []string{DDPM, DDIM} {
		err := mustBuild(t, `{"timestep_spacing": "trailing"}`, class, Options{}).SetTimesteps(61)
		if want := "scheduler: 61 steps with trailing spacing give timestep -1, outside [0, num_train_timesteps = 1000)"; err == nil || err.Error() != want {
			t.Errorf("%s: %v, want %q", class, err, want)
		}
	}
}

// Trailing spacing rounds half to even before subtracting 1: for n = 16 the
// schedule is 1000 − 62.5k, exact in float64, with ties at every odd k.
func TestTrailingTies(t *testing.T) {
	var want []float32
	for k := range 16 {
		want = append(want, float32(math.RoundToEven(1000-62.5*float64(k)))-1)
	}
	for _, class := range classes {
		s := mustBuild(t, `{"timestep_spacing": "trailing"}`, class, Options{})
		if err := s.SetTimesteps(16); err != nil {
			t.Fatal(err)
		}
		if got := s.Timesteps(); fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: timesteps %v, want %v", class, got, want)
		}
	}
}

// Misuse gives errors, not panics.
func TestStepErrors(t *testing.T) {
	x := tensor.New(1, 1, 2, 2)
	other := tensor.New(1, 1, 2, 3)
	for _, class := range classes {
		s := mustBuild(t, `{}`, class, Options{})
		check := func(err error, want string) {
			t.Helper()
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Errorf("%s: error %v, want one containing %q", class, err, want)
			}
		}
		_, err := s.Step(x, 0, x, x)
		check(err, "Step before SetTimesteps")
		check(s.SetTimesteps(0), "0 inference steps outside [1, num_train_timesteps = 1000]")
		check(s.SetTimesteps(1001), "1001 inference steps outside")
		if err := s.SetTimesteps(10); err != nil {
			t.Fatal(err)
		}
		_, err = s.Step(x, 10, x, x)
		check(err, "step 10 outside the 10-step schedule")
		_, err = s.Step(other, 0, x, x)
		check(err, "model output shape [1 1 2 3] differs from sample shape [1 1 2 2]")
		_, err = s.AddNoise(x, other, []float32{1})
		check(err, "noise shape [1 1 2 3] differs from sample shape [1 1 2 2]")
		_, err = s.AddNoise(x, x, []float32{1, 2})
		check(err, "2 timesteps for a batch of 1")
		_, err = s.AddNoise(x, x, []float32{0.5})
		switch class {
		case DDPM, DDIM:
			check(err, "timestep 0.5 is not an integer in [0, 1000)")
		case Euler:
			check(err, "timestep 0.5 is not in the current schedule")
		default:
			if err != nil { // DPM-Solver falls back to the last σ, as diffusers does
				t.Error(err)
			}
		}
	}
	ddpm := mustBuild(t, `{}`, DDPM, Options{})
	ddpm.SetTimesteps(10)
	if _, err := ddpm.Step(x, 0, x, nil); err == nil || !strings.Contains(err.Error(), "step 0 needs noise") {
		t.Errorf("DDPM without noise at t>0: %v", err)
	}
	if _, err := ddpm.Step(x, 9, x, nil); err != nil { // t = 0 draws nothing
		t.Errorf("DDPM at t=0: %v", err)
	}
	if _, err := ddpm.Step(x, 0, x, other); err == nil || !strings.Contains(err.Error(), "noise shape") {
		t.Errorf("DDPM with mis-shaped noise: %v", err)
	}
	dpm := mustBuild(t, `{}`, DPM, Options{})
	dpm.SetTimesteps(10)
	if _, err := dpm.Step(x, 1, x, nil); err == nil || !strings.Contains(err.Error(), "step 1 out of order (expected step 0)") {
		t.Errorf("DPM-Solver out of order: %v", err)
	}
	if _, err := mustBuild(t, `{}`, Euler, Options{}).AddNoise(x, x, []float32{0}); err == nil {
		t.Error("Euler AddNoise before SetTimesteps succeeded")
	}
}

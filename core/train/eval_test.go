package train

import (
	"math"
	"strings"
	"testing"
)

// Paired: d = a − b = (0.5, 0.5, 0.4, 0.6), mean 0.5, s = √(0.02/3), and
// the interval is 0.5 ± t(0.975, 3)·s/√4 with t(0.975, 3) = 3.182446305.
func TestPaired(t *testing.T) {
	a := Eval{Losses: []float64{1, 2, 3, 4}}
	b := Eval{Losses: []float64{0.5, 1.5, 2.6, 3.4}}
	d, err := Paired(a, b)
	if err != nil {
		t.Fatal(err)
	}
	half := 3.182446305 * math.Sqrt(0.02/3) / 2
	for _, c := range []struct {
		name      string
		got, want float64
	}{{"mean", d.Mean, 0.5}, {"low", d.Low, 0.5 - half}, {"high", d.High, 0.5 + half}} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %.10f, want %.10f", c.name, c.got, c.want)
		}
	}
	if _, err := Paired(a, Eval{Losses: []float64{1}}); err == nil || !strings.Contains(err.Error(), "4 and 1 losses") {
		t.Errorf("Paired of 4 and 1 images: %v", err)
	}
}

// Two scheduler configs give comparable losses only with the same target,
// timesteps and noise schedule; the error names the first difference.
func TestComparable(t *testing.T) {
	base, err := NewObjective(DefaultSchedulerConfig)
	if err != nil {
		t.Fatal(err)
	}
	if err := base.Comparable(base); err != nil {
		t.Errorf("an objective against itself: %v", err)
	}
	for _, c := range []struct{ from, to, want string }{
		{`"prediction_type": "v_prediction"`, `"prediction_type": "epsilon"`, "prediction_type v_prediction against epsilon"},
		{`"num_train_timesteps": 1000`, `"num_train_timesteps": 500`, "num_train_timesteps 1000 against 500"},
		{`"beta_schedule": "squaredcos_cap_v2"`, `"beta_schedule": "linear"`, "noise schedule: alphas_cumprod[0]"},
	} {
		cfg := strings.Replace(string(DefaultSchedulerConfig), c.from, c.to, 1)
		if cfg == string(DefaultSchedulerConfig) {
			t.Fatalf("DefaultSchedulerConfig has no %s", c.from)
		}
		other, err := NewObjective([]byte(cfg))
		if err != nil {
			t.Fatal(err)
		}
		if err := base.Comparable(other); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("against %s: %v, want an error containing %q", c.to, err, c.want)
		}
	}
}

package train

import (
	"math"
	"slices"
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
	a.Timesteps, b.Timesteps = []int{1, 2, 3, 4}, []int{1, 2, 3, 5}
	if _, err := Paired(a, b); err == nil || !strings.Contains(err.Error(), "the same timesteps") {
		t.Errorf("Paired with other timesteps: %v", err)
	}
}

// Within keeps the images of a band of timesteps, [lo, hi), and summarizes
// them alone; a band of fewer than two images has no interval.
func TestWithin(t *testing.T) {
	e := Eval{Losses: []float64{1, 2, 3, 4, 5}, Timesteps: []int{950, 10, 99, 100, 50}}
	b, ok := e.Within(0, 100)
	if !ok || !slices.Equal(b.Losses, []float64{2, 3, 5}) || !slices.Equal(b.Timesteps, []int{10, 99, 50}) || math.Abs(b.Mean-10.0/3) > 1e-12 {
		t.Errorf("t in [0, 100): %+v, %v", b, ok)
	}
	if b.Low >= b.Mean || b.High <= b.Mean {
		t.Errorf("t in [0, 100): interval %v–%v around %v", b.Low, b.High, b.Mean)
	}
	if _, ok := e.Within(100, 900); ok {
		t.Error("one image in [100, 900) gave a band")
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

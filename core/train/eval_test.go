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

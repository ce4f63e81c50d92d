package unettest

import (
	"strings"
	"testing"
)

// TestCourseWeights generates two tensors by the formula and rejects bad
// lines. The values are exact: the formula in IEEE float64 (Python's), rounded to
// float32.
func TestCourseWeights(t *testing.T) {
	keys := "# header\n0\tconv_in.bias\t[2]\t2\t0\n1\tconv_norm_out.weight\t[1, 2]\t2\t1\n"
	w, order, err := CourseWeights(strings.NewReader(keys))
	if err != nil {
		t.Fatal(err)
	}
	if len(order) != 2 || order[0] != "conv_in.bias" || order[1] != "conv_norm_out.weight" {
		t.Fatalf("order %q", order)
	}
	want := map[string][]float32{ // Python: struct-rounded float(0.02*math.sin(0.1*i + 1.7*k)) (+1)
		"conv_in.bias":         {0, 0.0019966682884842157},
		"conv_norm_out.weight": {1.0198333263397217, 1.0194770097732544},
	}
	for name, v := range want {
		got := w[name]
		if got == nil || len(got.Data) != len(v) {
			t.Fatalf("%s: %v, want %v", name, got, v)
		}
		for i := range v {
			if got.Data[i] != v[i] {
				t.Errorf("%s[%d] = %v, want %v", name, i, got.Data[i], v[i])
			}
		}
	}
	if s := w["conv_norm_out.weight"].Shape; len(s) != 2 || s[0] != 1 || s[1] != 2 {
		t.Errorf("conv_norm_out.weight shape %v, want [1 2]", s)
	}
	for _, bad := range []string{
		"0\tconv_in.bias\t[64]\t64",    // 4 columns
		"x\tconv_in.bias\t[64]\t64\t0", // index not a number
		"0\tconv_in.bias\t[-1]\t64\t0", // dimension < 1
		"1\tconv_in.bias\t[64]\t64\t0", // index out of order
		"# only a header\n",            // no tensors
	} {
		if _, _, err := CourseWeights(strings.NewReader(bad)); err == nil {
			t.Errorf("CourseWeights(%q) gave no error", bad)
		}
	}
}

// TestSmallConfig: the small config builds a model.
func TestSmallConfig(t *testing.T) {
	c := SmallConfig()
	if _, err := c.Params(); err != nil {
		t.Fatal(err)
	}
}

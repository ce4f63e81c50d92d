package unet_test

// The UNet2DModel goldens (unet_tiny, unet_course) are diffusers v0.31.0's own
// outputs, read through golden.Dir from the repository's test data; a missing
// file fails the test.

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
	"chrysalis/core/unet/unettest"
)

// Tolerances (max abs) against diffusers' forward passes. Our float32 sums run
// in another order than PyTorch's. The README calibrates: PyTorch's float32
// output differs from its float64 one by 9.5e-7 (unet_tiny, max|out| 1.5) and
// 4.8e-6 (unet_course, max|out| 0.81), so we allow a few times that.
const (
	tolTinyOut   = 1e-5 // unet_tiny out, against out and out_f64 (measured ≤ 1.5e-6)
	tolTinyAct   = 2e-5 // unet_tiny activations (measured ≤ 5.3e-6)
	tolCourseOut = 5e-5 // unet_course out, against out and out_f64 (measured ≤ 1e-5)
	tolCourseAct = 1e-4 // unet_course activations; conv_norm_out divides by a small group std (measured ≤ 3.4e-5)
)

// timesteps reads a case's stored timestep as float32 (I64, F32, or the F64
// Python float, which diffusers truncates to an integer).
func timesteps(t testing.TB, f *safetensors.File, name string) []float32 {
	t.Helper()
	info, _ := f.Info(name)
	var ts []float32
	switch info.DType {
	case safetensors.I64:
		v, _, err := f.Int64s(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			ts = append(ts, float32(x))
		}
	case safetensors.F64:
		v, _, err := f.Float64s(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, x := range v {
			ts = append(ts, float32(math.Trunc(x))) // torch.tensor([17.7], dtype=torch.long)
		}
	default:
		ts = golden.Tensor(t, f, name).Data
	}
	return ts
}

// maxAbs is max |x_i|.
func maxAbs(x []float32) float64 {
	m := 0.0
	for _, v := range x {
		m = math.Max(m, math.Abs(float64(v)))
	}
	return m
}

func maxAbsDiff64(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - b[i])
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

// TestGoldenTiny runs all four unet_tiny cases with today's and the 2022 key
// names and compares the output and every stored activation.
func TestGoldenTiny(t *testing.T) {
	cases := golden.Open(t, "unet_tiny/cases.safetensors")
	x := golden.Tensor(t, cases, "x")
	for weights, tensors := range map[string]map[string]*tensor.Tensor{
		"today's names": golden.Tensors(t, golden.Open(t, "unet_tiny/diffusion_pytorch_model.safetensors")),
		"2022 names":    golden.LegacyTensors(t),
	} {
		m, err := unet.New(golden.UNetConfig(t, "unet_tiny/config.json"), tensors)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"c0_int", "c1_float", "c2_scalar", "c3_pyfloat"} {
			t.Run(weights+"/"+c, func(t *testing.T) {
				want := map[string]*tensor.Tensor{}
				for _, name := range cases.Names() {
					if field, ok := strings.CutPrefix(name, c+"."); ok && field != "timestep" && field != "out" && field != "out_f64" {
						want[field] = golden.Tensor(t, cases, name)
					}
				}
				seen := 0
				worst := 0.0
				out, err := m.ForwardTrace(x, timesteps(t, cases, c+".timestep"), func(name string, act *tensor.Tensor) {
					w, ok := want[name]
					if !ok {
						return
					}
					seen++
					d := golden.MaxAbsDiff(act.Data, w.Data)
					worst = math.Max(worst, d)
					if d > tolTinyAct || !slices.Equal(act.Shape, w.Shape) {
						t.Errorf("%s: shape %v want %v, max abs diff %.3g (max|x| %.3g)", name, act.Shape, w.Shape, d, maxAbs(w.Data))
					}
				})
				if err != nil {
					t.Fatal(err)
				}
				if seen != len(want) {
					t.Errorf("compared %d activations, the file has %d", seen, len(want))
				}
				d := golden.MaxAbsDiff(out.Data, golden.Tensor(t, cases, c+".out").Data)
				if d > tolTinyOut {
					t.Errorf("out: max abs diff %.3g > %g", d, tolTinyOut)
				}
				f64, _, err := cases.Float64s(c + ".out_f64")
				if err != nil {
					t.Fatal(err)
				}
				d64 := maxAbsDiff64(out.Data, f64)
				if d64 > tolTinyOut {
					t.Errorf("out vs out_f64: max abs diff %.3g > %g", d64, tolTinyOut)
				}
				t.Logf("%d activations (worst %.3g), out %.3g, vs f64 %.3g", seen, worst, d, d64)
			})
		}
	}
}

// courseWeights generates the unet_course weights from keys.txt by the
// README's formula (unettest.CourseWeights).
func courseWeights(t testing.TB) (map[string]*tensor.Tensor, []string) {
	t.Helper()
	f, err := os.Open(filepath.Join(golden.Dir(t), "unet_course/keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, order, err := unettest.CourseWeights(f)
	if err != nil {
		t.Fatal(err)
	}
	return m, order
}

// TestGoldenCourse builds the course's Unit 1 model from formula weights,
// checks them against param_sums, then compares the output and every act.*.
func TestGoldenCourse(t *testing.T) {
	cases := golden.Open(t, "unet_course/cases.safetensors")
	weights, order := courseWeights(t)
	if len(order) != 380 {
		t.Fatalf("%d tensors, want 380", len(order))
	}
	sums, _, err := cases.Float64s("param_sums")
	if err != nil {
		t.Fatal(err)
	}
	for k, name := range order {
		var s float64
		for _, v := range weights[name].Data {
			s += float64(v)
		}
		if math.Abs(s-sums[k]) > 1e-9*math.Max(1, math.Abs(sums[k])) {
			t.Errorf("%s: sum %.17g, want %.17g", name, s, sums[k])
		}
	}
	m, err := unet.New(golden.UNetConfig(t, "unet_course/config.json"), weights)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]*tensor.Tensor{}
	for _, name := range cases.Names() {
		if field, ok := strings.CutPrefix(name, "act."); ok {
			if strings.HasPrefix(field, "down_blocks.") {
				field += ".hidden" // the block's output
			}
			want[field] = golden.Tensor(t, cases, name)
		}
	}
	seen, worst := 0, 0.0
	ts := timesteps(t, cases, "timestep")
	out, err := m.ForwardTrace(golden.Tensor(t, cases, "x"), ts, func(name string, act *tensor.Tensor) {
		w, ok := want[name]
		if !ok {
			return
		}
		seen++
		d := golden.MaxAbsDiff(act.Data, w.Data)
		worst = math.Max(worst, d)
		if d > tolCourseAct {
			t.Errorf("%s: max abs diff %.3g > %g (max|x| %.3g)", name, d, tolCourseAct, maxAbs(w.Data))
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) || seen != 13 {
		t.Errorf("compared %d activations, the file has %d (want 13)", seen, len(want))
	}
	d := golden.MaxAbsDiff(out.Data, golden.Tensor(t, cases, "out").Data)
	if d > tolCourseOut {
		t.Errorf("out: max abs diff %.3g > %g", d, tolCourseOut)
	}
	f64, _, err := cases.Float64s("out_f64")
	if err != nil {
		t.Fatal(err)
	}
	d64 := maxAbsDiff64(out.Data, f64)
	if d64 > tolCourseOut {
		t.Errorf("out vs out_f64: max abs diff %.3g > %g", d64, tolCourseOut)
	}
	t.Logf("%d activations (worst %.3g), out %.3g, vs f64 %.3g", seen, worst, d, d64)
	if got, want := m.MACs(), int64(1_637_122_048); got != want {
		t.Errorf("MACs %d, want %d (info.json)", got, want)
	}
}

package safetensors_test

import (
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// The unet_tiny weights: 382 F32 tensors, 635,899 parameters, whose names and
// shapes keys.txt lists, laid out as diffusers writes them.
func TestGoldenUNetTiny(t *testing.T) {
	f := golden.Open(t, "unet_tiny/diffusion_pytorch_model.safetensors")
	names := f.Names()
	if len(names) != 382 {
		t.Fatalf("%d tensors, want 382", len(names))
	}
	if !reflect.DeepEqual(f.Metadata, map[string]string{"format": "pt"}) {
		t.Errorf("metadata %v, want format=pt", f.Metadata)
	}
	keys, err := os.ReadFile(filepath.Join(golden.Dir(t), "unet_tiny/keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	checked, params := 0, 0
	for _, line := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
		if strings.HasPrefix(line, "#") {
			continue
		}
		cols := strings.Split(line, "\t")
		info, ok := f.Info(cols[0])
		if !ok {
			t.Errorf("keys.txt tensor %q missing", cols[0])
			continue
		}
		if got, want := fmt.Sprint(info.Shape), strings.ReplaceAll(cols[1], ",", ""); got != want {
			t.Errorf("%s: shape %s, keys.txt says %s", cols[0], got, want)
		}
		x := golden.Tensor(t, f, cols[0])
		if info.DType != safetensors.F32 || !reflect.DeepEqual(x.Shape, info.Shape) {
			t.Errorf("%s: dtype %s shape %v", cols[0], info.DType, x.Shape)
		}
		checked++
		params += x.Numel()
	}
	if checked != 382 || params != 635899 {
		t.Errorf("keys.txt: %d tensors with %d parameters, want 382 and 635899", checked, params)
	}
	end := 0
	for _, name := range names {
		info, _ := f.Info(name)
		if info.Begin != end {
			t.Fatalf("%s begins at %d, previous tensor ended at %d", name, info.Begin, end)
		}
		end = info.End
	}
}

// Integer and F64 reference tensors: DDPM leading n=10 timesteps are
// [900 ... 0], noise is drawn for t > 0, and c3_pyfloat's timestep is 17.7.
func TestGoldenIntegerAndF64(t *testing.T) {
	f := golden.Open(t, "schedulers/ddpm.safetensors")
	ts, shape, err := f.Int64s("linear/leading/n10/timesteps")
	if err != nil {
		t.Fatal(err)
	}
	if want := []int64{900, 800, 700, 600, 500, 400, 300, 200, 100, 0}; !reflect.DeepEqual(ts, want) || !reflect.DeepEqual(shape, []int{10}) {
		t.Errorf("timesteps %v %v, want %v [10]", ts, shape, want)
	}
	used, _, err := f.Uint8s("linear/leading/n10/noise_used")
	if err != nil {
		t.Fatal(err)
	}
	if want := []uint8{1, 1, 1, 1, 1, 1, 1, 1, 1, 0}; !reflect.DeepEqual(used, want) {
		t.Errorf("noise_used %v, want %v", used, want)
	}
	if _, err := f.Tensor("linear/leading/n10/timesteps"); err == nil || !strings.Contains(err.Error(), "dtype I64") {
		t.Errorf("Tensor on an I64 tensor: err %v, want a dtype error", err)
	}
	cases := golden.Open(t, "unet_tiny/cases.safetensors")
	v, _, err := cases.Float64s("c3_pyfloat.timestep")
	if err != nil || len(v) != 1 || v[0] != 17.7 {
		t.Errorf("c3_pyfloat.timestep = %v, %v; want [17.7]", v, err)
	}
	x := golden.Tensor(t, cases, "c3_pyfloat.timestep")
	if x.Data[0] != float32(17.7) {
		t.Errorf("F64 17.7 read as float32 %v", x.Data[0])
	}
	w, _, err := cases.Float64s("x")
	if err != nil || float32(w[0]) != golden.Tensor(t, cases, "x").Data[0] {
		t.Errorf("Float64s widening F32: %v", err)
	}
}

// Write then Parse returns the same names, shapes and values, in the
// canonical layout: 8-aligned header, sorted, contiguous.
func TestRoundTrip(t *testing.T) {
	special := []float32{0, float32(math.Copysign(0, -1)), 1, -2.5, 65504, 1.0 / (1 << 24), 1.0 / (1 << 14),
		float32(math.Inf(1)), float32(math.Inf(-1)), 3.140625}
	entries := []safetensors.Entry{
		{Name: "z.weight", Tensor: tensor.From(special, 2, 5)},
		{Name: "a.bias", Tensor: tensor.From([]float32{7}, 1)},
		{Name: "scalar", Tensor: tensor.From([]float32{-1})},
		{Name: "empty", Tensor: tensor.From([]float32{}, 0, 3)},
		{Name: `quote"name`, Tensor: tensor.From([]float32{0.5, 0.25}, 2)},
	}
	meta := map[string]string{"format": "pt", "note": `a "b"`}
	for _, dt := range []safetensors.DType{safetensors.F32, safetensors.F16, safetensors.BF16} {
		var buf bytes.Buffer
		if err := safetensors.Write(&buf, entries, dt, meta); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		if n := int(data[0]) | int(data[1])<<8; n%8 != 0 {
			t.Errorf("%s: header length %d not a multiple of 8", dt, n)
		}
		f, err := safetensors.Parse(data)
		if err != nil {
			t.Fatalf("%s: %v", dt, err)
		}
		if !reflect.DeepEqual(f.Metadata, meta) {
			t.Errorf("%s: metadata %v", dt, f.Metadata)
		}
		want := []string{"a.bias", "empty", `quote"name`, "scalar", "z.weight"}
		if !reflect.DeepEqual(f.Names(), want) {
			t.Errorf("%s: names %q", dt, f.Names())
		}
		end := 0
		for _, e := range entries {
			got, err := f.Tensor(e.Name)
			if err != nil {
				t.Fatalf("%s: %v", dt, err)
			}
			info, _ := f.Info(e.Name)
			if info.DType != dt {
				t.Errorf("%s: %s stored as %s", dt, e.Name, info.DType)
			}
			if !reflect.DeepEqual(got.Shape, e.Tensor.Shape) && !(len(got.Shape) == 0 && len(e.Tensor.Shape) == 0) {
				t.Errorf("%s: %s shape %v, want %v", dt, e.Name, got.Shape, e.Tensor.Shape)
			}
			for i, v := range e.Tensor.Data {
				w := v
				if dt == safetensors.BF16 {
					w = bf16Round(v)
				}
				if math.Float32bits(got.Data[i]) != math.Float32bits(w) {
					t.Errorf("%s: %s[%d] = %v, want %v", dt, e.Name, i, got.Data[i], w)
				}
			}
		}
		for _, name := range f.Names() {
			info, _ := f.Info(name)
			if info.Begin != end {
				t.Errorf("%s: %s begins at %d, want %d", dt, name, info.Begin, end)
			}
			end = info.End
		}
		if len(data)-8-(int(data[0])|int(data[1])<<8) != end {
			t.Errorf("%s: data section is not exactly the tensors", dt)
		}
	}
}

// bf16Round is round-to-nearest-even to 8 significant bits, written with
// float64 arithmetic as an independent reference for finite values.
func bf16Round(v float32) float32 {
	if v == 0 || math.IsInf(float64(v), 0) {
		return v
	}
	_, e := math.Frexp(float64(v))
	q := math.Ldexp(1, e-8) // spacing of bf16 values near v
	return float32(math.RoundToEven(float64(v)/q) * q)
}

func TestWriteErrors(t *testing.T) {
	one := tensor.From([]float32{1}, 1)
	for _, c := range []struct {
		entries []safetensors.Entry
		dtype   safetensors.DType
		want    string
	}{
		{[]safetensors.Entry{{"a", one}}, safetensors.F64, `cannot write dtype "F64"`},
		{[]safetensors.Entry{{"a", one}, {"a", one}}, safetensors.F32, `tensor "a" given twice`},
		{[]safetensors.Entry{{"__metadata__", one}}, safetensors.F32, `invalid tensor name`},
		{[]safetensors.Entry{{"a", &tensor.Tensor{Shape: []int{2}, Data: []float32{1}}}}, safetensors.F32, `shape [2] but 1 values`},
		{[]safetensors.Entry{{"a", nil}}, safetensors.F32, `tensor "a" is nil`},
	} {
		err := safetensors.Write(&bytes.Buffer{}, c.entries, c.dtype, nil)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Write: err %v, want %q", err, c.want)
		}
	}
}

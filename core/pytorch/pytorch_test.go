package pytorch_test

import (
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"chrysalis/core/pytorch"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// sameBits compares values bit for bit (any NaN equals any NaN).
func sameBits(t *testing.T, name string, got, want *tensor.Tensor) {
	t.Helper()
	if len(got.Shape) != len(want.Shape) || len(got.Data) != len(want.Data) {
		t.Errorf("%s: shape %v, want %v", name, got.Shape, want.Shape)
		return
	}
	for i := range got.Shape {
		if got.Shape[i] != want.Shape[i] {
			t.Errorf("%s: shape %v, want %v", name, got.Shape, want.Shape)
			return
		}
	}
	for i, w := range want.Data {
		g := got.Data[i]
		if math.Float32bits(g) != math.Float32bits(w) && !(g != g && w != w) {
			t.Errorf("%s[%d] = %v, want %v", name, i, g, w)
			return
		}
	}
}

// The fixtures made by testdata/make_fixtures.py with torch 1.13 load to
// exactly the values torch.load gives (tolerance: none, bit for bit).
func TestFixtures(t *testing.T) {
	expected, err := safetensors.ReadFile(filepath.Join("testdata", "expected.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	state, err := pytorch.Load(readFixture(t, "state.bin"))
	if err != nil {
		t.Fatal(err)
	}
	nested, err := pytorch.Load(readFixture(t, "nested.bin"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range []map[string]*tensor.Tensor{state, nested} {
		for name := range m {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	if got, want := strings.Join(names, " "), strings.Join(expected.Names(), " "); got != want {
		t.Fatalf("tensors %s, want %s", got, want)
	}
	for _, name := range names {
		got := state[name]
		if got == nil {
			got = nested[name]
		}
		want, err := expected.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		sameBits(t, name, got, want)
	}
	if len(state["scalar"].Shape) != 0 || state["scalar"].Data[0] != 2.5 {
		t.Errorf("0-dim scalar = %v", state["scalar"])
	}
}

func TestRejected(t *testing.T) {
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"legacy", readFixture(t, "legacy.bin"), "legacy (pre-1.6, non-zip) torch.save format is not supported"},
		{"int64 tensor", readFixture(t, "int.bin"), `tensor "steps": storage "0" is torch.LongStorage (int64), not a float type`},
		{"not a zip", []byte("hello"), "not a torch.save zip checkpoint"},
		{"empty", nil, "not a torch.save zip checkpoint"},
	} {
		_, err := pytorch.Load(c.data)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err %v, want %q", c.name, err, c.want)
		}
	}
}

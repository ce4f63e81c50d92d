package golden

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Root walks up from the working directory to the directory holding go.mod:
// the repository checkout. It works natively and under js/wasm, where Node
// provides the working directory and the file system.
func Root(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("golden: working directory: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("golden: no go.mod above the working directory")
		}
		dir = parent
	}
}

// Dir is the absolute path of the diffusers reference outputs kept in the
// repository, <repo root>/core/golden/testdata/diffusers.
func Dir(t testing.TB) string {
	t.Helper()
	return filepath.Join(Root(t), "core", "golden", "testdata", "diffusers")
}

// Model is the absolute path of the shipped model folder static/models/name.
func Model(t testing.TB, name string) string {
	t.Helper()
	dir := filepath.Join(Root(t), "static", "models", name)
	if _, err := os.Stat(filepath.Join(dir, "config.json")); err != nil {
		t.Fatalf("golden: shipped model: %v", err)
	}
	return dir
}

// Open parses the safetensors file at Dir()/rel.
func Open(t testing.TB, rel string) *safetensors.File {
	t.Helper()
	f, err := safetensors.ReadFile(filepath.Join(Dir(t), rel))
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	return f
}

// Tensor reads the named tensor of f as float32.
func Tensor(t testing.TB, f *safetensors.File, name string) *tensor.Tensor {
	t.Helper()
	x, err := f.Tensor(name)
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	return x
}

// Tensors reads every tensor of f as float32, by name.
func Tensors(t testing.TB, f *safetensors.File) map[string]*tensor.Tensor {
	t.Helper()
	m := make(map[string]*tensor.Tensor, len(f.Names()))
	for _, name := range f.Names() {
		m[name] = Tensor(t, f, name)
	}
	return m
}

// UNetConfig parses the UNet2DModel config.json at Dir()/rel.
func UNetConfig(t testing.TB, rel string) unet.Config {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(Dir(t), rel))
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	cfg, err := unet.ParseConfig(data)
	if err != nil {
		t.Fatalf("golden: %s: %v", rel, err)
	}
	return cfg
}

// TinyUNet builds unet_tiny (random weights; 16,24,32,40 channels at 32x32)
// from its config.json and diffusion_pytorch_model.safetensors. edit, if
// set, changes the weights before the model is built.
func TinyUNet(t testing.TB, edit func(map[string]*tensor.Tensor)) *unet.Model {
	t.Helper()
	weights := Tensors(t, Open(t, "unet_tiny/diffusion_pytorch_model.safetensors"))
	if edit != nil {
		edit(weights)
	}
	m, err := unet.New(UNetConfig(t, "unet_tiny/config.json"), weights)
	if err != nil {
		t.Fatalf("golden: unet_tiny: %v", err)
	}
	return m
}

// LegacyTensors is unet_tiny's weights under the 2022 (diffusers < 0.14)
// attention names that keys.txt lists beside today's: query, key, value and
// proj_attn for to_q, to_k, to_v and to_out.0. diffusers' reference file of
// them holds the same bytes (cmd/goldens checks that before leaving it out).
func LegacyTensors(t testing.TB) map[string]*tensor.Tensor {
	t.Helper()
	current := Tensors(t, Open(t, "unet_tiny/diffusion_pytorch_model.safetensors"))
	keys, err := os.ReadFile(filepath.Join(Dir(t), "unet_tiny", "keys.txt"))
	if err != nil {
		t.Fatalf("golden: %v", err)
	}
	legacy := make(map[string]*tensor.Tensor, len(current))
	for _, line := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
		fields := strings.Split(line, "\t")
		if strings.HasPrefix(line, "#") {
			continue
		}
		if len(fields) != 3 || current[fields[0]] == nil {
			t.Fatalf("golden: unet_tiny/keys.txt: bad line %q", line)
		}
		legacy[fields[2]] = current[fields[0]]
	}
	if len(legacy) != len(current) {
		t.Fatalf("golden: unet_tiny/keys.txt maps %d of %d tensors", len(legacy), len(current))
	}
	return legacy
}

// MaxAbsDiff is max_i |a_i - b_i| in float64. Lengths that differ, or a NaN
// on either side, give +Inf so that a comparison against a tolerance fails.
func MaxAbsDiff(a, b []float32) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	m := 0.0
	for i := range a {
		d := math.Abs(float64(a[i]) - float64(b[i]))
		if math.IsNaN(d) {
			return math.Inf(1)
		}
		m = math.Max(m, d)
	}
	return m
}

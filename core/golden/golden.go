package golden

import (
	"math"
	"os"
	"path/filepath"
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

// SharedDir is the absolute path of <repo root>/../shared.
func SharedDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(filepath.Dir(Root(t)), "shared")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("golden: shared data missing: %v", err)
	}
	return dir
}

// Dir is the absolute path of <repo root>/../shared/reference/diffusers.
func Dir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join(SharedDir(t), "reference", "diffusers")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("golden: reference data missing: %v", err)
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

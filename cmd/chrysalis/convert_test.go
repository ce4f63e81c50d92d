package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/safetensors"
)

// TestConvert writes unet_tiny as an F16 variant beside its F32 weights,
// checks that every tensor is the F32 value rounded to float16 (relative
// error <= 2^-11 for normal halves, absolute <= 2^-25 below them), that the
// configs are copied byte for byte, and that "sample -variant fp16" loads it.
func TestConvert(t *testing.T) {
	dir := tinyFolder(t, nil)
	if _, _, err := runCLI(false, "convert", "-model", dir, "-out", dir, "-dtype", "f16", "-variant", "fp16"); err != nil {
		t.Fatal(err)
	}
	f32 := readAll(t, filepath.Join(dir, "diffusion_pytorch_model.safetensors"))
	f, err := safetensors.ReadFile(filepath.Join(dir, "diffusion_pytorch_model.fp16.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Names()) != len(f32) || f.Metadata["format"] != "pt" {
		t.Fatalf("%d tensors (metadata %v), want %d and format pt", len(f.Names()), f.Metadata, len(f32))
	}
	for _, name := range f.Names() {
		info, _ := f.Info(name)
		if info.DType != safetensors.F16 {
			t.Fatalf("%s is %s, want F16", name, info.DType)
		}
		h, err := f.Tensor(name)
		if err != nil {
			t.Fatal(err)
		}
		w := f32[name]
		for i, v := range w.Data {
			d := math.Abs(float64(h.Data[i]) - float64(v))
			if d > math.Max(math.Abs(float64(v))*0x1p-11, 0x1p-25) {
				t.Fatalf("%s[%d]: f16 %v for f32 %v", name, i, h.Data[i], v)
			}
		}
	}

	// A plain F32 copy into a new folder keeps configs and values exactly.
	out := filepath.Join(t.TempDir(), "copy")
	if _, _, err := runCLI(false, "convert", "-model", dir, "-out", out); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "scheduler_config.json", "diffusion_pytorch_model.safetensors"} {
		a, errA := os.ReadFile(filepath.Join(dir, name))
		b, errB := os.ReadFile(filepath.Join(out, name))
		if errA != nil || errB != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: the F32 copy differs from the source (%v, %v)", name, errA, errB)
		}
	}

	// The variant samples, close to the F32 weights' result.
	raw32, raw16 := filepath.Join(out, "a.safetensors"), filepath.Join(out, "b.safetensors")
	for _, c := range []struct{ raw, variant string }{{raw32, ""}, {raw16, "fp16"}} {
		if _, _, err := runCLI(false, "sample", "-model", dir, "-variant", c.variant, "-scheduler", "ddim", "-steps", "2", "-out", "", "-save-raw", c.raw); err != nil {
			t.Fatal(err)
		}
	}
	a, b := rawSample(t, raw32), rawSample(t, raw16)
	maxDiff := 0.0
	for i := range a.Data {
		maxDiff = math.Max(maxDiff, math.Abs(float64(a.Data[i])-float64(b.Data[i])))
	}
	if maxDiff == 0 || maxDiff > 0.05 {
		t.Errorf("F16 vs F32 weights: samples differ by %g, want a small non-zero difference", maxDiff)
	}
}

// TestConvertPipelineLayout converts a pipeline folder (model_index.json,
// unet/, scheduler/) to the single-model layout.
func TestConvertPipelineLayout(t *testing.T) {
	src := tinyFolder(t, nil)
	pipe := t.TempDir()
	for _, sub := range []string{"unet", "scheduler"} {
		if err := os.Mkdir(filepath.Join(pipe, sub), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	copyFile(t, filepath.Join(src, "config.json"), filepath.Join(pipe, "unet", "config.json"))
	copyFile(t, filepath.Join(src, "diffusion_pytorch_model.safetensors"), filepath.Join(pipe, "unet", "diffusion_pytorch_model.safetensors"))
	copyFile(t, filepath.Join(src, "scheduler_config.json"), filepath.Join(pipe, "scheduler", "scheduler_config.json"))
	index := `{"_class_name": "DDPMPipeline", "scheduler": ["diffusers", "DDPMScheduler"], "unet": ["diffusers", "UNet2DModel"]}`
	if err := os.WriteFile(filepath.Join(pipe, "model_index.json"), []byte(index), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	if _, _, err := runCLI(false, "convert", "-model", pipe, "-out", out, "-dtype", "bf16"); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"config.json", "scheduler_config.json"} {
		a, _ := os.ReadFile(filepath.Join(src, name))
		b, err := os.ReadFile(filepath.Join(out, name))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s not copied (%v)", name, err)
		}
	}
	if _, _, err := runCLI(false, "sample", "-model", out, "-steps", "1", "-out", filepath.Join(out, "x.png")); err != nil {
		t.Errorf("sampling the converted folder: %v", err)
	}
}

// TestConvertLegacyNames converts unet_tiny's weights under the 2022 attention
// names (query/key/value/proj_attn): the copy holds today's names, byte for
// byte the file diffusers' save_pretrained wrote for them.
func TestConvertLegacyNames(t *testing.T) {
	dir := tinyFolder(t, nil)
	writeTensors(t, filepath.Join(dir, "diffusion_pytorch_model.safetensors"), golden.LegacyTensors(t), safetensors.F32)
	out := t.TempDir()
	if _, _, err := runCLI(false, "convert", "-model", dir, "-out", out); err != nil {
		t.Fatal(err)
	}
	want, errA := os.ReadFile(filepath.Join(golden.Dir(t), "unet_tiny", "diffusion_pytorch_model.safetensors"))
	got, errB := os.ReadFile(filepath.Join(out, "diffusion_pytorch_model.safetensors"))
	if errA != nil || errB != nil || !bytes.Equal(got, want) {
		t.Errorf("converted legacy weights differ from today's file (%v, %v)", errA, errB)
	}
}

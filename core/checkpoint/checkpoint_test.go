package checkpoint_test

import (
	"bytes"
	"io/fs"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"chrysalis/core/checkpoint"
	"chrysalis/core/golden"
	"chrysalis/core/pytorch/pytorchtest"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

// The unet_tiny golden case c0_int: x, timesteps [999, 17], and diffusers'
// output. Loading paths that keep the float32 weights must reproduce it within
// tolOut (max abs; measured ≈ 1.5e-6 with max|out| ≈ 1.5).
const tolOut = 1e-5

type goldenCase struct {
	x   *tensor.Tensor
	ts  []float32
	out *tensor.Tensor
}

func tinyCase(t *testing.T) goldenCase {
	t.Helper()
	f := golden.Open(t, "unet_tiny/cases.safetensors")
	ts, _, err := f.Int64s("c0_int.timestep")
	if err != nil {
		t.Fatal(err)
	}
	return goldenCase{
		x:   golden.Tensor(t, f, "x"),
		ts:  []float32{float32(ts[0]), float32(ts[1])},
		out: golden.Tensor(t, f, "c0_int.out"),
	}
}

// check runs c's forward pass on ckpt's UNet and returns max |out - want|.
func (c goldenCase) check(t *testing.T, ckpt *checkpoint.Checkpoint) float64 {
	t.Helper()
	out, err := ckpt.UNet.Forward(c.x, c.ts)
	if err != nil {
		t.Fatal(err)
	}
	return golden.MaxAbsDiff(out.Data, c.out.Data)
}

func readGolden(t *testing.T, rel string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(golden.Dir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// weightsAs rewrites the unet_tiny weights in the given dtype.
func weightsAs(t *testing.T, rel string, dtype safetensors.DType) ([]byte, []safetensors.Entry) {
	t.Helper()
	f := golden.Open(t, rel)
	var entries []safetensors.Entry
	for _, name := range f.Names() {
		entries = append(entries, safetensors.Entry{Name: name, Tensor: golden.Tensor(t, f, name)})
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, entries, dtype, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes(), entries
}

// The single-model layout from an in-memory folder (as the browser passes
// it), in F32, F16 and BF16.
func TestLoadSingleModel(t *testing.T) {
	c := tinyCase(t)
	config := readGolden(t, "unet_tiny/config.json")
	sched := readGolden(t, "train_grad/scheduler_config.json")

	ckpt, err := checkpoint.Load(fstest.MapFS{
		"config.json":                         {Data: config},
		"diffusion_pytorch_model.safetensors": {Data: readGolden(t, "unet_tiny/diffusion_pytorch_model.safetensors")},
		"scheduler_config.json":               {Data: sched},
	})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(ckpt.SchedulerConfig, sched) {
		t.Error("scheduler config not returned as stored")
	}
	if !bytes.Equal(ckpt.Config, config) {
		t.Error("config.json not returned as stored")
	}
	if d := c.check(t, ckpt); d > tolOut {
		t.Errorf("F32: max abs diff %.3g > %g", d, tolOut)
	} else {
		t.Logf("F32: max abs diff %.3g", d)
	}

	// Half-precision weights are upcast exactly: the output equals the one of
	// float32 weights holding the rounded values, and stays near diffusers'
	// float32 output (tolerance from the rounding: 2^-11 relative for F16,
	// 2^-8 for BF16).
	for _, tt := range []struct {
		dtype safetensors.DType
		tol   float64
	}{{safetensors.F16, 5e-3}, {safetensors.BF16, 5e-2}} {
		half, _ := weightsAs(t, "unet_tiny/diffusion_pytorch_model.safetensors", tt.dtype)
		ckpt, err := checkpoint.Load(fstest.MapFS{
			"config.json":                         {Data: config},
			"diffusion_pytorch_model.safetensors": {Data: half},
		})
		if err != nil {
			t.Fatal(err)
		}
		if ckpt.SchedulerConfig != nil {
			t.Error("scheduler config without a file")
		}
		// The same values stored as F32.
		f, err := safetensors.Parse(half)
		if err != nil {
			t.Fatal(err)
		}
		var entries []safetensors.Entry
		for _, name := range f.Names() {
			entries = append(entries, safetensors.Entry{Name: name, Tensor: golden.Tensor(t, f, name)})
		}
		var f32 bytes.Buffer
		if err := safetensors.Write(&f32, entries, safetensors.F32, nil); err != nil {
			t.Fatal(err)
		}
		ref, err := checkpoint.Load(fstest.MapFS{
			"config.json":                         {Data: config},
			"diffusion_pytorch_model.safetensors": {Data: f32.Bytes()},
		})
		if err != nil {
			t.Fatal(err)
		}
		a, err := ckpt.UNet.Forward(c.x, c.ts)
		if err != nil {
			t.Fatal(err)
		}
		b, err := ref.UNet.Forward(c.x, c.ts)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a.Data, b.Data) {
			t.Errorf("%s: differs from float32 weights of the same values", tt.dtype)
		}
		if d := golden.MaxAbsDiff(a.Data, c.out.Data); d > tt.tol {
			t.Errorf("%s: max abs diff from diffusers' float32 output %.3g > %g", tt.dtype, d, tt.tol)
		} else {
			t.Logf("%s: max abs diff from diffusers' float32 output %.3g", tt.dtype, d)
		}
	}
}

// unetConfig2022 is unet_tiny's architecture written the way diffusers 0.9
// wrote the course checkpoint's config.json in 2022 (johnowhitaker/
// ddpm-butterflies-32px: no resnet_time_scale_shift, add_attention,
// class_embed_type or later keys).
const unetConfig2022 = `{
  "_class_name": "UNet2DModel",
  "_diffusers_version": "0.9.0",
  "act_fn": "silu",
  "attention_head_dim": 8,
  "block_out_channels": [
    16,
    24,
    32,
    40
  ],
  "center_input_sample": false,
  "down_block_types": [
    "DownBlock2D",
    "DownBlock2D",
    "AttnDownBlock2D",
    "AttnDownBlock2D"
  ],
  "downsample_padding": 1,
  "flip_sin_to_cos": true,
  "freq_shift": 0,
  "in_channels": 3,
  "layers_per_block": 2,
  "mid_block_scale_factor": 1,
  "norm_eps": 1e-05,
  "norm_num_groups": 8,
  "out_channels": 3,
  "sample_size": 32,
  "time_embedding_type": "positional",
  "up_block_types": [
    "AttnUpBlock2D",
    "AttnUpBlock2D",
    "UpBlock2D",
    "UpBlock2D"
  ]
}
`

// model_index.json and scheduler_config.json as diffusers 0.9 wrote them for
// the course checkpoint (180 and 267 bytes).
const (
	modelIndex2022 = `{
  "_class_name": "DDPMPipeline",
  "_diffusers_version": "0.9.0",
  "scheduler": [
    "diffusers",
    "DDPMScheduler"
  ],
  "unet": [
    "diffusers",
    "UNet2DModel"
  ]
}
`
	scheduler2022 = `{
  "_class_name": "DDPMScheduler",
  "_diffusers_version": "0.9.0",
  "beta_end": 0.02,
  "beta_schedule": "squaredcos_cap_v2",
  "beta_start": 0.0001,
  "clip_sample": true,
  "num_train_timesteps": 1000,
  "trained_betas": null,
  "variance_type": "fixed_large"
}
`
)

// write creates the files (path -> content) under a new temporary folder.
func write(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// legacyBin is unet_tiny's weights under the 2022 attention names, as a
// PyTorch .bin (what the course's hub checkpoint ships).
func legacyBin(t *testing.T) []byte {
	t.Helper()
	legacy := golden.LegacyTensors(t)
	var entries []safetensors.Entry
	for _, name := range slices.Sorted(maps.Keys(legacy)) {
		entries = append(entries, safetensors.Entry{Name: name, Tensor: legacy[name]})
	}
	var buf bytes.Buffer
	if err := pytorchtest.Write(&buf, entries); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// An emulation of the course's 2022 checkpoint: pipeline layout, a config
// without the newer keys, legacy attention names in a .bin.
func TestLoad2022Pipeline(t *testing.T) {
	if len(modelIndex2022) != 180 || len(scheduler2022) != 267 {
		t.Errorf("file sizes %d, %d, want 180, 267 (the course's)", len(modelIndex2022), len(scheduler2022))
	}
	c := tinyCase(t)
	dir := write(t, map[string][]byte{
		"model_index.json":                 []byte(modelIndex2022),
		"scheduler/scheduler_config.json":  []byte(scheduler2022),
		"unet/config.json":                 []byte(unetConfig2022),
		"unet/diffusion_pytorch_model.bin": legacyBin(t),
	})
	ckpt, err := checkpoint.LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if string(ckpt.SchedulerConfig) != scheduler2022 {
		t.Errorf("scheduler config %q", ckpt.SchedulerConfig)
	}
	if string(ckpt.Config) != unetConfig2022 {
		t.Errorf("unet/config.json %q", ckpt.Config)
	}
	if d := c.check(t, ckpt); d > tolOut {
		t.Errorf("max abs diff %.3g > %g", d, tolOut)
	} else {
		t.Logf("max abs diff %.3g", d)
	}
}

// Variant("fp16") reads diffusion_pytorch_model.fp16.safetensors (or .bin) in
// either layout and never the plain weights, which here are not even
// weights; without the variant's file, loading fails and names the file.
// Tolerances as in TestLoadSingleModel: tolOut for F32, 5e-3 for F16.
func TestVariant(t *testing.T) {
	c := tinyCase(t)
	config := readGolden(t, "unet_tiny/config.json")
	f32 := readGolden(t, "unet_tiny/diffusion_pytorch_model.safetensors")
	f16, _ := weightsAs(t, "unet_tiny/diffusion_pytorch_model.safetensors", safetensors.F16)
	junk := []byte("not a weights file")
	fp16Only := fstest.MapFS{
		"config.json":                              {Data: config},
		"diffusion_pytorch_model.safetensors":      {Data: junk},
		"diffusion_pytorch_model.bin":              {Data: junk},
		"diffusion_pytorch_model.fp16.safetensors": {Data: f16},
	}
	plainOnly := fstest.MapFS{
		"config.json":                              {Data: config},
		"diffusion_pytorch_model.safetensors":      {Data: f32},
		"diffusion_pytorch_model.fp16.safetensors": {Data: junk},
	}
	pipeline := fstest.MapFS{ // the variant as a .bin, legacy names, F32
		"model_index.json":                      {Data: []byte(modelIndex2022)},
		"unet/config.json":                      {Data: []byte(unetConfig2022)},
		"unet/diffusion_pytorch_model.bin":      {Data: junk},
		"unet/diffusion_pytorch_model.ema.bin":  {Data: legacyBin(t)},
		"unet/diffusion_pytorch_model.fp16.bin": {Data: junk},
	}
	for _, tt := range []struct {
		name    string
		fsys    fs.FS
		variant string
		tol     float64
		err     string // the whole error, when loading must fail
	}{
		{"fp16", fp16Only, "fp16", 5e-3, ""},
		{"ema pipeline", pipeline, "ema", tolOut, ""},
		{"no variant", plainOnly, "", tolOut, ""},
		{"missing", plainOnly, "bf16", 0, `checkpoint: no diffusion_pytorch_model.bf16.safetensors or .bin in the top folder; it holds the weight variant "fp16" (diffusion_pytorch_model.fp16.*)`},
		{"missing in pipeline", pipeline, "bf16", 0, `checkpoint: no diffusion_pytorch_model.bf16.safetensors or .bin in unet/; it holds the weight variant "ema" (diffusion_pytorch_model.ema.*), "fp16" (diffusion_pytorch_model.fp16.*)`},
		{"variant only", fstest.MapFS{"config.json": {Data: config}, "diffusion_pytorch_model.fp16.safetensors": {Data: f16}}, "", 0, `checkpoint: no diffusion_pytorch_model.safetensors or .bin in the top folder; it holds the weight variant "fp16" (diffusion_pytorch_model.fp16.*)`},
	} {
		ckpt, err := checkpoint.Load(tt.fsys, checkpoint.Variant(tt.variant))
		switch {
		case tt.err != "":
			if err == nil || err.Error() != tt.err {
				t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.err)
			}
		case err != nil:
			t.Errorf("%s: %v", tt.name, err)
		default:
			if d := c.check(t, ckpt); d > tt.tol {
				t.Errorf("%s: max abs diff %.3g > %g", tt.name, d, tt.tol)
			} else {
				t.Logf("%s: max abs diff %.3g", tt.name, d)
			}
		}
	}
}

// With both files present, the safetensors one is read (the .bin here is not
// even a zip file).
func TestPreferSafetensors(t *testing.T) {
	c := tinyCase(t)
	ckpt, err := checkpoint.Load(fstest.MapFS{
		"config.json":                         {Data: readGolden(t, "unet_tiny/config.json")},
		"diffusion_pytorch_model.safetensors": {Data: readGolden(t, "unet_tiny/diffusion_pytorch_model.safetensors")},
		"diffusion_pytorch_model.bin":         {Data: []byte("not a zip file")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if d := c.check(t, ckpt); d > tolOut {
		t.Errorf("max abs diff %.3g > %g", d, tolOut)
	}
}

func TestLoadErrors(t *testing.T) {
	config := readGolden(t, "unet_tiny/config.json")
	weights := readGolden(t, "unet_tiny/diffusion_pytorch_model.safetensors")
	bin := legacyBin(t)
	// weights without conv_out.bias, and with an I64 tensor.
	f, err := safetensors.Parse(weights)
	if err != nil {
		t.Fatal(err)
	}
	var entries []safetensors.Entry
	for _, name := range f.Names() {
		if name != "conv_out.bias" {
			entries = append(entries, safetensors.Entry{Name: name, Tensor: golden.Tensor(t, f, name)})
		}
	}
	var missing bytes.Buffer
	if err := safetensors.Write(&missing, entries, safetensors.F32, nil); err != nil {
		t.Fatal(err)
	}
	index := func(unet string) []byte {
		return []byte(`{"_class_name": "DDPMPipeline", "scheduler": ["diffusers", "DDPMScheduler"]` + unet + `}`)
	}
	tests := []struct {
		name  string
		files fstest.MapFS
		want  string
	}{
		{"empty", fstest.MapFS{"README.md": {Data: []byte("hi")}},
			"checkpoint: no model_index.json or config.json"},
		{"no weights", fstest.MapFS{"config.json": {Data: config}},
			"checkpoint: no diffusion_pytorch_model.safetensors or .bin in the top folder"},
		{"no unet weights", fstest.MapFS{"model_index.json": {Data: index(`, "unet": ["diffusers", "UNet2DModel"]`)}, "unet/config.json": {Data: config}},
			"checkpoint: no diffusion_pytorch_model.safetensors or .bin in unet/"},
		{"no unet config", fstest.MapFS{"model_index.json": {Data: index(`, "unet": ["diffusers", "UNet2DModel"]`)}},
			"checkpoint: open unet/config.json: file does not exist"},
		{"conditional unet", fstest.MapFS{"model_index.json": {Data: index(`, "unet": ["diffusers", "UNet2DConditionModel"]`)}},
			"checkpoint: model_index.json: unet is diffusers.UNet2DConditionModel, want diffusers.UNet2DModel"},
		{"null unet", fstest.MapFS{"model_index.json": {Data: index(`, "unet": [null, null]`)}},
			`checkpoint: model_index.json: unet is [null, null], want ["diffusers", "UNet2DModel"]`},
		{"no unet", fstest.MapFS{"model_index.json": {Data: index(``)}},
			"checkpoint: model_index.json: no unet component"},
		{"bad index", fstest.MapFS{"model_index.json": {Data: []byte(`{"unet": `)}},
			"checkpoint: model_index.json: unexpected end of JSON input"},
		{"bad config", fstest.MapFS{"config.json": {Data: []byte(`{"act_fn": "gelu"}`)}, "diffusion_pytorch_model.safetensors": {Data: weights}},
			`checkpoint: config.json: unet: config key "act_fn": unsupported value "gelu"`},
		{"bad unet config", fstest.MapFS{"model_index.json": {Data: index(`, "unet": ["diffusers", "UNet2DModel"]`)},
			"unet/config.json": {Data: []byte(`{"norm_eps": "small"}`)}},
			`checkpoint: unet/config.json: unet: config key "norm_eps": got string "small", want a number`},
		{"truncated safetensors", fstest.MapFS{"config.json": {Data: config}, "diffusion_pytorch_model.safetensors": {Data: weights[:len(weights)/2]}},
			"checkpoint: diffusion_pytorch_model.safetensors: safetensors: "},
		{"truncated bin", fstest.MapFS{"config.json": {Data: config}, "diffusion_pytorch_model.bin": {Data: bin[:len(bin)/2]}},
			"checkpoint: diffusion_pytorch_model.bin: pytorch: "},
		{"missing tensor", fstest.MapFS{"config.json": {Data: config}, "diffusion_pytorch_model.safetensors": {Data: missing.Bytes()}},
			`checkpoint: diffusion_pytorch_model.safetensors: unet: missing tensor "conv_out.bias"`},
		{"wrong architecture", fstest.MapFS{"config.json": {Data: readGolden(t, "unet_course/config.json")}, "diffusion_pytorch_model.safetensors": {Data: weights}},
			`checkpoint: diffusion_pytorch_model.safetensors: unet: tensor "time_embedding.linear_1.weight": shape [64 16], want [256 64]`},
	}
	for _, tt := range tests {
		_, err := checkpoint.Load(tt.files)
		if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}

	if _, err := checkpoint.LoadDir(filepath.Join(t.TempDir(), "nowhere")); err == nil || !strings.HasPrefix(err.Error(), "checkpoint: stat ") {
		t.Errorf("missing folder: got %v", err)
	}
	dir := write(t, map[string][]byte{"config.json": config})
	if _, err := checkpoint.LoadDir(dir); err == nil || err.Error() != "checkpoint: no diffusion_pytorch_model.safetensors or .bin in the top folder (in "+dir+")" {
		t.Errorf("folder without weights: got %v", err)
	}
	if _, err := checkpoint.LoadDir(dir, checkpoint.Variant("fp16")); err == nil || err.Error() != "checkpoint: no diffusion_pytorch_model.fp16.safetensors or .bin in the top folder (in "+dir+")" {
		t.Errorf("folder without the variant's weights: got %v", err)
	}
}

// The shipped default model loads and predicts finite values of the right
// shape. The time per forward is logged, not asserted.
func TestButterflies(t *testing.T) {
	ckpt, err := checkpoint.LoadDir(golden.Model(t, "butterflies-32"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(ckpt.SchedulerConfig, []byte(`"v_prediction"`)) {
		t.Errorf("scheduler config %q", ckpt.SchedulerConfig)
	}
	x := tensor.New(2, 3, 32, 32)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(0.37 * float64(i)))
	}
	start := time.Now()
	out, err := ckpt.UNet.Forward(x, []float32{980, 20})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Shape, []int{2, 3, 32, 32}) {
		t.Fatalf("output shape %v", out.Shape)
	}
	for i, v := range out.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) || math.Abs(float64(v)) > 10 {
			t.Fatalf("output[%d] = %v", i, v)
		}
	}
	t.Logf("batch 2 forward in %v; %.3g MACs per image", time.Since(start), float64(ckpt.UNet.MACs()))
}

func BenchmarkButterfliesForward(b *testing.B) {
	ckpt, err := checkpoint.LoadDir(golden.Model(b, "butterflies-32"))
	if err != nil {
		b.Fatal(err)
	}
	x := tensor.New(1, 3, 32, 32)
	for b.Loop() {
		if _, err := ckpt.UNet.Forward(x, []float32{500}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(ckpt.UNet.MACs())*2*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
}

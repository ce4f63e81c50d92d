package unet_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/unet"
)

// courseConfig2022 is config.json as diffusers 0.9 wrote it in 2022 for the
// course's johnowhitaker/ddpm-butterflies-32px (702 bytes: json.dumps with
// indent 2 and sorted keys, no keys newer than 0.9).
const courseConfig2022 = `{
  "_class_name": "UNet2DModel",
  "_diffusers_version": "0.9.0",
  "act_fn": "silu",
  "attention_head_dim": 8,
  "block_out_channels": [
    64,
    128,
    128,
    256
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
  "norm_num_groups": 32,
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

// cifar10Config is google/ddpm-cifar10-32's config.json (diffusers 0.0.4):
// [sin, cos] embedding with freq_shift 1, eps 1e-6, asymmetric downsampling
// padding and one attention head.
const cifar10Config = `{
  "_class_name": "UNet2DModel",
  "_diffusers_version": "0.0.4",
  "act_fn": "silu",
  "attention_head_dim": null,
  "block_out_channels": [128, 256, 256, 256],
  "center_input_sample": false,
  "down_block_types": ["DownBlock2D", "AttnDownBlock2D", "DownBlock2D", "DownBlock2D"],
  "downsample_padding": 0,
  "flip_sin_to_cos": false,
  "freq_shift": 1,
  "in_channels": 3,
  "layers_per_block": 2,
  "mid_block_scale_factor": 1,
  "norm_eps": 1e-06,
  "norm_num_groups": 32,
  "out_channels": 3,
  "sample_size": 32,
  "time_embedding_type": "positional",
  "up_block_types": ["UpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"]
}`

func mustParse(t testing.TB, data string) unet.Config {
	t.Helper()
	cfg, err := unet.ParseConfig([]byte(data))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestParseConfigReference(t *testing.T) {
	tiny := golden.UNetConfig(t, "unet_tiny/config.json")
	want := unet.DefaultConfig()
	want.SampleSize = [2]int{32, 32}
	want.BlockOutChannels = []int{16, 24, 32, 40}
	want.NormNumGroups = 8
	want.DownBlockTypes = []string{"DownBlock2D", "DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"}
	want.UpBlockTypes = []string{"AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D", "UpBlock2D"}
	if !reflect.DeepEqual(tiny, want) {
		t.Errorf("unet_tiny config:\n got %+v\nwant %+v", tiny, want)
	}

	course := golden.UNetConfig(t, "unet_course/config.json")
	want.BlockOutChannels = []int{64, 128, 128, 256}
	want.NormNumGroups = 32
	if !reflect.DeepEqual(course, want) {
		t.Errorf("unet_course config:\n got %+v\nwant %+v", course, want)
	}

	// The 2022 course config lacks every newer key; they take today's defaults.
	if len(courseConfig2022) != 702 {
		t.Errorf("2022 config is %d bytes, want 702", len(courseConfig2022))
	}
	if old := mustParse(t, courseConfig2022); !reflect.DeepEqual(old, want) {
		t.Errorf("2022 course config:\n got %+v\nwant %+v", old, want)
	}

	data, err := os.ReadFile(filepath.Join(golden.Model(t, "butterflies-32"), "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	butterflies, err := unet.ParseConfig(data)
	if err != nil {
		t.Fatal(err)
	}
	want.BlockOutChannels = []int{32, 64, 64, 128}
	if !reflect.DeepEqual(butterflies, want) {
		t.Errorf("butterflies-32 config:\n got %+v\nwant %+v", butterflies, want)
	}
}

func TestParseConfigCifar10(t *testing.T) {
	cfg := mustParse(t, cifar10Config)
	if cfg.FlipSinToCos || cfg.FreqShift != 1 || cfg.NormEps != 1e-6 || cfg.DownsamplePadding != 0 || cfg.AttentionHeadDim != 0 {
		t.Errorf("got %+v", cfg)
	}
	// Keys the 0.0.4 config lacks.
	if cfg.ResnetTimeScaleShift != "default" || !cfg.AddAttention || cfg.MidBlockType != "UNetMidBlock2D" || cfg.DownsampleType != "conv" {
		t.Errorf("defaults not applied: %+v", cfg)
	}
	params, err := cfg.Params()
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, p := range params {
		n += numelOf(p.Shape)
	}
	// google/ddpm-cifar10-32 has 35,746,307 parameters.
	if len(params) == 0 || n != 35746307 {
		t.Errorf("%d tensors, %d parameters, want 35746307", len(params), n)
	}
}

func TestParseConfigDefaults(t *testing.T) {
	cfg := mustParse(t, `{}`)
	if !reflect.DeepEqual(cfg, unet.DefaultConfig()) {
		t.Errorf("{} gives %+v", cfg)
	}
	if cfg.AttentionHeadDim != 8 {
		t.Errorf("missing attention_head_dim gives %d, want 8", cfg.AttentionHeadDim)
	}
	cfg = mustParse(t, `{"sample_size": [32, 64], "attention_head_dim": null, "mid_block_type": null, "time_embedding_dim": 48,
		"attn_norm_num_groups": 4, "act_fn": "swish", "num_train_timesteps": 1000, "dropout": 0.1, "_name_or_path": "x"}`)
	if cfg.SampleSize != [2]int{32, 64} || cfg.AttentionHeadDim != 0 || cfg.MidBlockType != "" || cfg.TimeEmbeddingDim != 48 ||
		cfg.AttnNormNumGroups != 4 || cfg.NumTrainTimesteps != 1000 || cfg.Dropout != 0.1 {
		t.Errorf("got %+v", cfg)
	}
}

// TestParseConfigErrors changes one key of unet_tiny's config at a time.
func TestParseConfigErrors(t *testing.T) {
	base := map[string]any{}
	data, err := os.ReadFile(filepath.Join(golden.Dir(t), "unet_tiny/config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &base); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key   string
		value any
		want  string
	}{
		// Wrong JSON types.
		{"in_channels", "3", `unet: config key "in_channels": got string "3", want an integer`},
		{"layers_per_block", 2.5, `unet: config key "layers_per_block": got number 2.5, want an integer`},
		{"block_out_channels", []any{16, "24", 32, 40}, `unet: config key "block_out_channels[1]": got string "24", want an integer`},
		{"block_out_channels", 16, `unet: config key "block_out_channels": got number 16, want a list`},
		{"flip_sin_to_cos", 1, `unet: config key "flip_sin_to_cos": got number 1, want a boolean`},
		{"norm_eps", "1e-5", `unet: config key "norm_eps": got string "1e-5", want a number`},
		{"act_fn", nil, `unet: config key "act_fn": got null, want a string`},
		{"down_block_types", "DownBlock2D", `unet: config key "down_block_types": got string "DownBlock2D", want a list`},
		{"sample_size", "32", `unet: config key "sample_size": got string "32", want an integer or a [height, width] list`},
		{"attention_head_dim", map[string]any{}, `unet: config key "attention_head_dim": got object {}, want an integer`},
		{"center_input_sample", "false", `unet: config key "center_input_sample": got string "false", want a boolean`},
		{"time_embedding_dim", true, `unet: config key "time_embedding_dim": got boolean true, want an integer`},
		{"_class_name", 1, `unet: config key "_class_name": got number 1, want a string`},
		// Values this package does not implement.
		{"act_fn", "gelu", `unet: config key "act_fn": unsupported value "gelu"`},
		{"act_fn", "mish", `unet: config key "act_fn": unsupported value "mish"`},
		{"time_embedding_type", "fourier", `unet: config key "time_embedding_type": unsupported value "fourier"`},
		{"time_embedding_type", "learned", `unet: config key "time_embedding_type": unsupported value "learned"`},
		{"class_embed_type", "timestep", `unet: config key "class_embed_type": unsupported value "timestep"`},
		{"num_class_embeds", 10, `unet: config key "num_class_embeds": unsupported value 10`},
		{"resnet_time_scale_shift", "scale_shift", `unet: config key "resnet_time_scale_shift": unsupported value "scale_shift"`},
		{"downsample_type", "resnet", `unet: config key "downsample_type": unsupported value "resnet"`},
		{"upsample_type", "resnet", `unet: config key "upsample_type": unsupported value "resnet"`},
		{"down_block_types", []any{"DownBlock2D", "SkipDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"}, `unet: config key "down_block_types": unsupported value "SkipDownBlock2D"`},
		{"up_block_types", []any{"AttnUpBlock2D", "AttnSkipUpBlock2D", "UpBlock2D", "UpBlock2D"}, `unet: config key "up_block_types": unsupported value "AttnSkipUpBlock2D"`},
		{"mid_block_type", "UNetMidBlock2DCrossAttn", `unet: config key "mid_block_type": unsupported value "UNetMidBlock2DCrossAttn"`},
		{"_class_name", "UNet2DConditionModel", `unet: config key "_class_name": unsupported value "UNet2DConditionModel"`},
		{"downsample_padding", 2, `unet: config key "downsample_padding": unsupported value 2`},
		{"norm_num_groups", nil, `unet: config key "norm_num_groups": unsupported value null`},
		{"norm_num_groups", 0, `unet: config key "norm_num_groups": unsupported value 0`},
		{"norm_eps", 0, `unet: config key "norm_eps": unsupported value 0`},
		{"norm_eps", -1e-5, `unet: config key "norm_eps": unsupported value -0.00001`},
		{"dropout", 1.5, `unet: config key "dropout": unsupported value 1.5`},
		{"mid_block_scale_factor", 0, `unet: config key "mid_block_scale_factor": unsupported value 0`},
		{"layers_per_block", 0, `unet: config key "layers_per_block": unsupported value 0`},
		{"layers_per_block", 1000000, `unet: config key "layers_per_block": unsupported value 1000000`},
		{"in_channels", 0, `unet: config key "in_channels": unsupported value 0`},
		{"out_channels", -3, `unet: config key "out_channels": unsupported value -3`},
		{"block_out_channels", []any{16, 24, 32, 0}, `unet: config key "block_out_channels": unsupported value [16,24,32,0]`},
		{"sample_size", []any{32}, `unet: config key "sample_size": unsupported value [32]`},
		{"attention_head_dim", -8, `unet: config key "attention_head_dim": unsupported value -8`},
		{"attention_head_dim", 64, `unet: config key "attention_head_dim": 64 exceeds the 32 channels of down_blocks.2`},
		{"freq_shift", 8, `unet: config key "freq_shift": unsupported value 8`},
		{"foo", 1, `unet: config key "foo": not a UNet2DModel key`},
		// Inconsistent keys.
		{"norm_num_groups", 16, `unet: config key "norm_num_groups": 16 groups do not divide block_out_channels[1] = 24`},
		{"attn_norm_num_groups", 3, `unet: config key "attn_norm_num_groups": 3 groups do not divide the 40 channels of mid_block`},
		{"down_block_types", []any{"DownBlock2D", "DownBlock2D", "AttnDownBlock2D"}, `unet: config key "down_block_types": 3 entries for 4 block_out_channels`},
		{"up_block_types", []any{"UpBlock2D"}, `unet: config key "up_block_types": 1 entries for 4 block_out_channels`},
		{"block_out_channels", []any{}, `unet: config key "block_out_channels": 0 entries, want 1 to 16`},
	}
	for _, tt := range tests {
		cfg := map[string]any{}
		for k, v := range base {
			cfg[k] = v
		}
		cfg[tt.key] = tt.value
		data, err := json.Marshal(cfg)
		if err != nil {
			t.Fatal(err)
		}
		_, err = unet.ParseConfig(data)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s = %v:\n got %v\nwant %s", tt.key, tt.value, err, tt.want)
		}
	}

	for _, data := range []string{``, `[]`, `null`, `{"in_channels": 3`, `{"sample_size": NaN}`} {
		_, err := unet.ParseConfig([]byte(data))
		if err == nil || !strings.HasPrefix(err.Error(), "unet: config") {
			t.Errorf("%q: got %v, want a config error", data, err)
		}
	}
}

// FuzzConfig checks that ParseConfig never panics, and that a config it
// accepts can be laid out.
func FuzzConfig(f *testing.F) {
	for _, rel := range []string{"unet_tiny/config.json", "unet_course/config.json"} {
		data, err := os.ReadFile(filepath.Join(golden.Dir(f), rel))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(courseConfig2022))
	f.Add([]byte(cifar10Config))
	f.Add([]byte(`{"block_out_channels": [8], "down_block_types": ["AttnDownBlock2D"], "up_block_types": ["AttnUpBlock2D"], "norm_num_groups": 4, "attention_head_dim": 3}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := unet.ParseConfig(data)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "unet: config") {
				t.Errorf("error %q does not say it is about the config", err)
			}
			return
		}
		if _, err := cfg.Params(); err != nil {
			t.Errorf("accepted config has no layout: %v", err)
		}
	})
}

func numelOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// TestConfigJSON checks that JSON reproduces config.json files that
// diffusers wrote, byte for byte, and that ParseConfig reads back what JSON
// writes for configs away from the defaults.
func TestConfigJSON(t *testing.T) {
	for _, path := range []string{
		filepath.Join(golden.Dir(t), "unet_tiny", "config.json"),
		filepath.Join(golden.Dir(t), "unet_course", "config.json"),
		filepath.Join(golden.Model(t, "butterflies-32"), "config.json"),
	} {
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		c, err := unet.ParseConfig(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := c.JSON(); !bytes.Equal(got, data) {
			t.Errorf("%s: JSON differs from the file:\n%s", path, got)
		}
	}

	c := unet.DefaultConfig()
	c.SampleSize = [2]int{16, 32}
	c.TimeEmbeddingDim = 48
	c.MidBlockType = ""
	c.AttentionHeadDim = 0
	c.FreqShift = 1
	c.NormEps = 1e-6
	c.Dropout = 0.25
	c.MidBlockScaleFactor = 1.5
	c.AttnNormNumGroups = 16
	back, err := unet.ParseConfig(c.JSON())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, c) {
		t.Errorf("round trip:\n got %+v\nwant %+v\n%s", back, c, c.JSON())
	}
	for _, want := range []string{`"sample_size": [`, `"time_embedding_dim": 48`, `"mid_block_type": null`, `"attention_head_dim": null`,
		`"norm_eps": 1e-06`, `"dropout": 0.25`, `"mid_block_scale_factor": 1.5`, `"freq_shift": 1,`} {
		if !bytes.Contains(c.JSON(), []byte(want)) {
			t.Errorf("JSON lacks %s:\n%s", want, c.JSON())
		}
	}
}

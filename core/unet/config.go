package unet

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Config is diffusers' UNet2DModel configuration: one field per key that
// diffusers v0.31–v0.38 writes to config.json (the JSON name is in the
// comment). A JSON null is stored as the zero value where the comment says so.
type Config struct {
	SampleSize           [2]int   // sample_size: [height, width]; an int means square; null gives [0, 0]
	InChannels           int      // in_channels
	OutChannels          int      // out_channels
	CenterInputSample    bool     // center_input_sample: x = 2x - 1 before conv_in
	TimeEmbeddingType    string   // time_embedding_type: only "positional" (sinusoidal) is supported
	TimeEmbeddingDim     int      // time_embedding_dim: 0 (null) means 4·BlockOutChannels[0]
	FreqShift            float64  // freq_shift: f_j = exp(-ln(10000)·j/(half - FreqShift))
	FlipSinToCos         bool     // flip_sin_to_cos: [cos, sin] instead of [sin, cos]
	DownBlockTypes       []string // down_block_types: "DownBlock2D" or "AttnDownBlock2D"
	MidBlockType         string   // mid_block_type: "UNetMidBlock2D", or "" (null) for no mid block
	UpBlockTypes         []string // up_block_types: "UpBlock2D" or "AttnUpBlock2D"
	BlockOutChannels     []int    // block_out_channels
	LayersPerBlock       int      // layers_per_block: resnets per down block (up blocks have one more)
	MidBlockScaleFactor  float64  // mid_block_scale_factor: mid resnets and attention divide their output by it
	DownsamplePadding    int      // downsample_padding: 1, or 0 for an asymmetric (0,1,0,1) pad
	DownsampleType       string   // downsample_type: only "conv"
	UpsampleType         string   // upsample_type: only "conv"
	Dropout              float64  // dropout: inactive at inference
	ActFn                string   // act_fn: "silu" (or its alias "swish")
	AttentionHeadDim     int      // attention_head_dim: channels per head; 0 (null) means one head
	NormNumGroups        int      // norm_num_groups: groups of every GroupNorm
	AttnNormNumGroups    int      // attn_norm_num_groups: groups of the mid attention's GroupNorm; 0 (null) means NormNumGroups
	NormEps              float64  // norm_eps: eps of every GroupNorm
	ResnetTimeScaleShift string   // resnet_time_scale_shift: only "default" (add the time embedding)
	AddAttention         bool     // add_attention: whether the mid block has its attention
	ClassEmbedType       string   // class_embed_type: only "" (null) is supported
	NumClassEmbeds       int      // num_class_embeds: only 0 (null) is supported
	NumTrainTimesteps    int      // num_train_timesteps: used only by "learned" time embeddings; 0 is null
}

// Sane upper bounds that keep a hostile config from asking for absurd loops
// or allocations; real models are far below them.
const (
	maxChannels = 1 << 16
	maxBlocks   = 16
	maxLayers   = 64
)

// DefaultConfig is UNet2DModel() with every argument at today's diffusers
// default. ParseConfig starts from it, so a key missing from an older
// config.json takes this value.
func DefaultConfig() Config {
	return Config{
		InChannels:           3,
		OutChannels:          3,
		TimeEmbeddingType:    "positional",
		FlipSinToCos:         true,
		DownBlockTypes:       []string{"DownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D", "AttnDownBlock2D"},
		MidBlockType:         "UNetMidBlock2D",
		UpBlockTypes:         []string{"AttnUpBlock2D", "AttnUpBlock2D", "AttnUpBlock2D", "UpBlock2D"},
		BlockOutChannels:     []int{224, 448, 672, 896},
		LayersPerBlock:       2,
		MidBlockScaleFactor:  1,
		DownsamplePadding:    1,
		DownsampleType:       "conv",
		UpsampleType:         "conv",
		ActFn:                "silu",
		AttentionHeadDim:     8,
		NormNumGroups:        32,
		NormEps:              1e-5,
		ResnetTimeScaleShift: "default",
		AddAttention:         true,
	}
}

// ParseConfig reads a UNet2DModel config.json. Missing keys take today's
// diffusers defaults (DefaultConfig). A value of the wrong JSON type, or one
// this package does not implement, is an error naming the key. Keys starting
// with "_" (_class_name, _diffusers_version, _name_or_path, ...) are metadata;
// _class_name must be "UNet2DModel" if present. Any other key that is not a
// UNet2DModel argument is an error: it may come from a model this package
// would silently compute wrongly.
func ParseConfig(data []byte) (Config, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil || raw == nil {
		if err == nil {
			err = fmt.Errorf("null")
		}
		return Config{}, fmt.Errorf("unet: config is not a JSON object: %v", err)
	}
	c := DefaultConfig()
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		var v any
		if err := json.Unmarshal(raw[k], &v); err != nil {
			return Config{}, fmt.Errorf("unet: config key %q: %v", k, err)
		}
		if err := c.set(k, v); err != nil {
			return Config{}, err
		}
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// set stores the JSON value v of key k, checking only its type.
func (c *Config) set(k string, v any) error {
	var err error
	switch k {
	case "_class_name":
		var s string
		if s, err = str(k, v); err == nil && s != "UNet2DModel" {
			err = unsupported(k, v)
		}
	case "sample_size":
		c.SampleSize, err = sampleSize(k, v)
	case "in_channels":
		c.InChannels, err = integer(k, v)
	case "out_channels":
		c.OutChannels, err = integer(k, v)
	case "center_input_sample":
		c.CenterInputSample, err = boolean(k, v)
	case "time_embedding_type":
		c.TimeEmbeddingType, err = str(k, v)
	case "time_embedding_dim":
		c.TimeEmbeddingDim, err = nullable(k, v, integer)
	case "freq_shift":
		c.FreqShift, err = number(k, v)
	case "flip_sin_to_cos":
		c.FlipSinToCos, err = boolean(k, v)
	case "down_block_types":
		c.DownBlockTypes, err = list(k, v, str)
	case "mid_block_type":
		c.MidBlockType, err = nullable(k, v, str)
	case "up_block_types":
		c.UpBlockTypes, err = list(k, v, str)
	case "block_out_channels":
		c.BlockOutChannels, err = list(k, v, integer)
	case "layers_per_block":
		c.LayersPerBlock, err = integer(k, v)
	case "mid_block_scale_factor":
		c.MidBlockScaleFactor, err = number(k, v)
	case "downsample_padding":
		c.DownsamplePadding, err = integer(k, v)
	case "downsample_type":
		c.DownsampleType, err = str(k, v)
	case "upsample_type":
		c.UpsampleType, err = str(k, v)
	case "dropout":
		c.Dropout, err = number(k, v)
	case "act_fn":
		c.ActFn, err = str(k, v)
	case "attention_head_dim":
		c.AttentionHeadDim, err = nullable(k, v, integer)
	case "norm_num_groups":
		if v == nil {
			return unsupported(k, v) // diffusers' resnets cannot be built without a group count
		}
		c.NormNumGroups, err = integer(k, v)
	case "attn_norm_num_groups":
		c.AttnNormNumGroups, err = nullable(k, v, integer)
	case "norm_eps":
		c.NormEps, err = number(k, v)
	case "resnet_time_scale_shift":
		c.ResnetTimeScaleShift, err = str(k, v)
	case "add_attention":
		c.AddAttention, err = boolean(k, v)
	case "class_embed_type":
		c.ClassEmbedType, err = nullable(k, v, str)
	case "num_class_embeds":
		c.NumClassEmbeds, err = nullable(k, v, integer)
	case "num_train_timesteps":
		c.NumTrainTimesteps, err = nullable(k, v, integer)
	default:
		if !strings.HasPrefix(k, "_") {
			return fmt.Errorf("unet: config key %q: not a UNet2DModel key", k)
		}
	}
	return err
}

// Validate checks that c describes a network this package implements: every
// error names the config key and its value.
func (c Config) Validate() error {
	n := len(c.BlockOutChannels)
	switch {
	case c.SampleSize[0] < 0 || c.SampleSize[1] < 0 || c.SampleSize[0] > maxChannels || c.SampleSize[1] > maxChannels:
		return unsupported("sample_size", c.SampleSize)
	case c.InChannels < 1 || c.InChannels > maxChannels:
		return unsupported("in_channels", c.InChannels)
	case c.OutChannels < 1 || c.OutChannels > maxChannels:
		return unsupported("out_channels", c.OutChannels)
	case c.TimeEmbeddingType != "positional":
		return unsupported("time_embedding_type", c.TimeEmbeddingType)
	case c.TimeEmbeddingDim < 0 || c.TimeEmbeddingDim > maxChannels:
		return unsupported("time_embedding_dim", c.TimeEmbeddingDim)
	case n == 0 || n > maxBlocks:
		return fmt.Errorf("unet: config key \"block_out_channels\": %d entries, want 1 to %d", n, maxBlocks)
	case len(c.DownBlockTypes) != n:
		return fmt.Errorf("unet: config key \"down_block_types\": %d entries for %d block_out_channels", len(c.DownBlockTypes), n)
	case len(c.UpBlockTypes) != n:
		return fmt.Errorf("unet: config key \"up_block_types\": %d entries for %d block_out_channels", len(c.UpBlockTypes), n)
	case c.MidBlockType != "" && c.MidBlockType != "UNetMidBlock2D":
		return unsupported("mid_block_type", c.MidBlockType)
	case c.LayersPerBlock < 1 || c.LayersPerBlock > maxLayers:
		return unsupported("layers_per_block", c.LayersPerBlock)
	case c.MidBlockScaleFactor == 0 || math.IsNaN(c.MidBlockScaleFactor) || math.IsInf(c.MidBlockScaleFactor, 0):
		return unsupported("mid_block_scale_factor", c.MidBlockScaleFactor)
	case c.DownsamplePadding != 0 && c.DownsamplePadding != 1:
		return unsupported("downsample_padding", c.DownsamplePadding)
	case c.DownsampleType != "conv":
		return unsupported("downsample_type", c.DownsampleType)
	case c.UpsampleType != "conv":
		return unsupported("upsample_type", c.UpsampleType)
	case !(c.Dropout >= 0 && c.Dropout <= 1):
		return unsupported("dropout", c.Dropout)
	case c.ActFn != "silu" && c.ActFn != "swish":
		return unsupported("act_fn", c.ActFn)
	case c.AttentionHeadDim < 0 || c.AttentionHeadDim > maxChannels:
		return unsupported("attention_head_dim", c.AttentionHeadDim)
	case c.NormNumGroups < 1:
		return unsupported("norm_num_groups", c.NormNumGroups)
	case c.AttnNormNumGroups < 0:
		return unsupported("attn_norm_num_groups", c.AttnNormNumGroups)
	case !(c.NormEps > 0) || math.IsInf(c.NormEps, 0):
		return unsupported("norm_eps", c.NormEps)
	case c.ResnetTimeScaleShift != "default":
		return unsupported("resnet_time_scale_shift", c.ResnetTimeScaleShift)
	case c.ClassEmbedType != "":
		return unsupported("class_embed_type", c.ClassEmbedType)
	case c.NumClassEmbeds != 0:
		return unsupported("num_class_embeds", c.NumClassEmbeds)
	}
	if half := float64(c.BlockOutChannels[0] / 2); math.IsNaN(c.FreqShift) || math.IsInf(c.FreqShift, 0) || half-c.FreqShift == 0 {
		return unsupported("freq_shift", c.FreqShift)
	}
	for i, ch := range c.BlockOutChannels {
		if ch < 1 || ch > maxChannels {
			return unsupported("block_out_channels", c.BlockOutChannels)
		}
		if ch%c.NormNumGroups != 0 {
			return fmt.Errorf("unet: config key \"norm_num_groups\": %d groups do not divide block_out_channels[%d] = %d", c.NormNumGroups, i, ch)
		}
	}
	// Block types, and at least one head in every attention, in module order.
	for i, typ := range c.DownBlockTypes {
		if typ != "DownBlock2D" && typ != "AttnDownBlock2D" {
			return unsupported("down_block_types", typ)
		}
		if ch := c.BlockOutChannels[i]; typ == "AttnDownBlock2D" && c.AttentionHeadDim > ch {
			return fmt.Errorf("unet: config key \"attention_head_dim\": %d exceeds the %d channels of down_blocks.%d", c.AttentionHeadDim, ch, i)
		}
	}
	if c.MidBlockType != "" && c.AddAttention {
		last := c.BlockOutChannels[n-1]
		if c.AttentionHeadDim > last {
			return fmt.Errorf("unet: config key \"attention_head_dim\": %d exceeds the %d channels of mid_block", c.AttentionHeadDim, last)
		}
		if g := c.midAttnGroups(); last%g != 0 {
			return fmt.Errorf("unet: config key \"attn_norm_num_groups\": %d groups do not divide the %d channels of mid_block", g, last)
		}
	}
	for i, typ := range c.UpBlockTypes {
		if typ != "UpBlock2D" && typ != "AttnUpBlock2D" {
			return unsupported("up_block_types", typ)
		}
		if ch := c.BlockOutChannels[n-1-i]; typ == "AttnUpBlock2D" && c.AttentionHeadDim > ch {
			return fmt.Errorf("unet: config key \"attention_head_dim\": %d exceeds the %d channels of up_blocks.%d", c.AttentionHeadDim, ch, i)
		}
	}
	return nil
}

// timeEmbedDim is the width of the time embedding given to every resnet.
func (c Config) timeEmbedDim() int {
	if c.TimeEmbeddingDim > 0 {
		return c.TimeEmbeddingDim
	}
	return 4 * c.BlockOutChannels[0]
}

// midAttnGroups is the group count of the mid block attention's GroupNorm.
func (c Config) midAttnGroups() int {
	if c.AttnNormNumGroups > 0 {
		return c.AttnNormNumGroups
	}
	return c.NormNumGroups
}

// headDim is the per-head width of an attention over ch channels: the
// config's attention_head_dim, or ch itself (one head) when it is null.
func (c Config) headDim(ch int) int {
	if c.AttentionHeadDim > 0 {
		return c.AttentionHeadDim
	}
	return ch
}

// JSON type checks. encoding/json decodes into any as nil, bool, float64,
// string, []any or map[string]any.

func integer(k string, v any) (int, error) {
	f, ok := v.(float64)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		return 0, wrongType(k, v, "an integer")
	}
	return int(f), nil
}

func number(k string, v any) (float64, error) {
	f, ok := v.(float64)
	if !ok {
		return 0, wrongType(k, v, "a number")
	}
	return f, nil
}

func boolean(k string, v any) (bool, error) {
	b, ok := v.(bool)
	if !ok {
		return false, wrongType(k, v, "a boolean")
	}
	return b, nil
}

func str(k string, v any) (string, error) {
	s, ok := v.(string)
	if !ok {
		return "", wrongType(k, v, "a string")
	}
	return s, nil
}

// nullable maps JSON null to the zero value and parses anything else with p.
func nullable[T any](k string, v any, p func(string, any) (T, error)) (T, error) {
	if v == nil {
		var zero T
		return zero, nil
	}
	return p(k, v)
}

func list[T any](k string, v any, p func(string, any) (T, error)) ([]T, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, wrongType(k, v, "a list")
	}
	out := make([]T, len(a))
	for i, e := range a {
		x, err := p(fmt.Sprintf("%s[%d]", k, i), e)
		if err != nil {
			return nil, err
		}
		out[i] = x
	}
	return out, nil
}

// sampleSize accepts null, an int (square) or a [height, width] list.
func sampleSize(k string, v any) ([2]int, error) {
	switch v.(type) {
	case nil:
		return [2]int{}, nil
	case []any:
		hw, err := list(k, v, integer)
		if err != nil {
			return [2]int{}, err
		}
		if len(hw) != 2 {
			return [2]int{}, unsupported(k, v)
		}
		return [2]int{hw[0], hw[1]}, nil
	}
	s, err := integer(k, v)
	if err != nil {
		return [2]int{}, wrongType(k, v, "an integer or a [height, width] list")
	}
	return [2]int{s, s}, nil
}

func wrongType(k string, v any, want string) error {
	return fmt.Errorf("unet: config key %q: got %s, want %s", k, describe(v), want)
}

func unsupported(k string, v any) error {
	return fmt.Errorf("unet: config key %q: unsupported value %s", k, show(v))
}

// describe names the JSON type of v and shows it: `string "3"`.
func describe(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean " + show(v)
	case float64:
		return "number " + show(v)
	case string:
		return "string " + show(v)
	case []any:
		return "list " + show(v)
	}
	return "object " + show(v)
}

// show is v as JSON, shortened to 60 bytes.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil { // NaN or ±Inf in a hand-built Config
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}

package unet

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
)

// diffusersVersion is the _diffusers_version that JSON writes: the version
// whose config.json layout it reproduces.
const diffusersVersion = "0.31.0"

// JSON returns c as diffusers v0.31's save_config writes config.json:
// json.dumps(config, indent=2, sort_keys=True) plus a newline, with
// _class_name and _diffusers_version first, Python's number formatting
// (1e-05, 0.0) and null for the nullable keys at their zero value. The two
// keys that v0.31 does not know, time_embedding_dim and mid_block_type, are
// written only when they differ from their defaults (null and
// "UNetMidBlock2D"), so that the model they describe is not lost. For a
// config that diffusers wrote, ParseConfig then JSON gives back its bytes.
func (c Config) JSON() []byte {
	nullInt := func(v int) any {
		if v == 0 {
			return nil
		}
		return v
	}
	nullStr := func(v string) any {
		if v == "" {
			return nil
		}
		return v
	}
	var sampleSize any
	switch {
	case c.SampleSize == [2]int{}:
	case c.SampleSize[0] == c.SampleSize[1]:
		sampleSize = c.SampleSize[0]
	default:
		sampleSize = []int{c.SampleSize[0], c.SampleSize[1]}
	}
	kv := map[string]any{
		"_class_name":             "UNet2DModel",
		"_diffusers_version":      diffusersVersion,
		"act_fn":                  c.ActFn,
		"add_attention":           c.AddAttention,
		"attention_head_dim":      nullInt(c.AttentionHeadDim),
		"attn_norm_num_groups":    nullInt(c.AttnNormNumGroups),
		"block_out_channels":      c.BlockOutChannels,
		"center_input_sample":     c.CenterInputSample,
		"class_embed_type":        nullStr(c.ClassEmbedType),
		"down_block_types":        c.DownBlockTypes,
		"downsample_padding":      c.DownsamplePadding,
		"downsample_type":         c.DownsampleType,
		"dropout":                 pyFloat(c.Dropout),
		"flip_sin_to_cos":         c.FlipSinToCos,
		"freq_shift":              pyNumber(c.FreqShift),
		"in_channels":             c.InChannels,
		"layers_per_block":        c.LayersPerBlock,
		"mid_block_scale_factor":  pyNumber(c.MidBlockScaleFactor),
		"norm_eps":                pyFloat(c.NormEps),
		"norm_num_groups":         c.NormNumGroups,
		"num_class_embeds":        nullInt(c.NumClassEmbeds),
		"num_train_timesteps":     nullInt(c.NumTrainTimesteps),
		"out_channels":            c.OutChannels,
		"resnet_time_scale_shift": c.ResnetTimeScaleShift,
		"sample_size":             sampleSize,
		"time_embedding_type":     c.TimeEmbeddingType,
		"up_block_types":          c.UpBlockTypes,
		"upsample_type":           c.UpsampleType,
	}
	if c.TimeEmbeddingDim != 0 {
		kv["time_embedding_dim"] = c.TimeEmbeddingDim
	}
	if c.MidBlockType != "UNetMidBlock2D" {
		kv["mid_block_type"] = nullStr(c.MidBlockType)
	}
	return pyJSON(kv)
}

// pyNumber is a number that Python wrote from an int when it is integral
// (diffusers' defaults for freq_shift and mid_block_scale_factor are ints).
type pyNumber float64

// pyFloat is a number that Python wrote from a float: repr(x), e.g. 0.0, 1e-05.
type pyFloat float64

// pyJSON is json.dumps(kv, indent=2, sort_keys=True) + "\n" for the value
// types JSON uses.
func pyJSON(kv map[string]any) []byte {
	var b bytes.Buffer
	writePy(&b, kv, "")
	b.WriteByte('\n')
	return b.Bytes()
}

func writePy(b *bytes.Buffer, v any, indent string) {
	in := indent + "  "
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case int:
		b.WriteString(strconv.Itoa(v))
	case pyNumber:
		if f := float64(v); f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			b.WriteString(strconv.FormatInt(int64(f), 10))
		} else {
			b.WriteString(pyRepr(f))
		}
	case pyFloat:
		b.WriteString(pyRepr(float64(v)))
	case string:
		s, _ := json.Marshal(v) // ASCII names: the same escapes as Python's ensure_ascii
		b.Write(s)
	case []int:
		items := make([]any, len(v))
		for i, x := range v {
			items[i] = x
		}
		writePyList(b, items, indent)
	case []string:
		items := make([]any, len(v))
		for i, x := range v {
			items[i] = x
		}
		writePyList(b, items, indent)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.Sort(keys) // byte-wise, as Python sorts ASCII keys
		b.WriteString("{")
		for i, k := range keys {
			if i > 0 {
				b.WriteString(",")
			}
			b.WriteString("\n" + in)
			writePy(b, k, in)
			b.WriteString(": ")
			writePy(b, v[k], in)
		}
		b.WriteString("\n" + indent + "}")
	default:
		panic(fmt.Sprintf("unet: pyJSON of %T", v))
	}
}

func writePyList(b *bytes.Buffer, items []any, indent string) {
	if len(items) == 0 {
		b.WriteString("[]")
		return
	}
	in := indent + "  "
	b.WriteString("[")
	for i, x := range items {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString("\n" + in)
		writePy(b, x, in)
	}
	b.WriteString("\n" + indent + "]")
}

// pyRepr is Python's repr of a float: the shortest round-tripping digits,
// in positional notation when the decimal exponent is in [-4, 16) (with a
// ".0" for integral values), else as 1.5e-05 / 1e+16.
func pyRepr(f float64) string {
	s := strconv.FormatFloat(f, 'e', -1, 64) // Go also writes at least two exponent digits
	if n, _ := strconv.Atoi(s[strings.IndexByte(s, 'e')+1:]); n < -4 || n >= 16 {
		return s
	}
	s = strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

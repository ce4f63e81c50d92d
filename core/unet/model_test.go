package unet_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// randomWeights gives every tensor of cfg a seeded random value: weights
// N(0, 1/fan_in), biases N(0, 0.1²), GroupNorm scales 1 + N(0, 0.1²).
func randomWeights(t testing.TB, cfg unet.Config, seed uint64) map[string]*tensor.Tensor {
	t.Helper()
	params, err := cfg.Params()
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(seed, 0))
	m := map[string]*tensor.Tensor{}
	for _, p := range params {
		w := tensor.New(p.Shape...)
		isNorm := strings.HasSuffix(p.Name, "norm1.weight") || strings.HasSuffix(p.Name, "norm2.weight") ||
			strings.HasSuffix(p.Name, "group_norm.weight") || p.Name == "conv_norm_out.weight"
		for i := range w.Data {
			switch {
			case isNorm:
				w.Data[i] = float32(1 + 0.1*rng.NormFloat64())
			case len(p.Shape) == 1:
				w.Data[i] = float32(0.1 * rng.NormFloat64())
			default:
				w.Data[i] = float32(rng.NormFloat64() / math.Sqrt(float64(numelOf(p.Shape[1:]))))
			}
		}
		m[p.Name] = w
	}
	return m
}

func randomInput(shape []int, seed uint64) *tensor.Tensor {
	rng := rand.New(rand.NewPCG(seed, 1))
	x := tensor.New(shape...)
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	return x
}

// Params lists exactly unet_tiny's 382 tensors (keys.txt), names and shapes.
func TestParamsTiny(t *testing.T) {
	params, err := golden.UNetConfig(t, "unet_tiny/config.json").Params()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := os.ReadFile(filepath.Join(golden.Dir(t), "unet_tiny/keys.txt"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(keys)), "\n") {
		if col := strings.Split(line, "\t"); !strings.HasPrefix(line, "#") {
			want[col[0]] = strings.ReplaceAll(strings.Trim(col[1], "[]"), ",", "")
		}
	}
	if len(params) != 382 || len(want) != 382 {
		t.Fatalf("%d params, keys.txt has %d, want 382", len(params), len(want))
	}
	for _, p := range params {
		if got := strings.Trim(fmt.Sprint(p.Shape), "[]"); want[p.Name] != got {
			t.Errorf("%s: shape [%s], keys.txt [%s]", p.Name, got, want[p.Name])
		}
	}
}

// The tiny model's weights with one change, and the error New must give.
func TestNewErrors(t *testing.T) {
	cfg := golden.UNetConfig(t, "unet_tiny/config.json")
	current := golden.Tensors(t, golden.Open(t, "unet_tiny/diffusion_pytorch_model.safetensors"))
	legacy := golden.LegacyTensors(t)
	tests := []struct {
		name   string
		legacy bool
		change func(m map[string]*tensor.Tensor)
		want   string
	}{
		{"missing", false, func(m map[string]*tensor.Tensor) { delete(m, "mid_block.attentions.0.to_q.weight") },
			`unet: missing tensor "mid_block.attentions.0.to_q.weight"`},
		{"missing legacy", true, func(m map[string]*tensor.Tensor) { delete(m, "up_blocks.1.attentions.2.proj_attn.bias") },
			`unet: missing tensor "up_blocks.1.attentions.2.to_out.0.bias"`},
		{"shape", false, func(m map[string]*tensor.Tensor) { m["conv_in.weight"] = tensor.New(8, 3, 3, 3) },
			`unet: tensor "conv_in.weight": shape [8 3 3 3], want [16 3 3 3]`},
		{"legacy shape", true, func(m map[string]*tensor.Tensor) { m["mid_block.attentions.0.key.weight"] = tensor.New(40, 40, 1, 1) },
			`unet: tensor "mid_block.attentions.0.key.weight": shape [40 40 1 1], want [40 40]`},
		{"values", false, func(m map[string]*tensor.Tensor) {
			m["conv_out.bias"] = &tensor.Tensor{Shape: []int{3}, Data: make([]float32, 2)}
		},
			`unet: tensor "conv_out.bias": 2 values for shape [3]`},
		{"nil", false, func(m map[string]*tensor.Tensor) { m["conv_out.bias"] = nil },
			`unet: tensor "conv_out.bias" is nil`},
		{"unexpected", false, func(m map[string]*tensor.Tensor) { m["foo"] = tensor.New(1) },
			`unet: unexpected tensor "foo"`},
		{"unexpected several", false, func(m map[string]*tensor.Tensor) {
			m["foo"], m["bar"], m["down_blocks.0.attentions.0.to_q.weight"] = tensor.New(1), tensor.New(1), tensor.New(16, 16)
		}, `unet: unexpected tensor "bar" (and 2 more)`},
		{"both namings", false, func(m map[string]*tensor.Tensor) {
			m["down_blocks.2.attentions.1.query.weight"] = m["down_blocks.2.attentions.1.to_q.weight"]
		}, `unet: tensors "down_blocks.2.attentions.1.query.weight" and "down_blocks.2.attentions.1.to_q.weight" are both "down_blocks.2.attentions.1.to_q.weight"`},
	}
	for _, tt := range tests {
		src := current
		if tt.legacy {
			src = legacy
		}
		m := map[string]*tensor.Tensor{}
		for k, v := range src {
			m[k] = v
		}
		tt.change(m)
		_, err := unet.New(cfg, m)
		if err == nil || err.Error() != tt.want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, tt.want)
		}
	}

	bad := cfg
	bad.ActFn = "relu"
	if _, err := unet.New(bad, current); err == nil || err.Error() != `unet: config key "act_fn": unsupported value "relu"` {
		t.Errorf("bad config: got %v", err)
	}
}

func TestForwardErrors(t *testing.T) {
	m := golden.TinyUNet(t, nil)
	tests := []struct {
		x    *tensor.Tensor
		ts   []float32
		want string
	}{
		{nil, []float32{1}, "unet: input shape [], want [B 3 H W]"},
		{tensor.New(3, 32, 32), []float32{1}, "unet: input shape [3 32 32], want [B 3 H W]"},
		{tensor.New(1, 4, 32, 32), []float32{1}, "unet: input shape [1 4 32 32], want [B 3 H W]"},
		{tensor.New(1, 3, 0, 32), []float32{1}, "unet: input shape [1 3 0 32], want [B 3 H W]"},
		{tensor.New(1, 3, 36, 32), []float32{1}, "unet: input shape [1 3 36 32]: height and width must be multiples of 8"},
		{&tensor.Tensor{Shape: []int{1, 3, 8, 8}, Data: make([]float32, 10)}, []float32{1}, "unet: input shape [1 3 8 8] holds 10 values"},
		{tensor.New(2, 3, 8, 8), []float32{1, 2, 3}, "unet: 3 timesteps for a batch of 2 (want 1 or 2)"},
		{tensor.New(2, 3, 8, 8), nil, "unet: 0 timesteps for a batch of 2 (want 1 or 2)"},
		{tensor.New(1, 3, 8, 8), []float32{float32(math.NaN())}, "unet: timestep NaN is not finite"},
	}
	for _, tt := range tests {
		_, err := m.Forward(tt.x, tt.ts)
		if err == nil || err.Error() != tt.want {
			t.Errorf("got %v, want %s", err, tt.want)
		}
	}
	// Non-square inputs of other sizes are fine, as in diffusers.
	out, err := m.Forward(tensor.New(1, 3, 8, 16), []float32{3})
	if err != nil || !reflect.DeepEqual(out.Shape, []int{1, 3, 8, 16}) {
		t.Errorf("8x16 input: %v, %v", out, err)
	}
}

// The options that the golden models leave at their defaults: each builds
// from a matching set of weights and runs.
func TestConfigVariants(t *testing.T) {
	x := randomInput([]int{2, 3, 16, 16}, 1)
	base := golden.UNetConfig(t, "unet_tiny/config.json")
	tests := []struct {
		name   string
		change func(c *unet.Config)
		check  func(t *testing.T, acts map[string][]int, params []unet.Param)
	}{
		{"no mid block", func(c *unet.Config) { c.MidBlockType = "" }, func(t *testing.T, acts map[string][]int, params []unet.Param) {
			if _, ok := acts["mid_block"]; ok {
				t.Error("mid_block ran")
			}
		}},
		{"no mid attention", func(c *unet.Config) { c.AddAttention = false }, func(t *testing.T, acts map[string][]int, params []unet.Param) {
			for _, p := range params {
				if strings.HasPrefix(p.Name, "mid_block.attentions") {
					t.Errorf("has %s", p.Name)
				}
			}
		}},
		{"time_embedding_dim", func(c *unet.Config) { c.TimeEmbeddingDim = 48 }, func(t *testing.T, acts map[string][]int, params []unet.Param) {
			if !reflect.DeepEqual(acts["time_embedding"], []int{2, 48}) {
				t.Errorf("time_embedding %v", acts["time_embedding"])
			}
		}},
		{"attn_norm_num_groups", func(c *unet.Config) { c.AttnNormNumGroups = 5 }, nil},
		{"heads that do not fill the channels", func(c *unet.Config) { c.AttentionHeadDim = 12 }, func(t *testing.T, acts map[string][]int, params []unet.Param) {
			// 40 channels hold 3 heads of 12: to_q is [36, 40], as diffusers' Attention builds it.
			for _, p := range params {
				if p.Name == "mid_block.attentions.0.to_q.weight" && !reflect.DeepEqual(p.Shape, []int{36, 40}) {
					t.Errorf("%s: %v", p.Name, p.Shape)
				}
			}
		}},
		{"odd embedding width", func(c *unet.Config) {
			c.BlockOutChannels = []int{9, 18, 18, 27}
			c.NormNumGroups = 9
			c.AttentionHeadDim = 9
		}, func(t *testing.T, acts map[string][]int, params []unet.Param) {
			if !reflect.DeepEqual(acts["time_proj"], []int{2, 9}) {
				t.Errorf("time_proj %v", acts["time_proj"])
			}
		}},
		{"one block", func(c *unet.Config) {
			c.BlockOutChannels = []int{16}
			c.DownBlockTypes = []string{"AttnDownBlock2D"}
			c.UpBlockTypes = []string{"AttnUpBlock2D"}
			c.LayersPerBlock = 1
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base
			tt.change(&cfg)
			if err := cfg.Validate(); err != nil {
				t.Fatal(err)
			}
			params, err := cfg.Params()
			if err != nil {
				t.Fatal(err)
			}
			m, err := unet.New(cfg, randomWeights(t, cfg, 2))
			if err != nil {
				t.Fatal(err)
			}
			acts := map[string][]int{}
			out, err := m.ForwardTrace(x, []float32{10, 500}, func(name string, act *tensor.Tensor) { acts[name] = act.Shape })
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(out.Shape, []int{2, 3, 16, 16}) || !finite(out.Data) {
				t.Errorf("output shape %v, finite %v", out.Shape, finite(out.Data))
			}
			if tt.check != nil {
				tt.check(t, acts, params)
			}
		})
	}
}

// center_input_sample computes conv_in(2x - 1): the same as feeding 2x - 1.
func TestCenterInputSample(t *testing.T) {
	cfg := golden.UNetConfig(t, "unet_tiny/config.json")
	weights := golden.Tensors(t, golden.Open(t, "unet_tiny/diffusion_pytorch_model.safetensors"))
	plain, err := unet.New(cfg, weights)
	if err != nil {
		t.Fatal(err)
	}
	cfg.CenterInputSample = true
	centered, err := unet.New(cfg, weights)
	if err != nil {
		t.Fatal(err)
	}
	x := randomInput([]int{1, 3, 8, 8}, 3)
	x2 := x.Clone()
	for i, v := range x2.Data {
		x2.Data[i] = 2*v - 1
	}
	a, err := centered.Forward(x, []float32{7})
	if err != nil {
		t.Fatal(err)
	}
	b, err := plain.Forward(x2, []float32{7})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Data, b.Data) {
		t.Errorf("centered forward differs from the forward of 2x-1 by %g", golden.MaxAbsDiff(a.Data, b.Data))
	}
	if x.Data[0] == x2.Data[0] {
		t.Error("Forward changed its input")
	}
}

// The google/ddpm-cifar10-32 layout at a quarter of its width, random
// weights: the output has the right shape, and three of its paths match a
// float64 reference written out here: the [sin, cos] time embedding with
// freq_shift 1, the downsampler with downsample_padding 0, and one-head
// attention (attention_head_dim null) with norm_eps 1e-6.
func TestCifar10Style(t *testing.T) {
	cfg := mustParse(t, cifar10Config)
	cfg.BlockOutChannels = []int{32, 64, 64, 64}
	weights := randomWeights(t, cfg, 4)
	m, err := unet.New(cfg, weights)
	if err != nil {
		t.Fatal(err)
	}
	ts := []float32{0, 17.25, 999}
	x := randomInput([]int{3, 3, 32, 32}, 5)
	acts := map[string]*tensor.Tensor{}
	out, err := m.ForwardTrace(x, ts, func(name string, act *tensor.Tensor) { acts[name] = act.Clone() })
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(out.Shape, []int{3, 3, 32, 32}) || !finite(out.Data) {
		t.Fatalf("output shape %v, finite %v", out.Shape, finite(out.Data))
	}

	// Time embedding: emb[b] = [sin(t f_j), cos(t f_j)], f_j = exp(-ln(10000) j / (16-1)).
	// float32 rounding of f_j and t·f_j moves the argument by up to ~|t|·2^-23.
	tproj := acts["time_proj"]
	for b, tb := range ts {
		for j := range 16 {
			arg := float64(tb) * math.Exp(-math.Log(10000)*float64(j)/15)
			tol := 1e-7 + float64(tb)*2.4e-7
			if d := math.Abs(float64(tproj.Data[b*32+j]) - math.Sin(arg)); d > tol {
				t.Errorf("time_proj[%d,%d] (sin) off by %.3g > %.3g", b, j, d, tol)
			}
			if d := math.Abs(float64(tproj.Data[b*32+16+j]) - math.Cos(arg)); d > tol {
				t.Errorf("time_proj[%d,%d] (cos) off by %.3g > %.3g", b, 16+j, d, tol)
			}
		}
	}

	// Downsample2D with padding 0: pad (left 0, right 1, top 0, bottom 1), 3x3 conv, stride 2.
	const tol = 1e-5 // float32 vs float64, relative to max(1, max|ref|)
	in, got := acts["down_blocks.0.res.1"], acts["down_blocks.0.res.2"]
	ref := refConv(in, weights["down_blocks.0.downsamplers.0.conv.weight"], weights["down_blocks.0.downsamplers.0.conv.bias"], 2, 0, 1)
	if d := maxDiffRel(got.Data, ref); d > tol {
		t.Errorf("downsampler: relative max diff %.3g > %g", d, tol)
	}

	// One-head attention in down block 1 (64 channels at 16x16).
	in, got = acts["down_blocks.1.resnets.0"], acts["down_blocks.1.attentions.0"]
	ref = refAttention(in, weights, "down_blocks.1.attentions.0", 32, 1e-6)
	if d := maxDiffRel(got.Data, ref); d > tol {
		t.Errorf("attention: relative max diff %.3g > %g", d, tol)
	}
}

// refConv is a float64 convolution of x [B,C,H,W] with w [O,C,K,K], padding
// top/left by lo and bottom/right by hi.
func refConv(x, w, b *tensor.Tensor, stride, lo, hi int) []float64 {
	nb, c, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	o, k := w.Shape[0], w.Shape[2]
	ho, wo := (h+lo+hi-k)/stride+1, (wd+lo+hi-k)/stride+1
	out := make([]float64, nb*o*ho*wo)
	for n := range nb {
		for oc := range o {
			for y := range ho {
				for xx := range wo {
					s := float64(b.Data[oc])
					for ic := range c {
						for i := range k {
							for j := range k {
								yy, xi := y*stride+i-lo, xx*stride+j-lo
								if yy < 0 || yy >= h || xi < 0 || xi >= wd {
									continue
								}
								s += float64(w.Data[((oc*c+ic)*k+i)*k+j]) * float64(x.Data[((n*c+ic)*h+yy)*wd+xi])
							}
						}
					}
					out[((n*o+oc)*ho+y)*wo+xx] = s
				}
			}
		}
	}
	return out
}

// refAttention is a float64 one-head attention block over x [B,C,H,W]:
// x + to_out(softmax(q kᵀ/sqrt(C)) v) with q, k, v = Linear(GroupNorm(x)).
func refAttention(x *tensor.Tensor, w map[string]*tensor.Tensor, name string, groups int, eps float64) []float64 {
	nb, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	gamma, beta := w[name+".group_norm.weight"].Data, w[name+".group_norm.bias"].Data
	out := make([]float64, len(x.Data))
	cg := c / groups
	for n := range nb {
		img := x.Data[n*c*hw : (n+1)*c*hw]
		// GroupNorm, then tokens tok[p][ch].
		tok := make([][]float64, hw)
		for p := range tok {
			tok[p] = make([]float64, c)
		}
		for g := range groups {
			vals := img[g*cg*hw : (g+1)*cg*hw]
			var mean, v float64
			for _, a := range vals {
				mean += float64(a)
			}
			mean /= float64(len(vals))
			for _, a := range vals {
				v += (float64(a) - mean) * (float64(a) - mean)
			}
			v /= float64(len(vals))
			for ch := g * cg; ch < (g+1)*cg; ch++ {
				for p := range hw {
					tok[p][ch] = (float64(img[ch*hw+p])-mean)/math.Sqrt(v+eps)*float64(gamma[ch]) + float64(beta[ch])
				}
			}
		}
		lin := func(key string, in [][]float64) [][]float64 {
			wt, b := w[name+"."+key+".weight"], w[name+"."+key+".bias"]
			o := wt.Shape[0]
			res := make([][]float64, len(in))
			for p, row := range in {
				res[p] = make([]float64, o)
				for i := range o {
					s := float64(b.Data[i])
					for j, a := range row {
						s += float64(wt.Data[i*len(row)+j]) * a
					}
					res[p][i] = s
				}
			}
			return res
		}
		q, k, v := lin("to_q", tok), lin("to_k", tok), lin("to_v", tok)
		att := make([][]float64, hw)
		for i := range hw {
			s := make([]float64, hw)
			mx := math.Inf(-1)
			for j := range hw {
				for ch := range c {
					s[j] += q[i][ch] * k[j][ch]
				}
				s[j] /= math.Sqrt(float64(c))
				mx = math.Max(mx, s[j])
			}
			var sum float64
			for j := range s {
				s[j] = math.Exp(s[j] - mx)
				sum += s[j]
			}
			att[i] = make([]float64, c)
			for j := range hw {
				for ch := range c {
					att[i][ch] += s[j] / sum * v[j][ch]
				}
			}
		}
		o := lin("to_out.0", att)
		for ch := range c {
			for p := range hw {
				out[(n*c+ch)*hw+p] = float64(img[ch*hw+p]) + o[p][ch]
			}
		}
	}
	return out
}

// maxDiffRel is max|a-b| / max(1, max|b|).
func maxDiffRel(a []float32, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	scale := 1.0
	for _, v := range b {
		scale = math.Max(scale, math.Abs(v))
	}
	return maxAbsDiff64(a, b) / scale
}

func finite(x []float32) bool {
	for _, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return false
		}
	}
	return true
}

package unet

import (
	"errors"
	"fmt"
	"math"
	"runtime"
	"sync"

	"chrysalis/core/tensor"
)

// Model is a UNet2DModel with its weights: it predicts the noise (or v, or
// x0, as trained) of a noisy image batch at given timesteps. Forward does not
// modify the model, so goroutines may share one.
type Model struct {
	Config Config // as given to New; read-only

	timeLinear1, timeLinear2 linear // time_embedding.linear_1, linear_2
	convIn                   conv
	down                     []*downBlock
	mid                      *midBlock // nil when mid_block_type is null
	up                       []*upBlock
	normOut                  groupNorm // conv_norm_out
	convOut                  conv

	params    []Named // every tensor above, by name, in Params order
	inference bool    // made by Inference
}

// New builds the model that cfg describes from its weights, keyed by
// diffusers' state-dict names (today's, or the 2022 attention names
// query/key/value/proj_attn). Every tensor the model needs must be present
// with exactly its shape, and no other tensor may be: the error names the
// first offending key. The tensors are used, not copied.
func New(cfg Config, weights map[string]*tensor.Tensor) (*Model, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	w, err := newWeightSet(weights)
	if err != nil {
		return nil, err
	}
	m := build(cfg, w)
	if err := w.finish(); err != nil {
		return nil, err
	}
	return m, nil
}

// Inference returns m prepared for a run of forward passes over unchanged
// weights, such as a sampling run: a model on the same weight tensors whose
// convolutions keep their weights packed (and Winograd-transformed) for the
// kernels after their first use, and whose linear layers keep their weights
// transposed, where m repacks them at every pass. Its Forward gives m's bits.
// m's weights must not change while it is in use: after a training step, take
// a new one. It refuses ForwardTrain.
func (m *Model) Inference() *Model {
	weights := make(map[string]*tensor.Tensor, len(m.params))
	for _, p := range m.params {
		weights[p.Name] = p.Tensor
	}
	w, _ := newWeightSet(weights) // m's own names: none is a duplicate
	w.keep = true
	f := build(m.Config, w)
	f.inference = true
	return f
}

// Param is one tensor of a UNet2DModel state dict.
type Param struct {
	Name  string // today's diffusers name
	Shape []int
}

// Params lists the tensors that a model of config c has, in the order New
// reads them (for example, to initialise a new model).
func (c Config) Params() ([]Param, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w := &weightSet{}
	build(c, w)
	return w.listed, nil
}

// build lays out the model, taking each layer's tensors from w.
func build(cfg Config, w *weightSet) *Model {
	ch := cfg.BlockOutChannels
	c0, n := ch[0], len(ch)
	e := cfg.timeEmbedDim()
	eps := float32(cfg.NormEps)
	m := &Model{Config: cfg}

	m.timeLinear1 = w.linear("time_embedding.linear_1", c0, e)
	m.timeLinear2 = w.linear("time_embedding.linear_2", e, e)
	m.convIn = w.conv("conv_in", cfg.InChannels, c0, 3, 1, same)

	// newResnet builds a ResnetBlock2D; newAttention an Attention at ch channels.
	newResnet := func(name string, cin, cout int, scale float64) *resnet {
		r := &resnet{
			norm1:       w.groupNorm(name+".norm1", cin, cfg.NormNumGroups, eps),
			conv1:       w.conv(name+".conv1", cin, cout, 3, 1, same),
			timeEmbProj: w.linear(name+".time_emb_proj", e, cout),
			norm2:       w.groupNorm(name+".norm2", cout, cfg.NormNumGroups, eps),
			conv2:       w.conv(name+".conv2", cout, cout, 3, 1, same),
			outputScale: float32(scale),
		}
		if cin != cout {
			s := w.conv(name+".conv_shortcut", cin, cout, 1, 1, tensor.Padding{})
			r.shortcut = &s
		}
		return r
	}
	newAttention := func(name string, ch, groups int, rescale float64) *attention {
		d := cfg.headDim(ch)
		heads := ch / d
		return &attention{
			norm:    w.groupNorm(name+".group_norm", ch, groups, eps),
			toQ:     w.linear(name+".to_q", ch, heads*d),
			toK:     w.linear(name+".to_k", ch, heads*d),
			toV:     w.linear(name+".to_v", ch, heads*d),
			toOut:   w.linear(name+".to_out.0", heads*d, ch),
			heads:   heads,
			scale:   float32(1 / math.Sqrt(float64(d))),
			rescale: float32(rescale),
		}
	}

	// Down blocks: block i maps ch[i-1] (ch[0] for i = 0) to ch[i].
	for i := range n {
		name := fmt.Sprintf("down_blocks.%d", i)
		b := &downBlock{}
		for j := range cfg.LayersPerBlock {
			cin := ch[i]
			if j == 0 {
				cin = ch[max(i-1, 0)]
			}
			b.resnets = append(b.resnets, newResnet(fmt.Sprintf("%s.resnets.%d", name, j), cin, ch[i], 1))
			if cfg.DownBlockTypes[i] == "AttnDownBlock2D" {
				b.attentions = append(b.attentions, newAttention(fmt.Sprintf("%s.attentions.%d", name, j), ch[i], cfg.NormNumGroups, 1))
			}
		}
		if i < n-1 {
			pad := same // downsample_padding 1
			if cfg.DownsamplePadding == 0 {
				pad = tensor.Padding{Bottom: 1, Right: 1} // F.pad (0,1,0,1), then a conv without padding
			}
			d := w.conv(name+".downsamplers.0.conv", ch[i], ch[i], 3, 2, pad)
			b.downsample = &d
		}
		m.down = append(m.down, b)
	}

	if cfg.MidBlockType != "" {
		last, s := ch[n-1], cfg.MidBlockScaleFactor
		m.mid = &midBlock{resnets: [2]*resnet{
			newResnet("mid_block.resnets.0", last, last, s),
			newResnet("mid_block.resnets.1", last, last, s),
		}}
		if cfg.AddAttention {
			m.mid.attention = newAttention("mid_block.attentions.0", last, cfg.midAttnGroups(), s)
		}
	}

	// Up block i works at width ch[n-1-i]. Its resnet j takes the previous
	// hidden state (width prev for j = 0, else out) concatenated with a skip
	// (width ch[n-2-i] for the last resnet, which meets the skip of the block
	// below, else out).
	for i := range n {
		name := fmt.Sprintf("up_blocks.%d", i)
		out, prev, skipIn := ch[n-1-i], ch[n-1-max(i-1, 0)], ch[max(n-2-i, 0)]
		b := &upBlock{}
		for j := range cfg.LayersPerBlock + 1 {
			hin, skip := out, out
			if j == 0 {
				hin = prev
			}
			if j == cfg.LayersPerBlock {
				skip = skipIn
			}
			b.resnets = append(b.resnets, newResnet(fmt.Sprintf("%s.resnets.%d", name, j), hin+skip, out, 1))
			if cfg.UpBlockTypes[i] == "AttnUpBlock2D" {
				b.attentions = append(b.attentions, newAttention(fmt.Sprintf("%s.attentions.%d", name, j), out, cfg.NormNumGroups, 1))
			}
		}
		if i < n-1 {
			u := w.conv(name+".upsamplers.0.conv", out, out, 3, 1, same)
			b.upsample = &u
		}
		m.up = append(m.up, b)
	}

	m.normOut = w.groupNorm("conv_norm_out", c0, cfg.NormNumGroups, eps)
	m.convOut = w.conv("conv_out", c0, cfg.OutChannels, 3, 1, same)
	m.params = w.named
	return m
}

// same is the padding of a 3x3 conv that keeps the image size.
var same = tensor.Padding{Top: 1, Left: 1, Bottom: 1, Right: 1}

// Forward predicts the model output (B,Cout,H,W) for x (B,Cin,H,W) at the
// given timesteps: one per image, or one for the whole batch. Timesteps may
// be fractional (diffusers truncates a Python float timestep to an integer
// before the model sees it; that is the caller's business). H and W must be
// multiples of 2^(number of blocks - 1).
//
// Natively, the images of a batch run side by side on up to GOMAXPROCS
// goroutines, each a batch of its own: the model is batch-invariant, so the
// output has the bits of one batched pass, and the kernels alone would keep
// a second core only half busy at these sizes.
func (m *Model) Forward(x *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error) {
	if _, err := m.checkInput(x, timesteps); err != nil {
		return nil, err
	}
	n := x.Shape[0]
	w := min(n, runtime.GOMAXPROCS(0))
	if runtime.GOARCH == "wasm" || w < 2 {
		return m.forward(x, timesteps, nil, nil)
	}
	per := len(x.Data) / n
	outs := make([]*tensor.Tensor, w)
	errs := make([]error, w)
	var wg sync.WaitGroup
	for g := range w {
		lo, hi := n*g/w, n*(g+1)/w
		ts := timesteps
		if len(ts) == n {
			ts = ts[lo:hi]
		}
		part := tensor.From(x.Data[lo*per:hi*per], append([]int{hi - lo}, x.Shape[1:]...)...)
		wg.Go(func() { outs[g], errs[g] = m.forward(part, ts, nil, nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	out := tensor.New(append([]int{n}, outs[0].Shape[1:]...)...)
	at := 0
	for _, o := range outs {
		at += copy(out.Data[at:], o.Data)
	}
	return out, nil
}

// ForwardTrace is Forward, calling trace with the activations that diffusers'
// module hooks would see, under these names:
//
//	time_proj, time_embedding, conv_in,
//	down_blocks.{i}.resnets.{j}, down_blocks.{i}.attentions.{j},
//	down_blocks.{i}.res.{j} (the skips the block emits), down_blocks.{i}.hidden,
//	mid_block, up_blocks.{i}, conv_norm_out (before its SiLU), conv_out.
//
// act is only valid during the call: trace must copy what it keeps.
func (m *Model) ForwardTrace(x *tensor.Tensor, timesteps []float32, trace func(name string, act *tensor.Tensor)) (*tensor.Tensor, error) {
	return m.forward(x, timesteps, trace, nil)
}

// forward runs the model, recording on tp what Backward needs (nothing when
// tp is nil).
func (m *Model) forward(x *tensor.Tensor, timesteps []float32, trace tracer, tp *Tape) (*tensor.Tensor, error) {
	ts, err := m.checkInput(x, timesteps)
	if err != nil {
		return nil, err
	}
	cfg := m.Config
	if cfg.CenterInputSample {
		x = x.Clone()
		for i, v := range x.Data {
			x.Data[i] = float32(2*v) - 1
		}
	}

	// 1. time: sinusoid (B,C0) -> MLP (B,E); every resnet adds a projection of SiLU(emb).
	tproj := timestepEmbedding(ts, cfg.BlockOutChannels[0], cfg.FlipSinToCos, cfg.FreqShift)
	trace.emit(tproj, "time_proj")
	e1 := m.timeLinear1.forward(tproj)
	s1 := tensor.SiLU(e1)
	emb := m.timeLinear2.forward(s1)
	trace.emit(emb, "time_embedding")
	embAct := tensor.SiLU(emb)
	tp.push(tproj, e1, s1, emb)
	if tp != nil {
		tp.embAct = embAct
	}

	// 2. conv_in: (B,Cin,H,W) -> (B,C0,H,W), the first skip.
	tp.push(x)
	h := m.convIn.forward(x)
	trace.emit(h, "conv_in")
	skips := []*tensor.Tensor{h}

	// 3. down: each block halves H and W (except the last) and pushes its skips.
	for i, b := range m.down {
		var res []*tensor.Tensor
		h, res = b.forward(h, embAct, trace, i, tp)
		skips = append(skips, res...)
		trace.emit(h, "down_blocks.%d.hidden", i)
	}

	// 4. mid.
	if m.mid != nil {
		h = m.mid.forward(h, embAct, tp)
		trace.emit(h, "mid_block")
	}

	// 5. up: each block pops as many skips as it has resnets.
	for i, b := range m.up {
		k := len(skips) - len(b.resnets)
		h = b.forward(h, skips[k:], embAct, tp)
		clear(skips[k:]) // let the popped skips be collected
		skips = skips[:k]
		trace.emit(h, "up_blocks.%d", i)
	}

	// 6. out: GroupNorm -> SiLU -> conv_out, (B,C0,H,W) -> (B,Cout,H,W).
	tp.push(h)
	h = m.normOut.forward(h)
	trace.emit(h, "conv_norm_out")
	a := tensor.SiLU(h)
	tp.push(h, a)
	h = m.convOut.forward(a)
	trace.emit(h, "conv_out")
	return h, nil
}

// checkInput validates x and returns one timestep per image.
func (m *Model) checkInput(x *tensor.Tensor, timesteps []float32) ([]float32, error) {
	cfg := m.Config
	if x == nil || len(x.Shape) != 4 {
		var shape []int
		if x != nil {
			shape = x.Shape
		}
		return nil, fmt.Errorf("unet: input shape %v, want [B %d H W]", shape, cfg.InChannels)
	}
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	mult := 1 << (len(cfg.BlockOutChannels) - 1)
	switch {
	case b < 1 || c != cfg.InChannels || h < 1 || w < 1:
		return nil, fmt.Errorf("unet: input shape %v, want [B %d H W]", x.Shape, cfg.InChannels)
	case b*c*h*w != len(x.Data):
		return nil, fmt.Errorf("unet: input shape %v holds %d values", x.Shape, len(x.Data))
	case h%mult != 0 || w%mult != 0:
		return nil, fmt.Errorf("unet: input shape %v: height and width must be multiples of %d", x.Shape, mult)
	}
	for _, t := range timesteps {
		if math.IsNaN(float64(t)) || math.IsInf(float64(t), 0) {
			return nil, fmt.Errorf("unet: timestep %v is not finite", t)
		}
	}
	switch len(timesteps) {
	case b:
		return timesteps, nil
	case 1:
		ts := make([]float32, b)
		for i := range ts {
			ts[i] = timesteps[0]
		}
		return ts, nil
	}
	return nil, fmt.Errorf("unet: %d timesteps for a batch of %d (want 1 or %d)", len(timesteps), b, b)
}

// MACs is the multiply-accumulate count of one forward pass for one image of
// the configured sample_size (0 if sample_size is null): every conv, every
// Linear (time embedding, resnet time projections, attention projections) and
// the attention products QKᵀ and PV. Norms and activations are not counted.
// FLOPs ≈ 2·MACs.
func (m *Model) MACs() int64 {
	hw := m.Config.SampleSize[0] * m.Config.SampleSize[1]
	if hw == 0 {
		return 0
	}
	n := m.timeLinear1.macs(1) + m.timeLinear2.macs(1) + m.convIn.macs(hw) + m.convOut.macs(hw)
	for _, b := range m.down {
		n += b.macs(hw)
		if b.downsample != nil {
			hw /= 4
		}
	}
	if m.mid != nil {
		n += m.mid.macs(hw)
	}
	for _, b := range m.up {
		n += b.macs(hw)
		if b.upsample != nil {
			hw *= 4
		}
	}
	return n
}

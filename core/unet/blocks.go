package unet

import (
	"fmt"
	"math"

	"chrysalis/core/tensor"
)

// The layers. Shapes use B (batch), C (channels), H, W, T = H·W (tokens) and
// E (the time embedding width).

type conv struct {
	w, b   *tensor.Tensor // w [Cout,Cin,K,K], b [Cout]
	stride int
	pad    tensor.Padding
	kept   *tensor.ConvWeights // w with its packed forms kept, in a model from Inference; else nil
}

// forward: out = w ⋆ x + b, (B,Cin,H,W) -> (B,Cout,Ho,Wo).
func (c *conv) forward(x *tensor.Tensor) *tensor.Tensor {
	if c.kept != nil {
		return c.kept.Conv2d(x, c.b.Data, c.stride, c.pad)
	}
	return tensor.Conv2d(x, c.w, c.b.Data, c.stride, c.pad)
}

// macs is the multiply-accumulates for one image whose input has hw pixels.
func (c *conv) macs(hw int) int64 {
	cout, cin, k := c.w.Shape[0], c.w.Shape[1], c.w.Shape[2]
	return int64(hw/(c.stride*c.stride)) * int64(cout*cin*k*k)
}

type linear struct {
	w, b *tensor.Tensor        // w [out,in], b [out]
	kept *tensor.LinearWeights // w with its transpose kept, in a model from Inference; else nil
}

// forward: out = x @ W^T + b, (...,in) -> (...,out).
func (l *linear) forward(x *tensor.Tensor) *tensor.Tensor {
	if l.kept != nil {
		return l.kept.Linear(x, l.b.Data)
	}
	return tensor.Linear(x, l.w, l.b.Data)
}

func (l *linear) macs(rows int) int64 { return int64(rows) * int64(l.w.Numel()) }

type groupNorm struct {
	gamma, beta *tensor.Tensor // [C]
	groups      int
	eps         float32
}

// forward: y = (x - μ_g) / sqrt(σ²_g + eps) · γ + β over each group g of C/groups channels.
func (g *groupNorm) forward(x *tensor.Tensor) *tensor.Tensor {
	return tensor.GroupNorm(x, g.groups, g.gamma.Data, g.beta.Data, g.eps)
}

// resnet is ResnetBlock2D with time_embedding_norm "default":
//
//	h   = conv1(SiLU(norm1(x))) + time_emb_proj(SiLU(emb))[:, :, None, None]
//	h   = conv2(SiLU(norm2(h)))              (dropout is the identity at inference)
//	out = (shortcut(x) + h) / outputScale    shortcut = 1x1 conv_shortcut when Cin != Cout
//
// (B,Cin,H,W) -> (B,Cout,H,W). The caller passes SiLU(emb) (B,E), the same for every resnet.
type resnet struct {
	norm1, norm2 groupNorm
	conv1, conv2 conv
	timeEmbProj  linear
	shortcut     *conv // nil when Cin == Cout
	outputScale  float32
}

func (r *resnet) forward(x, embAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	n1 := r.norm1.forward(x)
	a1 := silu(n1, tp)
	tp.push(x, n1, a1)
	h := r.conv1.forward(a1)
	tensor.AddPerChannel(h, r.timeEmbProj.forward(embAct))
	n2 := r.norm2.forward(h)
	a2 := silu(n2, tp)
	tp.push(h, n2, a2)
	h = r.conv2.forward(a2)
	if r.shortcut != nil {
		x = r.shortcut.forward(x)
	}
	return divide(tensor.AddInPlace(x, h), r.outputScale) // h is conv2's own output
}

// silu is SiLU(x) for a block's forward pass. Without a tape (inference)
// nothing reads x again, so x is overwritten rather than a tensor allocated:
// the same bits. With the residual sums added into the second conv's output,
// a forward of butterflies-32 at batch 2 allocates 22.3 MB, not 30.7.
func silu(x *tensor.Tensor, tp *Tape) *tensor.Tensor {
	if tp == nil {
		return tensor.SiLUInPlace(x)
	}
	return tensor.SiLU(x)
}

func (r *resnet) macs(hw int) int64 {
	n := r.conv1.macs(hw) + r.conv2.macs(hw) + r.timeEmbProj.macs(1)
	if r.shortcut != nil {
		n += r.shortcut.macs(hw)
	}
	return n
}

// attention is diffusers' Attention as the UNet2D blocks use it (the 2022
// AttentionBlock): self-attention over the H·W pixels with a residual,
//
//	t       = tokens(group_norm(x))                         (B,C,H,W) -> (B,T,C)
//	q, k, v = t Wq^T + bq, t Wk^T + bk, t Wv^T + bv         (B,T,C) -> (B,T,I), I = heads·d
//	a_h     = softmax(q_h k_hᵀ / sqrt(d)) v_h               per head h, d channels each
//	out     = (x + image(a Wo^T + bo)) / rescale            (B,T,I) -> (B,C,H,W)
type attention struct {
	norm           groupNorm
	toQ, toK, toV  linear
	toOut          linear // to_out.0
	heads          int
	scale, rescale float32 // d^-0.5 and rescale_output_factor
}

func (a *attention) forward(x *tensor.Tensor, tp *Tape) *tensor.Tensor {
	h, w := x.Shape[2], x.Shape[3]
	t := tensor.ToTokens(a.norm.forward(x))
	q, k, v := a.toQ.forward(t), a.toK.forward(t), a.toV.forward(t)
	att := tensor.Attention(q, k, v, a.heads, a.scale)
	tp.push(x, t, q, k, v, att)
	o := a.toOut.forward(att)
	return divide(tensor.AddInPlace(x, tensor.FromTokens(o, h, w)), a.rescale)
}

// macs counts the four projections and the two attention products (QKᵀ and PV).
func (a *attention) macs(hw int) int64 {
	proj := a.toQ.macs(hw) + a.toK.macs(hw) + a.toV.macs(hw) + a.toOut.macs(hw)
	return proj + 2*int64(hw)*int64(hw)*int64(a.toQ.w.Shape[0])
}

// downBlock is DownBlock2D (attentions nil) or AttnDownBlock2D: L layers of
// resnet (then attention), then a stride-2 conv downsampler except in the
// last block. It emits every layer's output and the downsampler's as skips.
type downBlock struct {
	resnets    []*resnet
	attentions []*attention // nil, or one per resnet
	downsample *conv        // Downsample2D's conv; nil in the last block
}

func (b *downBlock) forward(h, embAct *tensor.Tensor, trace tracer, i int, tp *Tape) (*tensor.Tensor, []*tensor.Tensor) {
	var skips []*tensor.Tensor
	for j, r := range b.resnets {
		h = r.forward(h, embAct, tp)
		trace.emit(h, "down_blocks.%d.resnets.%d", i, j)
		if b.attentions != nil {
			h = b.attentions[j].forward(h, tp)
			trace.emit(h, "down_blocks.%d.attentions.%d", i, j)
		}
		skips = append(skips, h)
	}
	if b.downsample != nil {
		tp.push(h)
		h = b.downsample.forward(h)
		skips = append(skips, h)
	}
	for j, s := range skips {
		trace.emit(s, "down_blocks.%d.res.%d", i, j)
	}
	return h, skips
}

func (b *downBlock) macs(hw int) int64 {
	var n int64
	for j, r := range b.resnets {
		n += r.macs(hw)
		if b.attentions != nil {
			n += b.attentions[j].macs(hw)
		}
	}
	if b.downsample != nil {
		n += b.downsample.macs(hw)
	}
	return n
}

// upBlock is UpBlock2D (attentions nil) or AttnUpBlock2D: L+1 layers of
// concat(h, skip) along channels (skips popped from the end of the stack),
// resnet (then attention), then a nearest-2x upsample and 3x3 conv except in
// the last block.
type upBlock struct {
	resnets    []*resnet
	attentions []*attention
	upsample   *conv // Upsample2D's conv; nil in the last block
}

// forward consumes skips from its end: skips[len-1] first.
func (b *upBlock) forward(h *tensor.Tensor, skips []*tensor.Tensor, embAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	for j, r := range b.resnets {
		tp.push(h.Shape[1]) // where the concatenation splits
		h = r.forward(tensor.Concat(h, skips[len(skips)-1-j]), embAct, tp)
		if b.attentions != nil {
			h = b.attentions[j].forward(h, tp)
		}
	}
	if b.upsample != nil {
		u := tensor.Upsample2x(h)
		tp.push(u)
		h = b.upsample.forward(u)
	}
	return h
}

// macs for an input of hw pixels (the block's resolution before upsampling).
func (b *upBlock) macs(hw int) int64 {
	var n int64
	for j, r := range b.resnets {
		n += r.macs(hw)
		if b.attentions != nil {
			n += b.attentions[j].macs(hw)
		}
	}
	if b.upsample != nil {
		n += b.upsample.macs(4 * hw)
	}
	return n
}

// midBlock is UNetMidBlock2D with one layer: resnet, attention (unless
// add_attention is false), resnet, all at the last block's width.
type midBlock struct {
	resnets   [2]*resnet
	attention *attention // nil when add_attention is false
}

func (m *midBlock) forward(h, embAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	h = m.resnets[0].forward(h, embAct, tp)
	if m.attention != nil {
		h = m.attention.forward(h, tp)
	}
	return m.resnets[1].forward(h, embAct, tp)
}

func (m *midBlock) macs(hw int) int64 {
	n := m.resnets[0].macs(hw) + m.resnets[1].macs(hw)
	if m.attention != nil {
		n += m.attention.macs(hw)
	}
	return n
}

// timestepEmbedding is diffusers' get_timestep_embedding as UNet2DModel's
// Timesteps calls it (max_period 10000, scale 1), (B) -> (B,dim):
//
//	f_j = exp(-ln(10000)·j / (half - freqShift)),  j < half = dim/2
//	emb = [sin(t·f), cos(t·f)], or [cos(t·f), sin(t·f)] when flipSinToCos
//
// with a zero column appended when dim is odd. Like torch, every step is
// rounded to float32; exp, sin and cos are evaluated in float64 and rounded,
// which is the same on every platform.
func timestepEmbedding(ts []float32, dim int, flipSinToCos bool, freqShift float64) *tensor.Tensor {
	half := dim / 2
	freqs := make([]float32, half)
	for j := range freqs {
		e := float32(float32(-4*math.Ln10) * float32(j)) // -ln(10000)·j
		e = float32(e / float32(float64(half)-freqShift))
		freqs[j] = float32(math.Exp(float64(e)))
	}
	out := tensor.New(len(ts), dim)
	for b, t := range ts {
		row := out.Data[b*dim : (b+1)*dim]
		sin, cos := row[:half], row[half:2*half]
		if flipSinToCos {
			sin, cos = cos, sin
		}
		for j, f := range freqs {
			arg := float64(float32(t * f))
			sin[j] = float32(math.Sin(arg))
			cos[j] = float32(math.Cos(arg))
		}
	}
	return out
}

// divide divides x by s in place (a no-op for s = 1) and returns it.
func divide(x *tensor.Tensor, s float32) *tensor.Tensor {
	if s != 1 {
		for i := range x.Data {
			x.Data[i] /= s
		}
	}
	return x
}

// tracer receives named activations; a nil tracer ignores them.
type tracer func(name string, act *tensor.Tensor)

func (t tracer) emit(act *tensor.Tensor, format string, args ...any) {
	if t != nil {
		t(fmt.Sprintf(format, args...), act)
	}
}

package unet

import (
	"errors"
	"fmt"
	"slices"

	"chrysalis/core/tensor"
)

// Training: the forward pass keeps its activations on a Tape, and Backward
// walks the network in reverse, adding ∂L/∂θ into a gradient model of the
// same config (see NewZero), layer by layer, with the kernels' backward
// passes. This file mirrors blocks.go and model.go: each backward below pops
// what the forward of the same name pushed, in reverse order.

// Tape holds what a training forward pass keeps for Backward: the
// activations each layer's backward needs, pushed in forward order and popped
// in reverse. A nil *Tape keeps nothing, which is inference.
type Tape struct {
	stack  []any
	embAct *tensor.Tensor // SiLU(emb), the input of every resnet's time_emb_proj
}

func (tp *Tape) push(v ...any) {
	if tp != nil {
		tp.stack = append(tp.stack, v...)
	}
}

func (tp *Tape) pop() any {
	v := tp.stack[len(tp.stack)-1]
	tp.stack[len(tp.stack)-1] = nil // let Backward free activations as it goes
	tp.stack = tp.stack[:len(tp.stack)-1]
	return v
}

func (tp *Tape) popTensor() *tensor.Tensor { return tp.pop().(*tensor.Tensor) }
func (tp *Tape) popInt() int               { return tp.pop().(int) }

// ForwardTrain is Forward for training: it also returns the Tape that
// Backward needs. Dropout is not implemented, so a config with dropout > 0
// is refused. The tape holds every intermediate activation of the batch.
func (m *Model) ForwardTrain(x *tensor.Tensor, timesteps []float32) (*tensor.Tensor, *Tape, error) {
	if m.inference {
		return nil, nil, errors.New("unet: ForwardTrain on a model from Inference, whose weights must not change")
	}
	if m.Config.Dropout != 0 {
		return nil, nil, fmt.Errorf("unet: config key \"dropout\": training with dropout %v is not implemented", m.Config.Dropout)
	}
	tp := &Tape{}
	out, err := m.forward(x, timesteps, nil, tp)
	if err != nil {
		return nil, nil, err
	}
	return out, tp, nil
}

// Backward backpropagates dOut = ∂L/∂out, the gradient of a loss with respect
// to the output of the ForwardTrain call that recorded tp, and adds ∂L/∂θ for
// every parameter θ into the same-named parameter of grads, a model of the
// same config (NewZero gives one). It consumes tp. The timestep embedding's
// sinusoid has no parameters, and no gradient flows to x or the timesteps.
func (m *Model) Backward(tp *Tape, dOut *tensor.Tensor, grads *Model) error {
	if err := m.checkGrads(grads); err != nil {
		return err
	}
	if tp == nil || len(tp.stack) == 0 {
		return fmt.Errorf("unet: Backward without a tape from ForwardTrain")
	}
	g := grads

	// 6. out: conv_out(SiLU(GroupNorm(h))).
	a, n := tp.popTensor(), tp.popTensor()
	if !slices.Equal(dOut.Shape, []int{a.Shape[0], m.Config.OutChannels, a.Shape[2], a.Shape[3]}) || len(dOut.Data) != dOut.Numel() {
		return fmt.Errorf("unet: Backward: output gradient shape %v, want [%d %d %d %d]", dOut.Shape, a.Shape[0], m.Config.OutChannels, a.Shape[2], a.Shape[3])
	}
	dh := m.convOut.backward(&g.convOut, a, dOut)
	dh = tensor.SiLUBackward(n, dh)
	dh = m.normOut.backward(&g.normOut, tp.popTensor(), dh)

	nb, e := a.Shape[0], m.timeLinear2.w.Shape[0]
	dEmbAct := tensor.New(nb, e) // Σ over every resnet of ∂L/∂SiLU(emb)

	// 5. up, last block first. Up block i consumed the skips [k, k+L+1) of
	// the stack of nSkips, k = nSkips − (i+1)(L+1); their gradients go to dskips.
	nSkips := 1
	for _, b := range m.down {
		nSkips += len(b.resnets)
		if b.downsample != nil {
			nSkips++
		}
	}
	dskips := make([]*tensor.Tensor, nSkips)
	k := 0
	for _, b := range m.up {
		k += len(b.resnets)
	}
	k = nSkips - k
	for i := len(m.up) - 1; i >= 0; i-- {
		var ds []*tensor.Tensor
		dh, ds = m.up[i].backward(g.up[i], dh, dEmbAct, tp)
		copy(dskips[k:], ds)
		k += len(ds)
	}

	// 4. mid.
	if m.mid != nil {
		dh = m.mid.backward(g.mid, dh, dEmbAct, tp)
	}

	// 3. down, last block first; block i emitted the skips after those of
	// blocks 0..i-1 (and conv_in's).
	end := nSkips
	for i := len(m.down) - 1; i >= 0; i-- {
		b := m.down[i]
		start := end - len(b.resnets)
		if b.downsample != nil {
			start--
		}
		dh = b.backward(g.down[i], dh, dskips[start:end], dEmbAct, tp)
		end = start
	}

	// 2. conv_in: its output was h and the first skip.
	addInto(dh, dskips[0])
	m.convIn.backward(&g.convIn, tp.popTensor(), dh)

	// 1. time: emb = linear_2(SiLU(linear_1(sinusoid(t)))), embAct = SiLU(emb).
	emb, s1, e1, tproj := tp.popTensor(), tp.popTensor(), tp.popTensor(), tp.popTensor()
	dEmb := tensor.SiLUBackward(emb, dEmbAct)
	dS1 := m.timeLinear2.backward(&g.timeLinear2, s1, dEmb)
	dE1 := tensor.SiLUBackward(e1, dS1)
	m.timeLinear1.backward(&g.timeLinear1, tproj, dE1)
	if len(tp.stack) != 0 {
		return fmt.Errorf("unet: Backward: %d activations left on the tape", len(tp.stack))
	}
	return nil
}

// checkGrads reports whether grads has this model's parameters.
func (m *Model) checkGrads(grads *Model) error {
	if grads == nil {
		return fmt.Errorf("unet: Backward: nil gradient model")
	}
	if len(grads.params) != len(m.params) {
		return fmt.Errorf("unet: Backward: gradient model has %d tensors, want %d", len(grads.params), len(m.params))
	}
	for i, p := range m.params {
		q := grads.params[i]
		if q.Name != p.Name || !slices.Equal(q.Tensor.Shape, p.Tensor.Shape) {
			return fmt.Errorf("unet: Backward: gradient tensor %q %v, want %q %v", q.Name, q.Tensor.Shape, p.Name, p.Tensor.Shape)
		}
	}
	return nil
}

// backward of conv.forward: adds ∂L/∂w, ∂L/∂b into g and returns ∂L/∂x.
func (c *conv) backward(g *conv, x, dy *tensor.Tensor) *tensor.Tensor {
	return tensor.Conv2dBackward(x, c.w, dy, c.stride, c.pad, g.w, g.b.Data)
}

// backward of linear.forward: adds ∂L/∂W = dyᵀx, ∂L/∂b = Σ dy into g and returns dy·W.
func (l *linear) backward(g *linear, x, dy *tensor.Tensor) *tensor.Tensor {
	return tensor.LinearBackward(x, l.w, dy, g.w, g.b.Data)
}

// backward of groupNorm.forward: adds ∂L/∂γ, ∂L/∂β into g and returns ∂L/∂x.
func (n *groupNorm) backward(g *groupNorm, x, dy *tensor.Tensor) *tensor.Tensor {
	return tensor.GroupNormBackward(x, dy, n.groups, n.gamma.Data, n.eps, g.gamma.Data, g.beta.Data)
}

// backward of resnet.forward, from out = (shortcut(x) + conv2(SiLU(norm2(h))))/s
// with h = conv1(SiLU(norm1(x))) + time_emb_proj(embAct):
//
//	d    = dout/s                    reaches both branches
//	dh   = norm2ᵀ(SiLU'(conv2ᵀ(d)))   (ᵀ: the layer's backward)
//	dtemb[b,c] = Σ_hw dh[b,c]        the time projection was added to every pixel
//	dx   = norm1ᵀ(SiLU'(conv1ᵀ(dh))) + shortcutᵀ(d)
//
// It adds time_emb_proj's input gradient into dEmbAct.
func (r *resnet) backward(g *resnet, dout, dEmbAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	d := scaled(dout, r.outputScale)
	a2, n2, h := tp.popTensor(), tp.popTensor(), tp.popTensor()
	dh := r.conv2.backward(&g.conv2, a2, d)
	dh = tensor.SiLUBackward(n2, dh)
	dh = r.norm2.backward(&g.norm2, h, dh)
	addInto(dEmbAct, r.timeEmbProj.backward(&g.timeEmbProj, tp.embAct, sumPerChannel(dh)))

	a1, n1, x := tp.popTensor(), tp.popTensor(), tp.popTensor()
	dx := r.conv1.backward(&g.conv1, a1, dh)
	dx = tensor.SiLUBackward(n1, dx)
	dx = r.norm1.backward(&g.norm1, x, dx)
	if r.shortcut != nil {
		addInto(dx, r.shortcut.backward(g.shortcut, x, d))
	} else {
		addInto(dx, d)
	}
	return dx
}

// backward of attention.forward, from out = (x + image(to_out(A(q,k,v))))/s
// with q,k,v = to_q,k,v(t) and t = tokens(group_norm(x)):
//
//	d  = dout/s                        reaches x and the attention branch
//	da = to_outᵀ(tokens(d))
//	dq, dk, dv = Aᵀ(da)                (tensor.AttentionBackward)
//	dt = to_qᵀ(dq) + to_kᵀ(dk) + to_vᵀ(dv)
//	dx = d + group_normᵀ(image(dt))
func (a *attention) backward(g *attention, dout *tensor.Tensor, tp *Tape) *tensor.Tensor {
	d := scaled(dout, a.rescale)
	att, v, k, q, t, x := tp.popTensor(), tp.popTensor(), tp.popTensor(), tp.popTensor(), tp.popTensor(), tp.popTensor()
	da := a.toOut.backward(&g.toOut, att, tensor.ToTokens(d))
	dq, dk, dv := tensor.AttentionBackward(q, k, v, da, a.heads, a.scale)
	dt := a.toQ.backward(&g.toQ, t, dq)
	addInto(dt, a.toK.backward(&g.toK, t, dk))
	addInto(dt, a.toV.backward(&g.toV, t, dv))
	dx := a.norm.backward(&g.norm, x, tensor.FromTokens(dt, x.Shape[2], x.Shape[3]))
	addInto(dx, d)
	return dx
}

// backward of downBlock.forward. dskips are the gradients of the skips the
// block emitted (one per layer, then the downsampler's); the block's output
// was its last skip.
func (b *downBlock) backward(g *downBlock, dh *tensor.Tensor, dskips []*tensor.Tensor, dEmbAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	if b.downsample != nil {
		addInto(dh, dskips[len(b.resnets)])
		dh = b.downsample.backward(g.downsample, tp.popTensor(), dh)
	}
	for j := len(b.resnets) - 1; j >= 0; j-- {
		addInto(dh, dskips[j])
		if b.attentions != nil {
			dh = b.attentions[j].backward(g.attentions[j], dh, tp)
		}
		dh = b.resnets[j].backward(g.resnets[j], dh, dEmbAct, tp)
	}
	return dh
}

// backward of upBlock.forward: returns the gradient of the block's input and
// those of the skips it consumed, in the order of the skips slice it was given.
func (b *upBlock) backward(g *upBlock, dh, dEmbAct *tensor.Tensor, tp *Tape) (*tensor.Tensor, []*tensor.Tensor) {
	if b.upsample != nil {
		dh = tensor.Upsample2xBackward(b.upsample.backward(g.upsample, tp.popTensor(), dh))
	}
	dskips := make([]*tensor.Tensor, len(b.resnets))
	for j := len(b.resnets) - 1; j >= 0; j-- {
		if b.attentions != nil {
			dh = b.attentions[j].backward(g.attentions[j], dh, tp)
		}
		dh = b.resnets[j].backward(g.resnets[j], dh, dEmbAct, tp)
		dh, dskips[len(b.resnets)-1-j] = tensor.ConcatBackward(dh, tp.popInt())
	}
	return dh, dskips
}

// backward of midBlock.forward.
func (m *midBlock) backward(g *midBlock, dh, dEmbAct *tensor.Tensor, tp *Tape) *tensor.Tensor {
	dh = m.resnets[1].backward(g.resnets[1], dh, dEmbAct, tp)
	if m.attention != nil {
		dh = m.attention.backward(g.attention, dh, tp)
	}
	return m.resnets[0].backward(g.resnets[0], dh, dEmbAct, tp)
}

// sumPerChannel is the backward of tensor.AddPerChannel: v[b,c] = Σ_hw dx[b,c,:,:].
func sumPerChannel(dx *tensor.Tensor) *tensor.Tensor {
	hw := dx.Shape[2] * dx.Shape[3]
	v := tensor.New(dx.Shape[0], dx.Shape[1])
	for bc := range v.Data {
		var s float64
		for _, x := range dx.Data[bc*hw : (bc+1)*hw] {
			s += float64(x)
		}
		v.Data[bc] = float32(s)
	}
	return v
}

// scaled is the backward of divide: dx = dy/s (dy itself when s = 1).
func scaled(dy *tensor.Tensor, s float32) *tensor.Tensor {
	if s == 1 {
		return dy
	}
	d := dy.Clone()
	for i := range d.Data {
		d.Data[i] /= s
	}
	return d
}

// addInto adds src to dst in place.
func addInto(dst, src *tensor.Tensor) {
	for i, v := range src.Data {
		dst.Data[i] += v
	}
}

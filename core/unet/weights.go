package unet

import (
	"fmt"
	"slices"
	"strings"

	"chrysalis/core/tensor"
)

// weightSet hands out a checkpoint's tensors by today's diffusers name,
// checking each shape. It keeps the first error, so that build reads as a
// plain list of layers, and finish reports tensors that nothing asked for.
// A weightSet without tensors only lists what is asked for.
type weightSet struct {
	tensors map[string]*tensor.Tensor // by today's name; nil when listing
	stored  map[string]string         // today's name -> the name in the checkpoint
	used    map[string]bool
	err     error
	listed  []Param
	named   []Named // the tensors handed out, in order
	keep    bool    // convolutions keep their packed weights, linear layers their transposes (Inference)
}

// legacyAttention maps the 2022 AttentionBlock parameter names (diffusers <
// 0.14) to today's Attention names. diffusers' own loader
// (_convert_deprecated_attention_blocks) only renames: the shapes are the same
// Linear [out,in] and [out].
var legacyAttention = map[string]string{
	"query":     "to_q",
	"key":       "to_k",
	"value":     "to_v",
	"proj_attn": "to_out.0",
}

// currentName renames <...>.attentions.<i>.<query|key|value|proj_attn>.<weight|bias>.
func currentName(name string) string {
	p := strings.Split(name, ".")
	n := len(p)
	if n < 4 || p[n-4] != "attentions" || (p[n-1] != "weight" && p[n-1] != "bias") {
		return name
	}
	if now, ok := legacyAttention[p[n-2]]; ok {
		return strings.Join(append(p[:n-2:n-2], now, p[n-1]), ".")
	}
	return name
}

func newWeightSet(weights map[string]*tensor.Tensor) (*weightSet, error) {
	w := &weightSet{
		tensors: make(map[string]*tensor.Tensor, len(weights)),
		stored:  make(map[string]string, len(weights)),
		used:    make(map[string]bool, len(weights)),
	}
	names := make([]string, 0, len(weights))
	for name := range weights {
		names = append(names, name)
	}
	slices.Sort(names) // so that a duplicate is reported the same way every time
	for _, name := range names {
		now := currentName(name)
		if first, ok := w.stored[now]; ok {
			return nil, fmt.Errorf("unet: tensors %q and %q are both %q", first, name, now)
		}
		w.tensors[now], w.stored[now] = weights[name], name
	}
	return w, nil
}

// get returns the tensor with the given shape. After an error it returns a
// zero tensor of that shape, which is never run.
func (w *weightSet) get(name string, shape ...int) *tensor.Tensor {
	if w.tensors == nil {
		w.listed = append(w.listed, Param{name, shape})
		return &tensor.Tensor{Shape: shape} // shape only: the model is never run
	}
	t, ok := w.tensors[name]
	w.used[name] = true
	switch {
	case w.err != nil:
	case !ok:
		w.err = fmt.Errorf("unet: missing tensor %q", name)
	case t == nil:
		w.err = fmt.Errorf("unet: tensor %q is nil", w.stored[name])
	case !slices.Equal(t.Shape, shape):
		w.err = fmt.Errorf("unet: tensor %q: shape %v, want %v", w.stored[name], t.Shape, shape)
	case len(t.Data) != numel(shape):
		w.err = fmt.Errorf("unet: tensor %q: %d values for shape %v", w.stored[name], len(t.Data), shape)
	default:
		w.named = append(w.named, Named{name, t})
		return t
	}
	return tensor.New(shape...)
}

func (w *weightSet) conv(name string, cin, cout, k, stride int, pad tensor.Padding) conv {
	c := conv{w: w.get(name+".weight", cout, cin, k, k), b: w.get(name+".bias", cout), stride: stride, pad: pad}
	if w.keep {
		c.kept = tensor.NewConvWeights(c.w)
	}
	return c
}

func (w *weightSet) linear(name string, in, out int) linear {
	l := linear{w: w.get(name+".weight", out, in), b: w.get(name+".bias", out)}
	if w.keep {
		l.kept = tensor.NewLinearWeights(l.w)
	}
	return l
}

func (w *weightSet) groupNorm(name string, ch, groups int, eps float32) groupNorm {
	return groupNorm{gamma: w.get(name+".weight", ch), beta: w.get(name+".bias", ch), groups: groups, eps: eps}
}

// finish returns the first error, or names a tensor that no layer used.
func (w *weightSet) finish() error {
	if w.err != nil {
		return w.err
	}
	var extra []string
	for now, name := range w.stored {
		if !w.used[now] {
			extra = append(extra, name)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	slices.Sort(extra)
	if len(extra) == 1 {
		return fmt.Errorf("unet: unexpected tensor %q", extra[0])
	}
	return fmt.Errorf("unet: unexpected tensor %q (and %d more)", extra[0], len(extra)-1)
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

package unet

import (
	"slices"

	"chrysalis/core/tensor"
)

// Named is one of a model's tensors under today's diffusers name.
type Named struct {
	Name   string
	Tensor *tensor.Tensor
}

// Parameters lists the model's tensors under today's names, in Params order.
// They are the model's own, not copies: writing to them changes the model
// (an optimizer does, between forward passes).
func (m *Model) Parameters() []Named { return slices.Clone(m.params) }

// NewZero returns a model of config cfg with every parameter zero: the
// gradient model that Backward adds into, or a blank to initialise.
func NewZero(cfg Config) (*Model, error) {
	params, err := cfg.Params()
	if err != nil {
		return nil, err
	}
	weights := make(map[string]*tensor.Tensor, len(params))
	for _, p := range params {
		weights[p.Name] = tensor.New(p.Shape...)
	}
	return New(cfg, weights)
}

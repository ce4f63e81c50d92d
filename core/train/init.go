package train

import (
	"math"
	"math/rand/v2"
	"strings"

	"chrysalis/core/unet"
)

// Init returns a new model of config cfg with PyTorch's default
// initialisation, which diffusers keeps for UNet2DModel: every conv and
// Linear weight and bias uniform in ±1/√fan_in (kaiming_uniform with a = √5),
// fan_in = in_channels·k·k or in_features, and every GroupNorm weight 1 and
// bias 0. The draws come from PCG(seed, 0), tensor by tensor in Params order.
func Init(cfg unet.Config, seed uint64) (*unet.Model, error) {
	m, err := unet.NewZero(cfg)
	if err != nil {
		return nil, err
	}
	params := m.Parameters()
	shapes := make(map[string][]int, len(params))
	for _, p := range params {
		shapes[p.Name] = p.Tensor.Shape
	}
	r := rand.New(rand.NewPCG(seed, 0))
	for _, p := range params {
		w := shapes[p.Name]
		if base, ok := strings.CutSuffix(p.Name, ".bias"); ok {
			w = shapes[base+".weight"]
		}
		if len(w) == 1 { // a GroupNorm: weight 1, bias 0
			if strings.HasSuffix(p.Name, ".weight") {
				for i := range p.Tensor.Data {
					p.Tensor.Data[i] = 1
				}
			}
			continue
		}
		fanIn := 1
		for _, d := range w[1:] {
			fanIn *= d
		}
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range p.Tensor.Data {
			p.Tensor.Data[i] = float32(bound * (2*r.Float64() - 1))
		}
	}
	return m, nil
}

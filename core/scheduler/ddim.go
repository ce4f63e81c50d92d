package scheduler

import "chrysalis/core/tensor"

// ddim is DDIMScheduler (Song et al. 2021, eqs. 12 and 16) with t' = t − T//n.
type ddim struct {
	common
	eta float32 // η of step()
}

func (s *ddim) SetTimesteps(n int) error { return s.setTrainingTimesteps(n) }

func (s *ddim) InitNoiseSigma() float32 { return 1 }

func (s *ddim) ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor { return sample }

// finalAlphaCumprod is ᾱ_{t'} for t' < 0: 1 with set_alpha_to_one, else ᾱ_0.
func (s *ddim) finalAlphaCumprod() float32 {
	if s.cfg.setAlphaToOne {
		return 1
	}
	return s.alphasCumprod[0]
}

// Step is DDIMScheduler.step in float32, in diffusers' order of operations
// (use_clipped_model_output=False):
//
//	x̂0 and ε̂ from the model output; x̂0 clamped if clip_sample (ε̂ is not re-derived)
//	σ_t = η·√((1−ᾱ_{t'})/(1−ᾱ_t)·(1−ᾱ_t/ᾱ_{t'}))
//	x_{t'} = √ᾱ_{t'}·x̂0 + √(1−ᾱ_{t'}−σ_t²)·ε̂ (+ σ_t·z when η > 0)
func (s *ddim) Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error) {
	if err := s.checkStep(modelOutput, i, sample); err != nil {
		return Output{}, err
	}
	if s.eta > 0 {
		if err := checkNoise(noise, sample, i); err != nil {
			return Output{}, err
		}
	}
	_, ap, apPrev := s.alphaProds(i, s.finalAlphaCumprod())
	bp := 1 - ap
	sa, sb := sqrt32(ap), sqrt32(bp)
	mo, x := modelOutput.Data, sample.Data

	x0 := predictX0(s.cfg.predictionType, mo, x, sa, sb)
	eps := make([]float32, len(x))
	switch s.cfg.predictionType {
	case "epsilon":
		copy(eps, mo)
	case "v_prediction":
		for j := range eps {
			eps[j] = float32(sa*mo[j]) + float32(sb*x[j])
		}
	default: // "sample": ε̂ = (x_t − √ᾱ_t·x̂0)/√(1−ᾱ_t), before clipping
		for j := range eps {
			eps[j] = (x[j] - float32(sa*x0[j])) / sb
		}
	}
	if s.cfg.clipSample {
		clamp(x0, float32(s.cfg.clipSampleRange))
	}

	variance := (1 - apPrev) / bp * (1 - ap/apPrev)
	std := s.eta * sqrt32(variance)
	cx0 := sqrt32(apPrev)
	cdir := sqrt32(1 - apPrev - float32(std*std))
	prev := make([]float32, len(x))
	for j := range prev {
		prev[j] = float32(cx0*x0[j]) + float32(cdir*eps[j])
	}
	if s.eta > 0 {
		for j := range prev {
			prev[j] += float32(std * noise.Data[j])
		}
	}
	return Output{
		PrevSample:   tensor.From(prev, sample.Shape...),
		PredOriginal: tensor.From(x0, sample.Shape...),
	}, nil
}

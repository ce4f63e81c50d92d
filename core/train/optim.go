package train

import (
	"math"

	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// AdamW is torch.optim.AdamW (amsgrad off): decoupled weight decay, then a
// bias-corrected Adam step. For each parameter θ with gradient g, at step
// t = 1, 2, …:
//
//	θ ← θ·(1 − lr·λ)
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	θ ← θ − lr/(1−β1^t) · m / (√v/√(1−β2^t) + ε)
//
// The scalars are computed in float64 and rounded to float32 once, as torch
// does with Python scalars; the updates are float32.
type AdamW struct {
	Beta1, Beta2, Eps, WeightDecay float64
	Step                           int          // steps taken so far
	M, V                           []unet.Named // first and second moments, like the parameters
}

// NewAdamW returns torch's AdamW with its defaults betas (0.9, 0.999) and
// eps 1e-8, the given weight decay, and zero moments for params.
func NewAdamW(params []unet.Named, weightDecay float64) *AdamW {
	return &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: weightDecay, M: zerosLike(params), V: zerosLike(params)}
}

// Update takes one step at learning rate lr on params with their gradients
// grads (same order and shapes as the params given to NewAdamW).
func (o *AdamW) Update(params, grads []unet.Named, lr float64) {
	o.Step++
	decay := float32(1 - lr*o.WeightDecay)
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1, c2 := float32(1-o.Beta1), float32(1-o.Beta2)
	negStep := float32(-lr / (1 - math.Pow(o.Beta1, float64(o.Step))))
	bc2Sqrt := float32(math.Sqrt(1 - math.Pow(o.Beta2, float64(o.Step))))
	eps := float32(o.Eps)
	for i, p := range params {
		theta, g := p.Tensor.Data, grads[i].Tensor.Data
		m, v := o.M[i].Tensor.Data, o.V[i].Tensor.Data
		for j, gj := range g {
			theta[j] *= decay
			m[j] = float32(b1*m[j]) + float32(c1*gj)
			v[j] = float32(b2*v[j]) + float32(float32(c2*gj)*gj)
			denom := float32(sqrt32(v[j])/bc2Sqrt) + eps
			theta[j] += float32(negStep*m[j]) / denom // torch's addcdiv: θ + (value·m)/denom
		}
	}
}

// sqrt32 is the correctly rounded float32 square root (float64 sqrt of a
// float32 rounds to the same value).
func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// ClipGradNorm is torch.nn.utils.clip_grad_norm_: with the total norm
// ‖g‖ = sqrt(Σ g²) over every gradient (summed in float64, in order), it
// scales every gradient by maxNorm/(‖g‖ + 1e-6) when that is below 1. It
// returns ‖g‖.
func ClipGradNorm(grads []unet.Named, maxNorm float64) float64 {
	var ss float64
	for _, g := range grads {
		for _, v := range g.Tensor.Data {
			ss += float64(float64(v) * float64(v))
		}
	}
	norm := math.Sqrt(ss)
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		c := float32(coef)
		for _, g := range grads {
			for j := range g.Tensor.Data {
				g.Tensor.Data[j] *= c
			}
		}
	}
	return norm
}

// LearningRate is the schedule of the default model's recipe: a linear
// warm-up from 0 to peak over warmup steps, then a cosine decay to
// minFraction·peak at the last of total steps:
//
//	lr(s) = peak·s/warmup                                           s < warmup
//	lr(s) = peak·(f + (1−f)·(1 + cos(π·p))/2),  p = (s−warmup)/(total−warmup)   otherwise
func LearningRate(step, warmup, total int, peak float64) float64 {
	if step < warmup {
		return peak * float64(step) / float64(warmup)
	}
	p := 1.0
	if total > warmup {
		p = min(1, float64(step-warmup)/float64(total-warmup))
	}
	return peak * (minFraction + (1-minFraction)*(1+math.Cos(math.Pi*p))/2)
}

// minFraction is where the cosine decay ends, as a fraction of the peak
// learning rate (10%, as the default model was trained).
const minFraction = 0.1

// EMA keeps an exponential moving average of the parameters, as diffusers'
// EMAModel with its warm-up: after optimizer step s (0-based),
//
//	d = min(maxDecay, (1+s)/(10+s)),   ema ← ema − (1−d)·(ema − θ)
type EMA struct {
	MaxDecay float64
	Params   []unet.Named // the averaged weights, like the model's
}

// NewEMA starts the average at a copy of params.
func NewEMA(params []unet.Named, maxDecay float64) *EMA {
	e := &EMA{MaxDecay: maxDecay, Params: zerosLike(params)}
	for i, p := range params {
		copy(e.Params[i].Tensor.Data, p.Tensor.Data)
	}
	return e
}

// Update folds params in after optimizer step s (0-based).
func (e *EMA) Update(params []unet.Named, step int) {
	d := float32(min(e.MaxDecay, float64(1+step)/float64(10+step)))
	c := 1 - d
	for i, p := range params {
		avg := e.Params[i].Tensor.Data
		for j, v := range p.Tensor.Data {
			avg[j] -= float32(c * (avg[j] - v)) // diffusers: ema −= (1−d)·(ema − θ)
		}
	}
}

// zerosLike returns zero tensors with the names and shapes of params.
func zerosLike(params []unet.Named) []unet.Named {
	out := make([]unet.Named, len(params))
	for i, p := range params {
		out[i] = unet.Named{Name: p.Name, Tensor: tensor.New(p.Tensor.Shape...)}
	}
	return out
}

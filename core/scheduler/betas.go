package scheduler

import (
	"fmt"
	"math"
)

// betas builds β_t for t = 0..T-1 in float32, as the schedulers' __init__
// does: trained_betas, or beta_schedule from beta_start to beta_end, then
// rescale_betas_zero_snr.
func betas(c *config) ([]float32, error) {
	T := c.numTrainTimesteps
	var b []float32
	key := "beta_schedule"
	switch {
	case c.trainedBetas != nil:
		key = "trained_betas"
		b = make([]float32, T)
		for i, v := range c.trainedBetas {
			b[i] = float32(v)
		}
	case c.betaSchedule == "linear":
		b = linspace32(float32(c.betaStart), float32(c.betaEnd), T)
	case c.betaSchedule == "scaled_linear":
		// β = linspace(√β_start, √β_end)², the latent-diffusion schedule.
		b = linspace32(float32(math.Sqrt(c.betaStart)), float32(math.Sqrt(c.betaEnd)), T)
		for i, v := range b {
			b[i] = v * v
		}
	default: // "squaredcos_cap_v2"
		b = betasForAlphaBar(T)
	}
	for t, v := range b {
		if !(v >= 0 && v <= 1) {
			return nil, fmt.Errorf("scheduler: config key %q gives beta[%d] = %g, outside [0, 1]", key, t, v)
		}
	}
	if c.rescaleBetasZeroSNR {
		b = rescaleZeroTerminalSNR(b)
	}
	return b, nil
}

// linspace32 is torch.linspace(start, end, n, dtype=float32) on the x86-64
// CPU build that made the goldens (README trap 11), bit for bit. The step is
// (end-start)/(n-1) in float32. The AVX2 kernel fills pairs of 8-lane blocks
// while 16 or more elements remain; a block at index i0 has the base
// fma(step, i0, start) in the first half (i0 < n/2) and fma(-step, n-1-i0, end)
// in the second, and lane j holds base + float32(j·step). The remaining tail
// is element by element, with the same fused formula per element.
func linspace32(start, end float32, n int) []float32 {
	out := make([]float32, n)
	if n == 1 {
		out[0] = start
		return out
	}
	step := (end - start) / float32(n-1)
	half := n / 2
	at := func(i int) float32 {
		if i < half {
			return fmaf(step, float32(i), start)
		}
		return fmaf(-step, float32(n-1-i), end)
	}
	i := 0
	for ; i+16 <= n; i += 16 {
		for _, i0 := range [2]int{i, i + 8} {
			base := at(i0)
			for j := range 8 {
				out[i0+j] = base + float32(float32(j)*step)
			}
		}
	}
	for ; i < n; i++ {
		out[i] = at(i)
	}
	return out
}

// betasForAlphaBar is the squaredcos_cap_v2 (Glide cosine) schedule:
// β_i = min(1 − ᾱ((i+1)/T)/ᾱ(i/T), 0.999) with ᾱ(s) = cos((s+0.008)/1.008·π/2)²,
// in float64 as Python computes it, then rounded to float32.
func betasForAlphaBar(T int) []float32 {
	alphaBar := func(s float64) float64 {
		c := cosQuadrant((s + 0.008) / 1.008 * math.Pi / 2)
		return c * c
	}
	out := make([]float32, T)
	for i := range out {
		t1 := float64(i) / float64(T)
		t2 := float64(i+1) / float64(T)
		out[i] = float32(math.Min(1-alphaBar(t2)/alphaBar(t1), 0.999))
	}
	return out
}

// alphasCumprod is ᾱ_t = Π_{s<=t} (1 − β_s). torch.cumprod on float32 CPU
// tensors accumulates in float64 and rounds each prefix to float32 (README
// trap 11); so does this.
func alphasCumprod(betas []float32) []float32 {
	out := make([]float32, len(betas))
	acc := 1.0
	for t, b := range betas {
		acc *= float64(1 - b)
		out[t] = float32(acc)
	}
	return out
}

// rescaleZeroTerminalSNR is diffusers' rescale_zero_terminal_snr (Lin et al.
// 2023, Algorithm 1) in float32: shift and scale √ᾱ so that √ᾱ_0 is kept and
// √ᾱ_{T-1} = 0, then turn ᾱ back into betas.
func rescaleZeroTerminalSNR(betas []float32) []float32 {
	ac := alphasCumprod(betas)
	s := make([]float32, len(ac))
	for t, a := range ac {
		s[t] = sqrt32(a)
	}
	s0, sT := s[0], s[len(s)-1]
	scale := s0 / (s0 - sT)
	out := make([]float32, len(s))
	prev := float32(0)
	for t := range s {
		v := float32((s[t] - sT) * scale)
		a := float32(v * v) // ᾱ_t
		if t == 0 {
			out[t] = 1 - a
		} else {
			out[t] = 1 - a/prev
		}
		prev = a
	}
	return out
}

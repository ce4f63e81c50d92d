package scheduler

import (
	"fmt"
	"math"

	"chrysalis/core/tensor"
)

// euler is EulerDiscreteScheduler (Karras et al. 2022, Algorithm 2) with
// interpolation_type linear: x lives at noise level σ (x = x0 + σ·ε), the
// model sees x/√(σ²+1), and each step follows dx/dσ = (x − x̂0)/σ.
type euler struct {
	common
	sChurn float64   // s_churn of step()
	sigmas []float32 // σ per step, plus the final σ (0 or σ_0)
}

// SetTimesteps builds n float32 timesteps and their σ:
//   - linspace: linspace(0, T−1, n) in float32, reversed (fractional)
//   - leading:  k·(T//n) + steps_offset, k = n−1 … 0
//   - trailing: round(T, T − T/n, … > 0) − 1
//
// σ at each timestep is np.interp over the training σ's (linear in t); the
// final σ is 0 (final_sigmas_type zero) or σ_0 (sigma_min).
func (s *euler) SetTimesteps(n int) error {
	if err := s.checkSteps(n); err != nil {
		return err
	}
	T := s.cfg.numTrainTimesteps
	var ts []float32
	switch s.cfg.timestepSpacing {
	case "linspace":
		for _, v := range reversed(npLinspace(0, float64(T-1), n)) {
			ts = append(ts, float32(v))
		}
	case "leading":
		for k := n - 1; k >= 0; k-- {
			ts = append(ts, float32(k*(T/n))+float32(s.cfg.stepsOffset))
		}
	default: // "trailing"
		for _, v := range npArange(float64(T), 0, -float64(T)/float64(n)) {
			ts = append(ts, float32(math.RoundToEven(v))-1)
		}
	}
	train := trainSigmas(s.alphasCumprod)
	sigmas := make([]float32, len(ts)+1)
	for k, t := range ts {
		sigmas[k] = float32(npInterp(float64(t), train))
	}
	if s.cfg.finalSigmasType == "sigma_min" {
		sigmas[len(ts)] = train[0]
	}
	s.timesteps, s.sigmas, s.n = ts, sigmas, n
	return nil
}

// InitNoiseSigma is σ_max for linspace and trailing spacing, √(σ_max²+1) for
// leading.
func (s *euler) InitNoiseSigma() float32 {
	m := float32(0)
	for _, v := range s.sigmas {
		m = max(m, v)
	}
	if s.cfg.timestepSpacing == "leading" {
		return sqrt32(float32(m*m) + 1)
	}
	return m
}

// ScaleModelInput is x/√(σ_i²+1). It panics if i is outside the schedule.
func (s *euler) ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor {
	if i < 0 || i >= len(s.timesteps) {
		panic(fmt.Sprintf("scheduler: ScaleModelInput step %d outside the %d-step schedule", i, len(s.timesteps)))
	}
	sigma := s.sigmas[i]
	d := sqrt32(float32(sigma*sigma) + 1)
	out := tensor.New(sample.Shape...)
	for j, v := range sample.Data {
		out.Data[j] = v / d
	}
	return out
}

// Step is EulerDiscreteScheduler.step in float32, in diffusers' order of
// operations, with σ = σ_i and σ' = σ_{i+1}:
//
//	γ = min(s_churn/n, √2−1), σ̂ = σ·(1+γ); if γ > 0, x += z·√(σ̂²−σ²)
//	x̂0 = x − σ̂·ε (epsilon), ε·(−σ/√(σ²+1)) + x/(σ²+1) (v_prediction), or the output (sample)
//	x' = x + ((x − x̂0)/σ̂)·(σ' − σ̂)
func (s *euler) Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error) {
	if err := s.checkStep(modelOutput, i, sample); err != nil {
		return Output{}, err
	}
	sigma := s.sigmas[i]
	gamma := 0.0
	if s.sChurn > 0 {
		gamma = math.Min(s.sChurn/float64(len(s.sigmas)-1), math.Sqrt2-1)
	}
	sigmaHat := sigma * float32(gamma+1)
	mo := modelOutput.Data
	x := append([]float32(nil), sample.Data...)
	if gamma > 0 {
		if err := checkNoise(noise, sample, i); err != nil {
			return Output{}, err
		}
		c := sqrt32(float32(sigmaHat*sigmaHat) - float32(sigma*sigma))
		for j := range x {
			x[j] += float32(noise.Data[j] * c)
		}
	}
	x0 := make([]float32, len(x))
	switch s.cfg.predictionType {
	case "epsilon":
		for j := range x0 {
			x0[j] = x[j] - float32(sigmaHat*mo[j])
		}
	case "v_prediction":
		s2 := float32(sigma*sigma) + 1
		cOut := -sigma / sqrt32(s2)
		for j := range x0 {
			x0[j] = float32(mo[j]*cOut) + x[j]/s2
		}
	default: // "sample"
		copy(x0, mo)
	}
	dt := s.sigmas[i+1] - sigmaHat
	prev := make([]float32, len(x))
	for j := range prev {
		d := (x[j] - x0[j]) / sigmaHat
		prev[j] = x[j] + float32(d*dt)
	}
	return Output{
		PrevSample:   tensor.From(prev, sample.Shape...),
		PredOriginal: tensor.From(x0, sample.Shape...),
	}, nil
}

// AddNoise is x_t = x_0 + σ·ε with σ looked up by the timestep's position in
// the current schedule (its second occurrence if it repeats), as diffusers does.
func (s *euler) AddNoise(x0, noise *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error) {
	if err := checkAddNoise(x0, noise, timesteps); err != nil {
		return nil, err
	}
	if s.n == 0 {
		return nil, fmt.Errorf("scheduler: AddNoise before SetTimesteps")
	}
	return perSample(x0, noise, func(x, z, out []float32, b int) error {
		t := timesteps[min(b, len(timesteps)-1)]
		k, ok := scheduleIndex(s.timesteps, t)
		if !ok {
			return fmt.Errorf("scheduler: AddNoise: timestep %v is not in the current schedule", t)
		}
		sigma := s.sigmas[k]
		for j := range out {
			out[j] = x[j] + float32(z[j]*sigma)
		}
		return nil
	})
}

package scheduler

import (
	"fmt"
	"math"

	"chrysalis/core/tensor"
)

// dpmSolver is DPMSolverMultistepScheduler with algorithm_type dpmsolver++
// and solver_type midpoint (Lu et al. 2022, "DPM-Solver++ 2M"): a multistep
// solver in λ = log(α/σ) on the data prediction x̂0, first order at the first
// step and (with final_sigmas_type zero, lower_order_final or euler_at_final)
// at the last.
type dpmSolver struct {
	common
	trainSigmas []float32 // σ_t = √((1−ᾱ_t)/ᾱ_t), t = 0..T-1
	lastT       int       // timesteps end below T − (timesteps whose λ < lambda_min_clipped)
	sigmas      []float32 // σ per step, plus the final σ (0 or σ_0)

	stepsDone int       // steps taken since SetTimesteps
	prevX0    []float32 // x̂0 of the previous step (model_outputs[-2])
}

func newDPMSolver(base common) (*dpmSolver, error) {
	s := &dpmSolver{common: base, trainSigmas: trainSigmas(base.alphasCumprod)}
	// λ_t = log √ᾱ_t − log √(1−ᾱ_t) decreases with t; timesteps whose λ falls
	// below lambda_min_clipped are cut off the end of the schedule
	// (searchsorted on the ascending, flipped λ).
	clipped := 0
	for t := len(base.alphasCumprod) - 1; t >= 0; t-- {
		ap := base.alphasCumprod[t]
		lambda := log32(sqrt32(ap)) - log32(sqrt32(1-ap))
		if float64(lambda) >= base.cfg.lambdaMinClipped {
			break
		}
		clipped++
	}
	s.lastT = len(base.alphasCumprod) - clipped
	if s.lastT < 1 {
		return nil, fmt.Errorf("scheduler: config key %q: %v leaves no timesteps", "lambda_min_clipped", base.cfg.lambdaMinClipped)
	}
	return s, nil
}

// trainSigmas is σ_t = √((1−ᾱ_t)/ᾱ_t) in float32.
func trainSigmas(alphasCumprod []float32) []float32 {
	out := make([]float32, len(alphasCumprod))
	for t, a := range alphasCumprod {
		out[t] = sqrt32((1 - a) / a)
	}
	return out
}

// SetTimesteps builds n integer timesteps over [0, lastT) and their σ:
//   - linspace: round(linspace(0, lastT−1, n+1)), reversed, without the final 0
//   - leading:  k·(lastT//(n+1)) + steps_offset for k = n … 1
//   - trailing: round(lastT, lastT − T/n, … > 0) − 1
//
// σ for each is the training σ at that timestep; the final σ is 0
// (final_sigmas_type zero) or σ_0 (sigma_min).
func (s *dpmSolver) SetTimesteps(n int) error {
	if err := s.checkSteps(n); err != nil {
		return err
	}
	T, last := s.cfg.numTrainTimesteps, s.lastT
	var y []float64
	switch s.cfg.timestepSpacing {
	case "linspace":
		y = reversed(npLinspace(0, float64(last-1), n+1))[:n]
	case "leading":
		ratio := last / (n + 1)
		for k := n; k >= 1; k-- {
			y = append(y, float64(k*ratio+s.cfg.stepsOffset))
		}
	default: // "trailing"
		y = npArange(float64(last), 0, -float64(T)/float64(n))
	}
	ts := make([]float32, len(y))
	sigmas := make([]float32, len(y)+1)
	for k, v := range y {
		ts[k] = float32(math.RoundToEven(v))
		if s.cfg.timestepSpacing == "trailing" {
			ts[k]-- // after rounding
		}
		sigmas[k] = float32(npInterp(float64(ts[k]), s.trainSigmas))
	}
	if s.cfg.finalSigmasType == "sigma_min" {
		sigmas[len(y)] = s.trainSigmas[0]
	}
	s.timesteps, s.sigmas, s.n = ts, sigmas, n
	s.stepsDone, s.prevX0 = 0, nil
	return nil
}

func (s *dpmSolver) InitNoiseSigma() float32 { return 1 }

func (s *dpmSolver) ScaleModelInput(sample *tensor.Tensor, i int) *tensor.Tensor { return sample }

// alphaSigma maps σ to the VP coefficients α_t = 1/√(σ²+1) and σ_t = σ·α_t.
func alphaSigma(sigma float32) (alpha, sigmaT float32) {
	alpha = 1 / sqrt32(float32(sigma*sigma)+1)
	return alpha, sigma * alpha
}

// lambda is λ = log α_t − log σ_t (+∞ at σ = 0).
func lambda(alpha, sigmaT float32) float32 { return log32(alpha) - log32(sigmaT) }

// Step is DPMSolverMultistepScheduler.step in float32, in diffusers' order of
// operations. Steps must come in order 0, 1, …, n−1 after SetTimesteps.
// With σ_s = σ at step i, σ_t at step i+1, h = λ_t − λ_s and the data
// predictions m0 (this step) and m1 (the previous one):
//
//	first order:  x_t = (σ_t/σ_s)·x − α_t(e^{−h}−1)·m0
//	second order: x_t = (σ_t/σ_s)·x − α_t(e^{−h}−1)·m0 − ½α_t(e^{−h}−1)·(m0−m1)/r0,
//	              r0 = h_0/h, h_0 = λ_s − λ_{s1}
func (s *dpmSolver) Step(modelOutput *tensor.Tensor, i int, sample, noise *tensor.Tensor) (Output, error) {
	if err := s.checkStep(modelOutput, i, sample); err != nil {
		return Output{}, err
	}
	if i != s.stepsDone {
		return Output{}, fmt.Errorf("scheduler: DPM-Solver step %d out of order (expected step %d)", i, s.stepsDone)
	}
	if s.prevX0 != nil && len(s.prevX0) != len(sample.Data) {
		return Output{}, fmt.Errorf("scheduler: step %d: sample shape %v changed between steps", i, sample.Shape)
	}
	n := len(s.timesteps)
	x := sample.Data
	alphaS0, sigmaS0 := alphaSigma(s.sigmas[i])
	m0 := predictX0(s.cfg.predictionType, modelOutput.Data, x, alphaS0, sigmaS0) // convert_model_output

	lowerOrderFinal := i == n-1 && (s.cfg.eulerAtFinal || s.cfg.lowerOrderFinal && n < 15 || s.cfg.finalSigmasType == "zero")
	firstOrder := s.cfg.solverOrder == 1 || s.stepsDone == 0 || lowerOrderFinal

	alphaT, sigmaT := alphaSigma(s.sigmas[i+1])
	h := lambda(alphaT, sigmaT) - lambda(alphaS0, sigmaS0)
	ratio := sigmaT / sigmaS0
	c := alphaT * (exp32(-h) - 1)
	prev := make([]float32, len(x))
	if firstOrder {
		for j := range prev {
			prev[j] = float32(ratio*x[j]) - float32(c*m0[j])
		}
	} else {
		alphaS1, sigmaS1 := alphaSigma(s.sigmas[i-1])
		h0 := lambda(alphaS0, sigmaS0) - lambda(alphaS1, sigmaS1)
		r0 := h0 / h
		invR0 := 1 / r0
		half := 0.5 * c
		m1 := s.prevX0
		for j := range prev {
			d1 := float32(invR0 * (m0[j] - m1[j]))
			prev[j] = float32(ratio*x[j]) - float32(c*m0[j]) - float32(half*d1)
		}
	}
	s.prevX0 = m0
	s.stepsDone++
	return Output{
		PrevSample:   tensor.From(prev, sample.Shape...),
		PredOriginal: tensor.From(append([]float32(nil), m0...), sample.Shape...),
	}, nil
}

// AddNoise is x_t = α_t·x_0 + σ_t·ε with σ looked up by the timestep's
// position in the current schedule (its second occurrence if it repeats; the
// last position if it is absent), as diffusers does.
func (s *dpmSolver) AddNoise(x0, noise *tensor.Tensor, timesteps []float32) (*tensor.Tensor, error) {
	if err := checkAddNoise(x0, noise, timesteps); err != nil {
		return nil, err
	}
	if s.n == 0 {
		return nil, fmt.Errorf("scheduler: AddNoise before SetTimesteps")
	}
	return perSample(x0, noise, func(x, z, out []float32, b int) error {
		k, ok := scheduleIndex(s.timesteps, timesteps[min(b, len(timesteps)-1)])
		if !ok {
			k = len(s.timesteps) - 1
		}
		alpha, sigmaT := alphaSigma(s.sigmas[k])
		for j := range out {
			out[j] = float32(alpha*x[j]) + float32(sigmaT*z[j])
		}
		return nil
	})
}

// scheduleIndex is index_for_timestep: the position of t in the schedule, the
// second one if t occurs more than once.
func scheduleIndex(schedule []float32, t float32) (int, bool) {
	first := -1
	for k, v := range schedule {
		if v == t {
			if first >= 0 {
				return k, true
			}
			first = k
		}
	}
	return first, first >= 0
}

// npInterp is np.interp(x, arange(len(fp)), fp) in float64: fp at the ends,
// else fp[j] + slope·(x−j) with j = ⌊x⌋.
func npInterp(x float64, fp []float32) float64 {
	last := len(fp) - 1
	switch {
	case x != x:
		return x
	case x <= 0:
		return float64(fp[0])
	case x >= float64(last):
		return float64(fp[last])
	}
	j := int(x)
	if float64(j) == x {
		return float64(fp[j])
	}
	slope := float64(fp[j+1]) - float64(fp[j]) // divided by xp[j+1] − xp[j] = 1
	r := float64(slope*(x-float64(j))) + float64(fp[j])
	if r != r { // numpy retries from the right end, then falls back to fp[j]
		r = float64(slope*(x-float64(j+1))) + float64(fp[j+1])
		if r != r && fp[j] == fp[j+1] {
			r = float64(fp[j])
		}
	}
	return r
}

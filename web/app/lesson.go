package app

import (
	"encoding/json"
	"fmt"
	"time"

	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/web/settings"
)

// The views beyond sampling (settings.Views): the forward process, the
// samplers side by side and the training step. Their state lives in State
// with the rest; what is computed from it (x_t, the schedules) is here.

// BetaSchedules are the noise schedules the forward view compares: diffusers'
// beta_schedule values the course plots.
var BetaSchedules = []string{"linear", "scaled_linear", "squaredcos_cap_v2"}

// withBetaSchedule is the scheduler config cfg with beta_schedule set to
// beta (trained_betas dropped); "" keeps cfg.
func withBetaSchedule(cfg []byte, beta string) ([]byte, error) {
	if beta == "" {
		return cfg, nil
	}
	var m map[string]any
	if err := json.Unmarshal(cfg, &m); err != nil {
		return nil, fmt.Errorf("the scheduler config: %w", err)
	}
	m["beta_schedule"], m["trained_betas"] = beta, nil
	return json.Marshal(m)
}

// noiseSchedule is DDPMScheduler built from cfg with beta_schedule beta
// ("" is cfg's own).
func noiseSchedule(cfg []byte, beta string) (scheduler.Scheduler, error) {
	data, err := withBetaSchedule(cfg, beta)
	if err != nil {
		return nil, err
	}
	return scheduler.FromConfig(data, scheduler.DDPM, scheduler.Options{})
}

// Forward is one picture of the forward process q(x_t | x₀).
type Forward struct {
	T        int
	AlphaBar float32        // ᾱ_t
	XT       *tensor.Tensor // [B,C,H,W]
}

// forwardProcess is the forward view's
//
//	x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε
//
// for the images x0 ([B,C,H,W], model space), exactly as
// DDPMScheduler.add_noise computes it from the model's scheduler config cfg
// with beta_schedule beta ("" is cfg's own). Image i's ε is the unit noise
// of stream PCG(seed, i): the x_T that a run with this seed starts from.
func forwardProcess(cfg []byte, beta string, x0 *tensor.Tensor, seed uint64, t int) (Forward, error) {
	sched, err := noiseSchedule(cfg, beta)
	if err != nil {
		return Forward{}, err
	}
	ab := sched.AlphasCumprod()
	if t < 0 || t >= len(ab) {
		return Forward{}, fmt.Errorf("timestep %d is outside the schedule's 0 to %d", t, len(ab)-1)
	}
	eps := tensor.New(x0.Shape...)
	pipeline.NewSeeded(seed, 0, x0.Shape[0]).Fill(eps)
	xt, err := sched.AddNoise(x0, eps, []float32{float32(t)})
	if err != nil {
		return Forward{}, err
	}
	return Forward{T: t, AlphaBar: ab[t], XT: xt}, nil
}

// scheduleCurves is ᾱ_t of every beta schedule of BetaSchedules under cfg's
// other settings (num_train_timesteps, beta_start, beta_end).
func scheduleCurves(cfg []byte) (map[string][]float32, error) {
	out := map[string][]float32{}
	for _, b := range BetaSchedules {
		s, err := noiseSchedule(cfg, b)
		if err != nil {
			return nil, fmt.Errorf("beta schedule %s: %w", b, err)
		}
		out[b] = s.AlphasCumprod()
	}
	return out, nil
}

// CompareRun is the compare view's latest comparison: one run per sampler,
// one after the other, all with the same model, seed and batch.
type CompareRun struct {
	Phase    Phase
	Settings settings.Settings // the model, seed and batch
	Samplers []settings.Sampler
	Results  []CompareResult // one per sampler
	Note     string          // why it stopped or failed
}

// CompareResult is one sampler's run.
type CompareResult struct {
	Phase   Phase
	Elapsed time.Duration
	X       *tensor.Tensor // the final samples, [B,C,H,W]; nil until the run ends
}

// runsFor is the run settings of comparison entry k.
func (c *CompareRun) runsFor(k int) settings.Settings {
	s := c.Settings
	s.Scheduler, s.Steps, s.Eta = c.Samplers[k].Scheduler, c.Samplers[k].Steps, 0
	return s
}

// Training is the train view's fine-tuning session, which worker 0 runs
// (engine's train-* messages, core/train's FineTune): step s trains on the
// chosen images (s−1)·B … s·B−1, taken round the list.
type Training struct {
	Phase   Phase  // Idle until Train is pressed; Running while steps are taken
	Images  int    // images chosen and decoded
	Reading bool   // the chosen files are being decoded
	Note    string // why the images or the session failed, or why it stopped
	Session bool   // worker 0 holds fine-tuned weights: runs sample from them, on it alone
	Steps   int    // steps one press of Train takes
	Batch   int    // images per step
	Target  int    // the step the current press ends at
	Step    int    // steps taken in the session
	Losses  []float64
	Points  []LossPoint // every image's (t, loss), for the loss-against-t plot
	Last    TrainStepped
	Started time.Time
	Elapsed time.Duration // of the current (or last) press
	// Download is the fine-tuned model as a zip of a diffusers folder (an
	// object URL), "" until exported.
	Download  string
	Exporting bool
}

// LossPoint is one image's loss at its timestep.
type LossPoint struct {
	T    int
	Loss float64
}

// Limits of the train view's controls.
const (
	MaxTrainSteps     = 1000
	DefaultTrainSteps = 100
	MaxTrainBatch     = 8
	DefaultTrainBatch = 4
)

// The train view's stages, in the order of the rows it draws, with their labels.
var trainStages = []struct{ Name, Label string }{
	{"x0", "x₀: the image"}, {"noise", "ε: the noise"}, {"xt", "x_t: the model's input"},
	{"prediction", "the model's prediction"}, {"target", "the target"}, {"x0hat", "x̂₀ it implies"},
}

// trainBatch is the indices of the n chosen images that step s (from 1) trains on.
func trainBatch(s, batch, n int) []int {
	idx := make([]int, batch)
	for j := range idx {
		idx[j] = ((s-1)*batch + j) % n
	}
	return idx
}

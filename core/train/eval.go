package train

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"

	"chrysalis/core/unet"
)

// EvalSeed fixes the evaluation draws: image i of a folder (in name order)
// is evaluated at the timestep and noise drawn from PCG(EvalSeed, i), so
// that every checkpoint, ours or diffusers', is measured on the same numbers.
const EvalSeed = 0x5eed

// Eval is the mean denoising loss over an evaluation set, with a 95%
// confidence interval for the mean (Student's t over the per-image losses).
type Eval struct {
	Mean, Low, High float64
	Losses          []float64 // per image: mean of (out − target)² over its elements
	Timesteps       []int     // per image: the timestep it was noised to
}

func (e Eval) String() string {
	return fmt.Sprintf("%.5f (95%% CI %.5f–%.5f, %d images)", e.Mean, e.Low, e.High, len(e.Losses))
}

// Evaluate measures model on the images data.Images[i] for i in idx: each at
// its fixed timestep and noise (see EvalSeed), without flips. Images are
// spread over workers goroutines (0: GOMAXPROCS); the result does not depend
// on how many. It stops early with ctx's error.
func Evaluate(ctx context.Context, m *unet.Model, obj *Objective, data *Dataset, idx []int, workers int) (Eval, error) {
	if len(idx) == 0 {
		return Eval{}, fmt.Errorf("train: no images to evaluate")
	}
	if workers < 1 {
		workers = runtime.GOMAXPROCS(0)
	}
	losses := make([]float64, len(idx))
	ts := make([]int, len(idx))
	errs := make([]error, len(idx))
	var next sync.Mutex
	k := 0
	var wg sync.WaitGroup
	for range min(workers, len(idx)) {
		wg.Go(func() {
			for {
				next.Lock()
				j := k
				k++
				next.Unlock()
				if j >= len(idx) || ctx.Err() != nil {
					return
				}
				x0 := data.Images[idx[j]]
				ex := obj.drawExample(x0, rand.New(rand.NewPCG(EvalSeed, uint64(idx[j]))))
				sum, err := obj.loss(m, ex, x0.Numel(), nil)
				losses[j], ts[j], errs[j] = sum/float64(x0.Numel()), ex.t, err
			}
		})
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return Eval{}, err
	}
	for j, err := range errs {
		if err != nil {
			return Eval{}, fmt.Errorf("train: evaluating %s: %w", data.Names[idx[j]], err)
		}
	}
	e := summarize(losses)
	e.Timesteps = ts
	return e, nil
}

// Paired compares two evaluations of the same images with the same draws:
// the per-image differences d_i = a_i − b_i, their mean and its 95% CI. The
// image and its noise account for most of a loss's spread and cancel in d_i,
// so the paired interval is far narrower than either evaluation's own.
func Paired(a, b Eval) (Eval, error) {
	if len(a.Losses) != len(b.Losses) {
		return Eval{}, fmt.Errorf("train: a paired comparison needs the same images: %d and %d losses", len(a.Losses), len(b.Losses))
	}
	if !slices.Equal(a.Timesteps, b.Timesteps) {
		return Eval{}, fmt.Errorf("train: a paired comparison needs the same timesteps")
	}
	d := make([]float64, len(a.Losses))
	for i := range d {
		d[i] = a.Losses[i] - b.Losses[i]
	}
	e := summarize(d)
	e.Timesteps = a.Timesteps
	return e, nil
}

// Within is e restricted to the images noised to a timestep in [lo, hi),
// with its own mean and interval: a paired difference within a band of
// timesteps tells where two models differ, fine detail (small t) or layout
// and colour (large t). ok is false when fewer than two images fall in it.
func (e Eval) Within(lo, hi int) (band Eval, ok bool) {
	var x []float64
	var ts []int
	for i, t := range e.Timesteps {
		if t >= lo && t < hi {
			x, ts = append(x, e.Losses[i]), append(ts, t)
		}
	}
	if len(x) < 2 {
		return Eval{}, false
	}
	band = summarize(x)
	band.Timesteps = ts
	return band, true
}

// summarize gives the mean of x and its 95% confidence interval,
// mean ± t(0.975, n−1)·s/√n (the interval is the mean alone for n = 1).
func summarize(x []float64) Eval {
	mean, sd := stat.MeanStdDev(x, nil)
	e := Eval{Mean: mean, Low: mean, High: mean, Losses: x}
	if n := float64(len(x)); n > 1 {
		half := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: n - 1}.Quantile(0.975) * sd / math.Sqrt(n)
		e.Low, e.High = mean-half, mean+half
	}
	return e
}

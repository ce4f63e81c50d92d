package quality

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/stat"
)

// Options set Compare's subsets. The zero value gives the defaults.
type Options struct {
	Subsets int    // S, the number of subsets (0: 100)
	Size    int    // m, images drawn from each set per subset (0: half the smaller set)
	Seed    uint64 // subset s draws its images from PCG(Seed, s)
}

// Estimate is the mean and standard deviation of a measure over subsets.
type Estimate struct{ Mean, SD float64 }

func (e Estimate) String() string { return fmt.Sprintf("%.4g ± %.2g", e.Mean, e.SD) }

// Result is Compare's answer.
type Result struct {
	KID      Estimate // MMD2 of thumbnails
	Coverage Estimate // Coverage with k = CoverageK
	Subsets  int      // S
	Size     int      // m
}

// Compare measures samples against data, both feature vectors (Thumbnail),
// over S subsets: subset s draws m data vectors and m sample vectors without
// replacement (the first m of PCG(Seed, s)'s permutation of each set), and
// the result is the mean and standard deviation over the subsets of MMD2 (the
// KID) and of Coverage. The answer depends only on the inputs and Options.
func Compare(data, samples [][]float64, o Options) (Result, error) {
	if err := check(data, samples, 2); err != nil {
		return Result{}, err
	}
	if o.Subsets == 0 {
		o.Subsets = 100
	}
	if o.Size == 0 {
		o.Size = min(len(data), len(samples)) / 2
	}
	switch {
	case o.Subsets < 1:
		return Result{}, fmt.Errorf("quality: %d subsets: want at least 1", o.Subsets)
	case o.Size <= CoverageK || o.Size > len(data) || o.Size > len(samples):
		return Result{}, fmt.Errorf("quality: subsets of %d drawn from %d data and %d samples: want %d .. %d",
			o.Size, len(data), len(samples), CoverageK+1, min(len(data), len(samples)))
	}
	g := newGram(data, samples)
	kid := make([]float64, o.Subsets)
	cov := make([]float64, o.Subsets)
	for s := range o.Subsets {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(s)))
		x := rng.Perm(len(data))[:o.Size]
		y := rng.Perm(len(samples))[:o.Size]
		for i := range y {
			y[i] += len(data)
		}
		kid[s] = g.mmd2(x, y)
		cov[s] = g.coverage(x, y, CoverageK)
	}
	r := Result{Subsets: o.Subsets, Size: o.Size}
	r.KID.Mean, r.KID.SD = meanSD(kid)
	r.Coverage.Mean, r.Coverage.SD = meanSD(cov)
	return r, nil
}

// gram holds the dot products z_iᵀz_j of every pair of vectors, z = data
// then samples, from which MMD2's kernel and Coverage's distances follow:
// k = (z_iᵀz_j/d + 1)³ and ‖z_i − z_j‖² = z_iᵀz_i + z_jᵀz_j − 2 z_iᵀz_j. Its
// methods give MMD2 and Coverage of subsets, named by index into z.
type gram struct {
	n, d int
	dot  []float64 // n×n
}

func newGram(data, samples [][]float64) *gram {
	z := append(append([][]float64(nil), data...), samples...)
	g := &gram{n: len(z), d: len(z[0]), dot: make([]float64, len(z)*len(z))}
	for i, a := range z {
		for j := i; j < len(z); j++ {
			var s float64
			for k, v := range a {
				s += v * z[j][k]
			}
			g.dot[i*g.n+j], g.dot[j*g.n+i] = s, s
		}
	}
	return g
}

func (g *gram) kernel(i, j int) float64 {
	s := g.dot[i*g.n+j]/float64(g.d) + 1
	return s * s * s
}

func (g *gram) dist2(i, j int) float64 {
	return max(g.dot[i*g.n+i]+g.dot[j*g.n+j]-2*g.dot[i*g.n+j], 0)
}

// mmd2 is MMD2 of z[x] and z[y].
func (g *gram) mmd2(x, y []int) float64 {
	within := func(x []int) float64 {
		var s float64
		for a, i := range x {
			for _, j := range x[a+1:] {
				s += g.kernel(i, j)
			}
		}
		return 2 * s
	}
	var across float64
	for _, i := range x {
		for _, j := range y {
			across += g.kernel(i, j)
		}
	}
	n, m := float64(len(x)), float64(len(y))
	return within(x)/(n*(n-1)) + within(y)/(m*(m-1)) - 2*across/(n*m)
}

// coverage is Coverage of data z[x] by samples z[y].
func (g *gram) coverage(x, y []int, k int) float64 {
	d2 := make([]float64, 0, len(x)-1)
	covered := 0
	for _, i := range x {
		d2 = d2[:0]
		for _, j := range x {
			if j != i {
				d2 = append(d2, g.dist2(i, j))
			}
		}
		slices.Sort(d2)
		near := math.Inf(1)
		for _, j := range y {
			near = min(near, g.dist2(i, j))
		}
		if near <= d2[k-1] {
			covered++
		}
	}
	return float64(covered) / float64(len(x))
}

// meanSD is the mean and the sample standard deviation (0 for one value).
func meanSD(x []float64) (mean, sd float64) {
	if len(x) == 1 {
		return x[0], 0
	}
	return stat.MeanStdDev(x, nil)
}

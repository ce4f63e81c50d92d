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
	o, err := o.resolve(len(data), len(samples))
	if err != nil {
		return Result{}, err
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

// resolve fills in the defaults for n data and m samples and checks them.
func (o Options) resolve(n, m int) (Options, error) {
	if o.Subsets == 0 {
		o.Subsets = 100
	}
	if o.Size == 0 {
		o.Size = min(n, m) / 2
	}
	switch {
	case o.Subsets < 1:
		return o, fmt.Errorf("quality: %d subsets: want at least 1", o.Subsets)
	case o.Size <= CoverageK || o.Size > n || o.Size > m:
		return o, fmt.Errorf("quality: subsets of %d drawn from %d data and %d samples: want %d .. %d",
			o.Size, n, m, CoverageK+1, min(n, m))
	}
	return o, nil
}

// Difference is a paired comparison of two sample sets' KID.
type Difference struct {
	Mean          float64 // the mean over subsets of KID(a) − KID(b)
	Lo, Hi        float64 // the 2.5th and 97.5th percentiles of the subset differences
	Subsets, Size int
}

// PairedKID compares two equally large sample sets a and b against data
// over Compare's subsets, paired: subset s draws its data images and its
// sample indices once (as Compare does from PCG(Seed, s)) and measures
//
//	d_s = MMD2(data_s, a_s) − MMD2(data_s, b_s)
//
// so the choice of data images, which moves both KIDs alike, cancels. An
// interval [Lo, Hi] that excludes 0 says the order of a and b does not
// depend on which images the subsets drew.
func PairedKID(data, a, b [][]float64, o Options) (Difference, error) {
	if len(a) != len(b) {
		return Difference{}, fmt.Errorf("quality: paired KID of %d and %d samples: want as many of each", len(a), len(b))
	}
	if err := check(data, a, 2); err != nil {
		return Difference{}, err
	}
	if err := check(data, b, 2); err != nil {
		return Difference{}, err
	}
	o, err := o.resolve(len(data), len(a))
	if err != nil {
		return Difference{}, err
	}
	g := newGram(data, append(append([][]float64(nil), a...), b...))
	d := make([]float64, o.Subsets)
	ya, yb := make([]int, o.Size), make([]int, o.Size)
	for s := range o.Subsets {
		rng := rand.New(rand.NewPCG(o.Seed, uint64(s)))
		x := rng.Perm(len(data))[:o.Size]
		for i, j := range rng.Perm(len(a))[:o.Size] {
			ya[i], yb[i] = len(data)+j, len(data)+len(a)+j
		}
		d[s] = g.mmd2(x, ya) - g.mmd2(x, yb)
	}
	r := Difference{Mean: stat.Mean(d, nil), Subsets: o.Subsets, Size: o.Size}
	slices.Sort(d)
	r.Lo, r.Hi = stat.Quantile(0.025, stat.Empirical, d, nil), stat.Quantile(0.975, stat.Empirical, d, nil)
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

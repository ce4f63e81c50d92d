package quality

import "fmt"

// Kernel is KID's cubic polynomial kernel k(a, b) = (aᵀb/d + 1)³, d = len(a).
func Kernel(a, b []float64) float64 {
	var dot float64
	for i, v := range a {
		dot += v * b[i]
	}
	s := dot/float64(len(a)) + 1
	return s * s * s
}

// MMD2 is the unbiased estimate of the squared maximum mean discrepancy
// between x (n vectors) and y (m vectors) under Kernel:
//
//	Σ_{i≠j} k(x_i,x_j)/(n(n−1)) + Σ_{i≠j} k(y_i,y_j)/(m(m−1)) − 2 Σ_{i,j} k(x_i,y_j)/(nm)
//
// Both sets need at least 2 vectors, all of the same length.
func MMD2(x, y [][]float64) (float64, error) {
	if err := check(x, y, 2); err != nil {
		return 0, err
	}
	n, m := float64(len(x)), float64(len(y))
	return within(x)/(n*(n-1)) + within(y)/(m*(m-1)) - 2*across(x, y)/(n*m), nil
}

// within is Σ_{i≠j} k(x_i, x_j).
func within(x [][]float64) float64 {
	var s float64
	for i := range x {
		for j := i + 1; j < len(x); j++ {
			s += Kernel(x[i], x[j])
		}
	}
	return 2 * s
}

// across is Σ_{i,j} k(x_i, y_j).
func across(x, y [][]float64) float64 {
	var s float64
	for _, a := range x {
		for _, b := range y {
			s += Kernel(a, b)
		}
	}
	return s
}

// check reports sets with fewer than min vectors, or vectors whose lengths
// differ or are 0.
func check(x, y [][]float64, min int) error {
	if len(x) < min || len(y) < min {
		return fmt.Errorf("quality: sets of %d and %d vectors: want at least %d in each", len(x), len(y), min)
	}
	d := len(x[0])
	if d == 0 {
		return fmt.Errorf("quality: empty feature vectors")
	}
	for _, set := range [][][]float64{x, y} {
		for i, v := range set {
			if len(v) != d {
				return fmt.Errorf("quality: vector %d has %d values, want %d", i, len(v), d)
			}
		}
	}
	return nil
}

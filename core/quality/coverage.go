package quality

import (
	"fmt"
	"math"
	"slices"
)

// CoverageK is the k of Compare's coverage, Naeem et al.'s choice.
const CoverageK = 5

// Coverage is the share of data vectors that have a sample vector inside
// their k-nearest-neighbour ball (Euclidean):
//
//	r_i = ‖x_i − x_(k)‖, x_(k) the k-th nearest x_j, j ≠ i
//	coverage = (1/n) Σ_i 1[ min_j ‖x_i − y_j‖ ≤ r_i ]
//
// data needs more than k vectors.
func Coverage(data, samples [][]float64, k int) (float64, error) {
	if k < 1 {
		return 0, fmt.Errorf("quality: coverage with k = %d: want k ≥ 1", k)
	}
	if err := check(data, samples, 1); err != nil {
		return 0, err
	}
	if len(data) <= k {
		return 0, fmt.Errorf("quality: coverage with k = %d needs more than %d data vectors, got %d", k, k, len(data))
	}
	d2 := make([]float64, len(data)-1) // squared distances from x_i to the other x_j
	covered := 0
	for i, x := range data {
		d2 = d2[:0]
		for j, o := range data {
			if j != i {
				d2 = append(d2, dist2(x, o))
			}
		}
		slices.Sort(d2)
		r2 := d2[k-1]
		near := math.Inf(1)
		for _, y := range samples {
			near = min(near, dist2(x, y))
		}
		if near <= r2 {
			covered++
		}
	}
	return float64(covered) / float64(len(data)), nil
}

// dist2 is ‖a − b‖².
func dist2(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		d := v - b[i]
		s += d * d
	}
	return s
}

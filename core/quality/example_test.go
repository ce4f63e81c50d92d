package quality_test

import (
	"fmt"

	"chrysalis/core/quality"
)

// Two tiny sets of 1-D features: MMD2's three sums can be checked by hand
// with k(a, b) = (ab + 1)³.
func ExampleMMD2() {
	data := [][]float64{{0}, {1}}
	samples := [][]float64{{1}, {2}}
	kid, err := quality.MMD2(data, samples)
	if err != nil {
		panic(err)
	}
	// k(0,1) = 1 within data, k(1,2) = 27 within samples, and
	// k(0,1) + k(0,2) + k(1,1) + k(1,2) = 37 across:
	// 2·1/2 + 2·27/2 − 2·37/4 = 9.5
	fmt.Println(kid)
	// Output: 9.5
}

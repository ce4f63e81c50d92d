//go:build goexperiment.simd && (amd64 || wasm)

package tensor

import (
	"math"
	"testing"
)

// inRange is true only when every value lies in the range, wherever the one
// outside sits: in a SIMD quad or in the scalar tail, and NaN is outside.
func TestInRange(t *testing.T) {
	for n := range 11 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(i) - 5
		}
		if !inRange(s, -5, 5) {
			t.Errorf("%v rejected in [-5, 5]", s)
		}
		for i := range s {
			for _, bad := range []float32{-5.0001, 5.0001, float32(math.NaN()), float32(math.Inf(1))} {
				old := s[i]
				s[i] = bad
				if inRange(s, -5, 5) {
					t.Errorf("%v accepted in [-5, 5]", s)
				}
				s[i] = old
			}
		}
	}
}

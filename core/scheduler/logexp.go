package scheduler

import "math"

// log32 and exp32 are ln x and e^x of a float32, evaluated in float64 and
// rounded once to float32: the correctly rounded result except in about one
// case in 2^29. torch's float32 log and exp (vectorised 1-ulp kernels) are not
// always correctly rounded, so DPM-Solver++, which turns λ = log α − log σ and
// e^{−h} into per-step coefficients, can differ from diffusers by a few float32
// ulps of the sample; golden_test.go states that tolerance.
func log32(x float32) float32 { return float32(math.Log(float64(x))) }

func exp32(x float32) float32 { return float32(math.Exp(float64(x))) }

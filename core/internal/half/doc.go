// Package half converts between float32 and the 16-bit float formats that
// checkpoints use: IEEE binary16 (F16, torch.float16) and bfloat16 (BF16).
// Widening is exact for every value, subnormals, infinities and NaNs
// included; narrowing rounds to nearest, ties to even.
package half

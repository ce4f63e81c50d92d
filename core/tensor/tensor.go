package tensor

import "fmt"

// Tensor is a dense float32 array in row-major order. Images and activations
// are NCHW: Shape = [N, C, H, W] and element (n,c,h,w) sits at
// ((n*C+c)*H+h)*W+w.
type Tensor struct {
	Shape []int
	Data  []float32
}

// New returns a zeroed tensor of the given shape.
func New(shape ...int) *Tensor {
	return &Tensor{Shape: append([]int(nil), shape...), Data: make([]float32, numel(shape))}
}

// From wraps data (not copied) as a tensor of the given shape. It panics when
// len(data) does not match the shape: that is a programming error.
func From(data []float32, shape ...int) *Tensor {
	if len(data) != numel(shape) {
		panic(fmt.Sprintf("tensor: %d values for shape %v", len(data), shape))
	}
	return &Tensor{Shape: append([]int(nil), shape...), Data: data}
}

// Numel is the number of elements.
func (t *Tensor) Numel() int { return len(t.Data) }

// Clone returns a deep copy.
func (t *Tensor) Clone() *Tensor {
	return &Tensor{Shape: append([]int(nil), t.Shape...), Data: append([]float32(nil), t.Data...)}
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// SIMD reports whether the kernels run with simd/archsimd (a GOEXPERIMENT=simd
// build on wasm, or on amd64 with AVX2) rather than as scalar Go. Both give
// the same bits; chrysalis bench prints it.
func SIMD() bool { return useSIMD }

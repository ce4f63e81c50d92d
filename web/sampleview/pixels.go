package sampleview

import (
	"fmt"
	"math"
)

// Pixel maps one model-space value to an 8-bit channel as diffusers'
// postprocessing does: p = round_half_even(clamp(x/2 + 0.5, 0, 1) * 255),
// each operation in float32. NaN maps to 0.
func Pixel(x float32) uint8 {
	v := float32(x/2) + 0.5
	if !(v > 0) { // also NaN
		return 0
	}
	if v > 1 {
		v = 1
	}
	return uint8(math.RoundToEven(float64(v * 255)))
}

// ToRGBA converts one image, NCHW with N=1, (C,H,W) -> (H,W,4) RGBA bytes
// with alpha 255, into dst, which must hold 4*H*W bytes. C is 3 (RGB) or 1
// (grey, copied to R, G and B).
func ToRGBA(dst []byte, x []float32, channels, height, width int) error {
	plane := height * width
	if channels != 1 && channels != 3 {
		return fmt.Errorf("sampleview: %d channels: want 1 or 3", channels)
	}
	if len(x) != channels*plane {
		return fmt.Errorf("sampleview: image of %d values: want C*H*W = %d*%d*%d = %d", len(x), channels, height, width, channels*plane)
	}
	if len(dst) != 4*plane {
		return fmt.Errorf("sampleview: RGBA buffer of %d bytes: want 4*H*W = %d", len(dst), 4*plane)
	}
	g, b := 0, 0 // offsets of the green and blue planes
	if channels == 3 {
		g, b = plane, 2*plane
	}
	for i := range plane {
		p := dst[4*i : 4*i+4 : 4*i+4]
		p[0] = Pixel(x[i])
		p[1] = Pixel(x[g+i])
		p[2] = Pixel(x[b+i])
		p[3] = 255
	}
	return nil
}

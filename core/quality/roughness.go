package quality

import (
	"image"
	"math"
)

// Roughness is the mean absolute Laplacian of img at its own resolution,
// over its interior pixels and its R, G and B channels in [0, 1]:
//
//	L(x, y) = 4·p(x, y) − p(x−1, y) − p(x+1, y) − p(x, y−1) − p(x, y+1)
//	roughness = mean |L|
//
// Speckle and ragged edges raise it; smooth regions and clean edges keep it
// low. It sees the pixel-scale texture that 8×8 thumbnails average away.
// Images smaller than 3×3 have no interior and give 0.
func Roughness(img image.Image) float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w < 3 || h < 3 {
		return 0
	}
	px := make([][3]float64, w*h)
	for y := range h {
		for x := range w {
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			px[y*w+x] = [3]float64{float64(r) / 0xffff, float64(g) / 0xffff, float64(bl) / 0xffff}
		}
	}
	var sum float64
	for y := 1; y < h-1; y++ {
		for x := 1; x < w-1; x++ {
			i := y*w + x
			for c := range 3 {
				sum += math.Abs(4*px[i][c] - px[i-1][c] - px[i+1][c] - px[i-w][c] - px[i+w][c])
			}
		}
	}
	return sum / float64(3*(w-2)*(h-2))
}

// MeanRoughness is the mean and standard deviation of Roughness over imgs.
func MeanRoughness(imgs []image.Image) Estimate {
	r := make([]float64, len(imgs))
	for i, img := range imgs {
		r[i] = Roughness(img)
	}
	var e Estimate
	e.Mean, e.SD = meanSD(r)
	return e
}

package quality

import "image"

// ThumbSide is the side of the thumbnails that Compare's features are made of.
const ThumbSide = 8

// Thumbnail returns img's feature vector: a side×side RGB thumbnail, values
// in [0, 1], cell by cell in row order, R, G, B per cell (3·side² values).
// Source pixel (x, y) of a W×H image falls into cell (⌊(2x+1)·side/(2W)⌋,
// ⌊(2y+1)·side/(2H)⌋), and a cell is the mean of its pixels: an exact box
// filter when W and H are multiples of side. img is taken as opaque (its
// colour is read premultiplied, as image.Image's RGBA method gives it).
func Thumbnail(img image.Image, side int) []float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	sum := make([]float64, 3*side*side)
	count := make([]int, side*side)
	for y := range h {
		cy := (2*y + 1) * side / (2 * h)
		for x := range w {
			cx := (2*x + 1) * side / (2 * w)
			r, g, bl, _ := img.At(b.Min.X+x, b.Min.Y+y).RGBA()
			c := cy*side + cx
			sum[3*c] += float64(r) / 0xffff
			sum[3*c+1] += float64(g) / 0xffff
			sum[3*c+2] += float64(bl) / 0xffff
			count[c]++
		}
	}
	for c, n := range count {
		if n > 0 {
			for ch := range 3 {
				sum[3*c+ch] /= float64(n)
			}
		}
	}
	return sum
}

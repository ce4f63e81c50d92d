package quality

import (
	"image"
	"math"
)

// HueBins is the number of hue bins, 30° each.
const HueBins = 12

// HueNames are the bins' colours, three letters each: bin b is centred on
// hue 30°·b (red, orange, yellow, chartreuse, green, spring green, cyan,
// azure, blue, violet, magenta, rose).
var HueNames = [HueBins]string{"red", "ora", "yel", "cha", "grn", "spr", "cya", "azu", "blu", "vio", "mag", "ros"}

// MinChroma is the chroma max(R,G,B) − min(R,G,B), on [0, 1], from which a
// pixel counts as coloured: white, greys and near-black pixels have no
// reliable hue.
const MinChroma = 0.2

// Hues is the colour spread of a set of images.
type Hues struct {
	Share     [HueBins]float64 // share of the chromatic pixels in each bin (sums to 1, or all 0 when none)
	Chromatic float64          // share of all pixels that are chromatic
}

// HueHistogram counts the chromatic pixels of imgs by hue. A pixel with
// chroma c = max − min ≥ MinChroma has the HSV hue
//
//	h = 60° · ((G−B)/c mod 6)  if R is the max
//	    60° · ((B−R)/c + 2)    if G is the max
//	    60° · ((R−G)/c + 4)    if B is the max
//
// and falls into bin ⌊(h + 15°)/30°⌋ mod 12. Images are taken as opaque.
func HueHistogram(imgs []image.Image) Hues {
	var count [HueBins]float64
	var chromatic, all float64
	for _, img := range imgs {
		b := img.Bounds()
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				all++
				r16, g16, b16, _ := img.At(x, y).RGBA()
				bin, ok := hueBin(float64(r16)/0xffff, float64(g16)/0xffff, float64(b16)/0xffff)
				if ok {
					count[bin]++
					chromatic++
				}
			}
		}
	}
	var h Hues
	if chromatic > 0 {
		for i, c := range count {
			h.Share[i] = c / chromatic
		}
		h.Chromatic = chromatic / all
	}
	return h
}

// hueBin gives the hue bin of a pixel, and false if it is not chromatic.
func hueBin(r, g, b float64) (int, bool) {
	hi, lo := max(r, g, b), min(r, g, b)
	c := hi - lo
	if c < MinChroma {
		return 0, false
	}
	var h float64 // in units of 60°
	switch hi {
	case r:
		h = math.Mod((g-b)/c+6, 6)
	case g:
		h = (b-r)/c + 2
	default:
		h = (r-g)/c + 4
	}
	return int(math.Floor(h*2+0.5)) % HueBins, true
}

// TotalVariation is ½ Σ_b |p_b − q_b| between two hue histograms: 0 for the
// same colours in the same proportions, 1 for no colour in common. It is NaN
// when either set has no chromatic pixel.
func TotalVariation(p, q Hues) float64 {
	if p.Chromatic == 0 || q.Chromatic == 0 {
		return math.NaN()
	}
	var s float64
	for b := range p.Share {
		s += math.Abs(p.Share[b] - q.Share[b])
	}
	return s / 2
}

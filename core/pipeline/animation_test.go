package pipeline

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"chrysalis/core/tensor"
)

// GIF draws every frame's x_t and x̂₀, each pixel its palette's nearest to
// what Images gives, under a bar that fills step by step, and survives an
// encode and decode.
func TestGIF(t *testing.T) {
	const steps, scale = 3, 2
	var frames []Frame
	for s := range steps {
		xt, x0 := tensor.New(3, 3, 4, 5), tensor.New(3, 3, 4, 5)
		for i := range xt.Data {
			xt.Data[i] = float32(math.Sin(float64(i + 100*s)))
			x0.Data[i] = float32(math.Cos(float64(i*7 + s)))
		}
		frames = append(frames, Frame{Index: s, Steps: steps, Timestep: float32(900 - 300*s), Sample: xt, PredOriginal: x0})
	}
	g, err := GIF(frames, scale)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		t.Fatal(err)
	}
	g, err = gif.DecodeAll(&buf)
	if err != nil {
		t.Fatal(err)
	}
	// 3 pairs in a 2x2 grid: pair width 2·10+2, margins 2·2 around each.
	width, height := 2*22+3*4, 4+4+2*(8+4)
	if len(g.Image) != steps || g.Config.Width != width || g.Config.Height != height {
		t.Fatalf("%d frames of %dx%d, want %d of %dx%d", len(g.Image), g.Config.Width, g.Config.Height, steps, width, height)
	}
	if g.Delay[0] != gifStepDelay || g.Delay[steps-1] != gifLastDelay || g.LoopCount != 0 {
		t.Errorf("delays %v, loop count %d", g.Delay, g.LoopCount)
	}
	for s, img := range g.Image {
		nearest := func(c color.Color) color.Color { return img.Palette[img.Palette.Index(c)] }
		if filled := width * (s + 1) / steps; img.At(filled-1, 0) != nearest(color.RGBA{0x33, 0x33, 0x33, 0xff}) ||
			(filled < width && img.At(filled, 0) != nearest(color.RGBA{0xdd, 0xdd, 0xdd, 0xff})) {
			t.Errorf("frame %d: the bar does not end at %d of %d", s, filled, width)
		}
		xt, _ := Images(frames[s].Sample)
		x0, _ := Images(frames[s].PredOriginal)
		for i := range 3 {
			x, y := 4+(i%2)*(22+4), 4+4+(i/2)*(8+4)
			for py := range 8 {
				for px := range 10 {
					if got, want := img.At(x+px, y+py), nearest(xt[i].At(px/scale, py/scale)); got != want {
						t.Fatalf("frame %d, image %d, x_t pixel (%d,%d): %v, want %v", s, i, px, py, got, want)
					}
					if got, want := img.At(x+12+px, y+py), nearest(x0[i].At(px/scale, py/scale)); got != want {
						t.Fatalf("frame %d, image %d, x̂₀ pixel (%d,%d): %v, want %v", s, i, px, py, got, want)
					}
				}
			}
		}
	}
}

// paletteOf keeps the colours of a picture that has few, exactly, the most
// used first, and at most 256 of a picture that has more.
func TestPaletteOf(t *testing.T) {
	few := image.NewRGBA(image.Rect(0, 0, 3, 2))
	for i, c := range []color.RGBA{{9, 8, 7, 255}, {200, 100, 0, 255}, {9, 8, 7, 255}, {255, 255, 255, 255}, {9, 8, 7, 255}, {200, 100, 0, 255}} {
		few.SetRGBA(i%3, i/3, c)
	}
	want := color.Palette{color.RGBA{9, 8, 7, 255}, color.RGBA{200, 100, 0, 255}, color.RGBA{255, 255, 255, 255}}
	if got := paletteOf([]*image.RGBA{few}); !slices.Equal(got, want) {
		t.Errorf("palette %v, want %v", got, want)
	}
	many := image.NewRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := range 64 {
			many.SetRGBA(x, y, color.RGBA{uint8(4 * x), uint8(4 * y), uint8(x * y), 255}) // over 256 bins
		}
	}
	if got := paletteOf([]*image.RGBA{many}); len(got) != 256 {
		t.Errorf("%d colours, want 256", len(got))
	}
}

func TestGIFSteps(t *testing.T) {
	for _, c := range []struct {
		n    int
		want []int
	}{
		{1, []int{0}},
		{3, []int{0, 1, 2}},
		{100, nil}, // every step
		{250, nil}, // every 3rd: 0, 3, …, 249
		{1000, nil},
	} {
		got := GIFSteps(c.n)
		if c.want != nil && !slices.Equal(got, c.want) {
			t.Errorf("GIFSteps(%d) = %v, want %v", c.n, got, c.want)
		}
		if len(got) > MaxGIFFrames+1 || got[0] != 0 || got[len(got)-1] != c.n-1 || !slices.IsSorted(got) {
			t.Errorf("GIFSteps(%d) = %v: want at most %d+1 ascending steps from 0 to %d", c.n, got, MaxGIFFrames, c.n-1)
		}
		if c.n <= MaxGIFFrames && len(got) != c.n {
			t.Errorf("GIFSteps(%d) keeps %d steps, want all", c.n, len(got))
		}
	}
	if got := GIFSteps(250); len(got) != 84 || got[1] != 3 || got[83] != 249 {
		t.Errorf("GIFSteps(250) = %v", got)
	}
}

func TestGIFErrors(t *testing.T) {
	ok := Frame{Sample: tensor.New(1, 3, 2, 2), PredOriginal: tensor.New(1, 3, 2, 2)}
	nan := Frame{Sample: tensor.New(1, 3, 2, 2), PredOriginal: tensor.New(1, 3, 2, 2)}
	nan.PredOriginal.Data[5] = float32(math.NaN())
	for _, c := range []struct {
		frames []Frame
		scale  int
		want   string
	}{
		{nil, 1, "a GIF of no frames"},
		{[]Frame{ok}, 0, "GIF scale 0"},
		{[]Frame{{Sample: tensor.New(3, 2, 2), PredOriginal: tensor.New(3, 2, 2)}}, 1, "want [B,C,H,W]"},
		{[]Frame{ok, {Sample: tensor.New(2, 3, 2, 2), PredOriginal: tensor.New(2, 3, 2, 2)}}, 1, "GIF frame 1 has shapes"},
		{[]Frame{ok, nan}, 1, "GIF frame 1: x̂₀: pipeline: image 0 has NaN"},
	} {
		if _, err := GIF(c.frames, c.scale); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("got %v, want an error containing %q", err, c.want)
		}
	}
}

// nearest.index is color.Palette.Index on opaque colours: every colour of a
// coarse grid against palettes with repeated entries (ties go to the first)
// and against one of 256 random colours.
func TestNearestIsPaletteIndex(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	random := make(color.Palette, 256)
	for i := range random {
		random[i] = color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 0xff}
	}
	pals := []color.Palette{
		random,
		{color.RGBA{10, 10, 10, 0xff}, color.RGBA{30, 30, 30, 0xff}, color.RGBA{10, 10, 10, 0xff}, color.RGBA{20, 20, 20, 0xff}},
		{color.RGBA{0, 0, 0, 0xff}, color.RGBA{255, 255, 255, 0xff}},
	}
	for k, pal := range pals {
		n := nearestOf(pal)
		for r := 0; r < 256; r += 5 {
			for g := 0; g < 256; g += 7 {
				for b := 0; b < 256; b += 3 {
					c := color.RGBA{uint8(r), uint8(g), uint8(b), 0xff}
					if got, want := int(n.index(c)), pal.Index(c); got != want {
						t.Fatalf("palette %d, colour %v: index %d, color.Palette.Index %d", k, c, got, want)
					}
				}
			}
		}
	}
}

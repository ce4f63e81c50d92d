package quality

import (
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"
)

// TestMMD2ByHand checks the unbiased estimate on sets small enough to work
// out on paper, k(a, b) = (aᵀb/d + 1)³.
func TestMMD2ByHand(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y [][]float64
		want float64
	}{
		// XX: k(0,1) = 1, twice over 2·1 pairs: 1. YY: k(1,2) = 27: 27.
		// XY: k(0,1)+k(0,2)+k(1,1)+k(1,2) = 1+1+8+27 = 37: 2·37/4 = 18.5.
		{"shifted 1-D", [][]float64{{0}, {1}}, [][]float64{{1}, {2}}, 1 + 27 - 18.5},
		// The same set twice: 1 + 1 − 2·(1+1+1+8)/4 = −3.5 (unbiased, so it can go below 0).
		{"same 1-D", [][]float64{{0}, {1}}, [][]float64{{0}, {1}}, -3.5},
		// d = 2. XX: (0/2+1)³ = 1. YY: 1. XY: 1.5³ + 1 + 1.5³ + 1 = 8.75: 2·8.75/4.
		{"2-D", [][]float64{{1, 0}, {0, 1}}, [][]float64{{1, 1}, {0, 0}}, 1 + 1 - 4.375},
		// Three against two, d = 1. XX: k(0,1)=1, k(0,2)=1, k(1,2)=27: 2·29/6. YY: k(3,3)=1000: 2·1000/2.
		// XY: (1+1) + (64+64) + (343+343) = 816: 2·816/6.
		{"3 vs 2", [][]float64{{0}, {1}, {2}}, [][]float64{{3}, {3}}, 58.0/6 + 1000 - 1632.0/6},
	} {
		got, err := MMD2(c.x, c.y)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if math.Abs(got-c.want) > 1e-12*math.Max(1, math.Abs(c.want)) {
			t.Errorf("%s: MMD2 = %v, want %v", c.name, got, c.want)
		}
	}
}

func TestMMD2Errors(t *testing.T) {
	for _, c := range []struct {
		name string
		x, y [][]float64
	}{
		{"one vector", [][]float64{{0}}, [][]float64{{1}, {2}}},
		{"lengths differ", [][]float64{{0}, {1, 2}}, [][]float64{{1}, {2}}},
		{"empty vectors", [][]float64{{}, {}}, [][]float64{{}, {}}},
	} {
		if _, err := MMD2(c.x, c.y); err == nil {
			t.Errorf("%s: no error", c.name)
		}
	}
}

// TestCoverageByHand: data 0, 1, 2, 3, 10 on a line.
func TestCoverageByHand(t *testing.T) {
	data := [][]float64{{0}, {1}, {2}, {3}, {10}}
	for _, c := range []struct {
		name    string
		samples [][]float64
		k       int
		want    float64
	}{
		// k = 1: radii 1, 1, 1, 1, 7; nearest sample 0.5, 0.5, 1.5, 2.5, 9.5: 0 and 1 covered.
		{"one sample, k=1", [][]float64{{0.5}}, 1, 2.0 / 5},
		// k = 2: radii 2, 1, 1, 2, 8: still 0 and 1.
		{"one sample, k=2", [][]float64{{0.5}}, 2, 2.0 / 5},
		// 9 is within 7 of 10; 2.6 is within 1 of 2 and 3.
		{"three samples, k=1", [][]float64{{0.5}, {9}, {2.6}}, 1, 1},
		{"far away", [][]float64{{100}, {-50}}, 1, 0},
		// A radius is inclusive: 1 is exactly 1 from 0 and 2, whose radius is 1.
		{"on the radius", [][]float64{{1}}, 1, 3.0 / 5},
	} {
		got, err := Coverage(data, c.samples, c.k)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != c.want {
			t.Errorf("%s: coverage = %v, want %v", c.name, got, c.want)
		}
	}
	if _, err := Coverage(data, data, 5); err == nil {
		t.Error("k = 5 with 5 data vectors: no error")
	}
}

// thumbs draws n feature vectors like flat-coloured thumbnails: a random
// colour per vector, each cell that colour plus noise, clamped to [0, 1],
// with shift added to the red channel before the clamp.
func thumbs(rng *rand.Rand, n int, shift float64) [][]float64 {
	const d = 3 * ThumbSide * ThumbSide
	out := make([][]float64, n)
	for i := range out {
		base := [3]float64{rng.Float64(), rng.Float64(), rng.Float64()}
		base[0] += shift
		v := make([]float64, d)
		for j := range v {
			v[j] = min(max(base[j%3]+0.05*rng.NormFloat64(), 0), 1)
		}
		out[i] = v
	}
	return out
}

// TestCompareKnownCases runs Compare where the answer is known: samples
// from the data's distribution, a shifted distribution, and one image
// repeated (a collapsed model).
func TestCompareKnownCases(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := thumbs(rng, 300, 0)
	same := thumbs(rng, 300, 0)
	shifted := thumbs(rng, 300, 0.3)
	collapsed := make([][]float64, 300)
	for i := range collapsed {
		collapsed[i] = same[0]
	}
	var o Options
	t.Run("same distribution", func(t *testing.T) {
		r := mustCompare(t, data, same, o)
		if math.Abs(r.KID.Mean) > r.KID.SD {
			t.Errorf("KID %v: want 0 within one sd", r.KID)
		}
		if r.Coverage.Mean < 0.9 {
			t.Errorf("coverage %v: want about 1 − e⁻⁵ ≈ 0.99", r.Coverage)
		}
		if r.Subsets != 100 || r.Size != 150 {
			t.Errorf("defaults: %d subsets of %d, want 100 of 150", r.Subsets, r.Size)
		}
	})
	t.Run("shifted", func(t *testing.T) {
		r := mustCompare(t, data, shifted, o)
		if r.KID.Mean < 5*r.KID.SD {
			t.Errorf("KID %v: want clearly above 0", r.KID)
		}
		if same := mustCompare(t, data, same, o); r.Coverage.Mean > same.Coverage.Mean-0.1 {
			t.Errorf("coverage %v: want well below the same distribution's %v", r.Coverage, same.Coverage)
		}
	})
	t.Run("collapsed", func(t *testing.T) {
		r := mustCompare(t, data, collapsed, o)
		if r.Coverage.Mean > 0.1 {
			t.Errorf("coverage %v: one repeated image should cover about k/m of the data", r.Coverage)
		}
		if r.KID.Mean < 5*r.KID.SD {
			t.Errorf("KID %v: want clearly above 0", r.KID)
		}
	})
}

// PairedKID orders a shifted set after one from the data's distribution
// with an interval that excludes 0, gives exactly 0 for a set against
// itself, and agrees with the two unpaired means.
func TestPairedKID(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data, same, shifted := thumbs(rng, 300, 0), thumbs(rng, 300, 0), thumbs(rng, 300, 0.2)
	d, err := PairedKID(data, shifted, same, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !(d.Lo > 0 && d.Lo <= d.Mean && d.Mean <= d.Hi) {
		t.Errorf("shifted − same: %+v, want an interval above 0 around the mean", d)
	}
	if want := mustCompare(t, data, shifted, Options{}).KID.Mean - mustCompare(t, data, same, Options{}).KID.Mean; math.Abs(d.Mean-want) > 1e-9 {
		t.Errorf("mean difference %v, want the difference of Compare's means %v", d.Mean, want)
	}
	if z, _ := PairedKID(data, same, same, Options{}); z.Mean != 0 || z.Lo != 0 || z.Hi != 0 {
		t.Errorf("a set against itself: %+v, want 0", z)
	}
	if _, err := PairedKID(data, same, same[:200], Options{}); err == nil {
		t.Error("sets of 300 and 200 samples were paired")
	}
}

// TestCompareOneFullSubset: one subset holding every vector is MMD2 and
// Coverage of the whole sets.
func TestCompareOneFullSubset(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	x, y := thumbs(rng, 40, 0), thumbs(rng, 40, 0.1)
	r := mustCompare(t, x, y, Options{Subsets: 1, Size: 40})
	kid, _ := MMD2(x, y)
	cov, _ := Coverage(x, y, CoverageK)
	if math.Abs(r.KID.Mean-kid) > 1e-9*math.Abs(kid) || r.KID.SD != 0 {
		t.Errorf("KID %v, want %v ± 0", r.KID, kid)
	}
	if r.Coverage.Mean != cov || r.Coverage.SD != 0 {
		t.Errorf("coverage %v, want %v ± 0", r.Coverage, cov)
	}
}

func TestCompareSeed(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x, y := thumbs(rng, 60, 0), thumbs(rng, 60, 0.1)
	a := mustCompare(t, x, y, Options{Subsets: 10, Seed: 7})
	b := mustCompare(t, x, y, Options{Subsets: 10, Seed: 7})
	c := mustCompare(t, x, y, Options{Subsets: 10, Seed: 8})
	if a != b {
		t.Errorf("the same seed gave %+v and %+v", a, b)
	}
	if a == c {
		t.Errorf("seeds 7 and 8 gave the same %+v", a)
	}
}

func TestCompareErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	x := thumbs(rng, 20, 0)
	for _, o := range []Options{{Size: 5}, {Size: 21}, {Subsets: -1}} {
		if _, err := Compare(x, x, o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}

func mustCompare(t *testing.T, x, y [][]float64, o Options) Result {
	t.Helper()
	r, err := Compare(x, y, o)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestThumbnail(t *testing.T) {
	// 16×16: left half red, right half blue; 2×2 cells of 8×8 pixels.
	img := image.NewNRGBA(image.Rect(0, 0, 16, 16))
	for y := range 16 {
		for x := range 16 {
			c := color.NRGBA{255, 0, 0, 255}
			if x >= 8 {
				c = color.NRGBA{0, 0, 255, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	want := []float64{1, 0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 1}
	checkFloats(t, "16×16 to 2×2", Thumbnail(img, 2), want)

	// 3×1 to 2×2 (not a multiple): row y = 0 falls into cell row ⌊1·2/2⌋ = 1;
	// pixel 0 alone in cell 0, pixels 1 and 2 in cell 1. Row 0 has no pixels: 0.
	img = image.NewNRGBA(image.Rect(0, 0, 3, 1))
	img.SetNRGBA(0, 0, color.NRGBA{51, 0, 0, 255})
	img.SetNRGBA(1, 0, color.NRGBA{0, 255, 0, 255})
	img.SetNRGBA(2, 0, color.NRGBA{0, 0, 255, 255})
	got := Thumbnail(img, 2)
	checkFloats(t, "3×1 to 2×2", got, []float64{0, 0, 0, 0, 0, 0, 0.2, 0, 0, 0, 0.5, 0.5})

	// A sub-image starts at its own Min.
	big := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	big.SetNRGBA(2, 2, color.NRGBA{255, 255, 255, 255})
	checkFloats(t, "sub-image", Thumbnail(big.SubImage(image.Rect(2, 2, 3, 3)), 1), []float64{1, 1, 1})
}

func checkFloats(t *testing.T, name string, got, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", name, len(got), len(want))
	}
	for i := range got {
		if math.Abs(got[i]-want[i]) > 1e-12 {
			t.Errorf("%s: %v, want %v", name, got, want)
			return
		}
	}
}

// solidImage is a 4×4 image of one colour (image.Uniform has no bounds).
func solidImage(c color.NRGBA) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, 4, 4))
	for i := 0; i < len(img.Pix); i += 4 {
		img.Pix[i], img.Pix[i+1], img.Pix[i+2], img.Pix[i+3] = c.R, c.G, c.B, c.A
	}
	return img
}

func TestHueHistogramSolidColours(t *testing.T) {
	for _, c := range []struct {
		name string
		c    color.NRGBA
		bin  int // -1: not chromatic
	}{
		{"red", color.NRGBA{255, 0, 0, 255}, 0},
		{"orange", color.NRGBA{255, 128, 0, 255}, 1},
		{"brown", color.NRGBA{128, 64, 0, 255}, 1},
		{"yellow", color.NRGBA{255, 255, 0, 255}, 2},
		{"green", color.NRGBA{0, 255, 0, 255}, 4},
		{"cyan", color.NRGBA{0, 255, 255, 255}, 6},
		{"blue", color.NRGBA{0, 0, 255, 255}, 8},
		{"magenta", color.NRGBA{255, 0, 255, 255}, 10},
		{"crimson, just below 360°", color.NRGBA{255, 0, 20, 255}, 0},
		{"rose, 330°", color.NRGBA{255, 0, 128, 255}, 11},
		{"white", color.NRGBA{255, 255, 255, 255}, -1},
		{"grey", color.NRGBA{128, 128, 128, 255}, -1},
		{"black", color.NRGBA{0, 0, 0, 255}, -1},
		{"pale pink, chroma 0.14", color.NRGBA{255, 220, 220, 255}, -1},
	} {
		h := HueHistogram([]image.Image{solidImage(c.c)})
		var want Hues
		if c.bin >= 0 {
			want.Share[c.bin], want.Chromatic = 1, 1
		}
		if h != want {
			t.Errorf("%s %v: %+v, want %+v", c.name, c.c, h, want)
		}
	}
}

func TestHueHistogramMixed(t *testing.T) {
	red, blue, white := color.NRGBA{255, 0, 0, 255}, color.NRGBA{0, 0, 255, 255}, color.NRGBA{255, 255, 255, 255}
	// One image half red, half white, and one all blue: 16 red, 16 blue, 16 white pixels... of 32 + 16.
	img := image.NewNRGBA(image.Rect(0, 0, 4, 8))
	for y := range 8 {
		for x := range 4 {
			c := red
			if y >= 4 {
				c = white
			}
			img.SetNRGBA(x, y, c)
		}
	}
	h := HueHistogram([]image.Image{img, solidImage(blue)})
	var want Hues
	want.Share[0], want.Share[8], want.Chromatic = 0.5, 0.5, 32.0/48
	if h != want {
		t.Errorf("%+v, want %+v", h, want)
	}

	r := HueHistogram([]image.Image{solidImage(red)})
	b := HueHistogram([]image.Image{solidImage(blue)})
	g := HueHistogram([]image.Image{solidImage(white)})
	for _, c := range []struct {
		name string
		p, q Hues
		want float64
	}{
		{"red, red", r, r, 0},
		{"red, blue", r, b, 1},
		{"red, half red half blue", r, h, 0.5},
	} {
		if got := TotalVariation(c.p, c.q); got != c.want {
			t.Errorf("TotalVariation(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	if got := TotalVariation(r, g); !math.IsNaN(got) {
		t.Errorf("TotalVariation(red, white) = %v, want NaN", got)
	}
}

// Roughness by hand: a flat image is 0, a checkerboard of 0 and 1 gives
// |4·1 − 0| = |4·0 − 4| = 4 at every interior pixel, and one bright pixel in
// a flat 3×3 image gives its own |4·1| = 4.
func TestRoughness(t *testing.T) {
	flat := image.NewNRGBA(image.Rect(0, 0, 5, 4))
	checker := image.NewNRGBA(image.Rect(0, 0, 5, 4))
	for y := range 4 {
		for x := range 5 {
			flat.SetNRGBA(x, y, color.NRGBA{80, 80, 80, 255})
			if (x+y)%2 == 0 {
				checker.SetNRGBA(x, y, color.NRGBA{255, 255, 255, 255})
			} else {
				checker.SetNRGBA(x, y, color.NRGBA{0, 0, 0, 255})
			}
		}
	}
	dot := image.NewNRGBA(image.Rect(0, 0, 3, 3))
	dot.SetNRGBA(1, 1, color.NRGBA{255, 255, 255, 255})
	for _, c := range []struct {
		name string
		img  image.Image
		want float64
	}{{"flat", flat, 0}, {"checkerboard", checker, 4}, {"dot", dot, 4}, {"2×2", image.NewNRGBA(image.Rect(0, 0, 2, 2)), 0}} {
		if got := Roughness(c.img); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("%s: roughness %v, want %v", c.name, got, c.want)
		}
	}
	if e := MeanRoughness([]image.Image{flat, checker}); e.Mean != 2 {
		t.Errorf("mean roughness of flat and checkerboard %v, want 2", e)
	}
}

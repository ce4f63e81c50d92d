package pipeline

import (
	"image"
	"math"
	"testing"

	"chrysalis/core/golden"
	"chrysalis/core/tensor"
)

// TestImagesGolden converts diffusers' final samples and compares with the
// pipeline's own conversion: image_float_hwc exactly (float32 (x/2+0.5)
// clamped), image_uint8_hwc exactly (numpy round half to even).
func TestImagesGolden(t *testing.T) {
	f := golden.Open(t, "pipeline/trace.safetensors")
	for _, name := range []string{"ddim10_eta0", "ddpm10"} {
		samples := golden.Tensor(t, f, name+"/samples")
		final := tensor.From(samples.Data[10*2*3*32*32:], 2, 3, 32, 32)
		wantF := golden.Tensor(t, f, name+"/image_float_hwc")
		wantU, _, err := f.Uint8s(name + "/image_uint8_hwc")
		if err != nil {
			t.Fatal(err)
		}
		floatHWC := make([]float32, len(final.Data))
		for n := 0; n < 2; n++ {
			for c := 0; c < 3; c++ {
				for p := 0; p < 32*32; p++ {
					floatHWC[(n*32*32+p)*3+c] = toUnit(final.Data[(n*3+c)*32*32+p])
				}
			}
		}
		if d := golden.MaxAbsDiff(floatHWC, wantF.Data); d != 0 {
			t.Errorf("%s: image_float_hwc max abs diff %g, want 0", name, d)
		}
		imgs, err := Images(final)
		if err != nil {
			t.Fatal(err)
		}
		if diff := countByteDiffs(t, imgs, wantU, 0); diff != 0 {
			t.Errorf("%s: %d uint8 values differ from image_uint8_hwc, want 0", name, diff)
		}
	}
}

// countByteDiffs compares images with HWC bytes; a difference larger than
// tol fails the test, and the number of differing values is returned.
func countByteDiffs(t *testing.T, imgs []*image.NRGBA, hwc []uint8, tol int) int {
	t.Helper()
	diffs := 0
	k := 0
	for n, img := range imgs {
		for p := 0; p < len(img.Pix)/4; p++ {
			for c := 0; c < 3; c++ {
				got, want := int(img.Pix[4*p+c]), int(hwc[k])
				k++
				if got == want {
					continue
				}
				diffs++
				if got-want > tol || want-got > tol {
					t.Errorf("image %d pixel %d channel %d: %d, want %d", n, p, c, got, want)
				}
			}
			if img.Pix[4*p+3] != 255 {
				t.Fatalf("image %d pixel %d: alpha %d, want 255", n, p, img.Pix[4*p+3])
			}
		}
	}
	if k != len(hwc) {
		t.Fatalf("images hold %d values, the reference %d", k, len(hwc))
	}
	return diffs
}

func TestToByte(t *testing.T) {
	for _, c := range []struct {
		x    float32
		want uint8
	}{
		{-1, 0}, {-7, 0}, {1, 255}, {3, 255},
		{0, 128}, // u·255 = 127.5 rounds to even
		{float32(math.Inf(1)), 255}, {float32(math.Inf(-1)), 0},
		{-0.5, 64}, // u·255 = 63.75
	} {
		if got := toByte(toUnit(c.x)); got != c.want {
			t.Errorf("toByte(toUnit(%v)) = %d, want %d", c.x, got, c.want)
		}
	}
	// Halves round to even: find u with float32(u·255) exactly k + 0.5.
	for _, c := range []struct {
		half float32
		want uint8
	}{{2.5, 2}, {3.5, 4}, {200.5, 200}, {201.5, 202}} {
		u := c.half / 255
		for i := 0; float32(u*255) != c.half && i < 8; i++ {
			if float32(u*255) < c.half {
				u = math.Nextafter32(u, 1)
			} else {
				u = math.Nextafter32(u, 0)
			}
		}
		if float32(u*255) != c.half {
			t.Fatalf("no float32 u with u·255 = %v", c.half)
		}
		if got := toByte(u); got != c.want {
			t.Errorf("toByte(u) with u·255 = %v: %d, want %d", c.half, got, c.want)
		}
	}
}

func TestImagesErrors(t *testing.T) {
	nan := tensor.New(1, 3, 2, 2)
	nan.Data[5] = float32(math.NaN())
	for _, c := range []struct {
		x    *tensor.Tensor
		want string
	}{
		{tensor.New(1, 2, 4, 4), "cannot make images of shape [1 2 4 4]"},
		{tensor.New(3, 4, 4), "cannot make images of shape [3 4 4]"},
		{nan, "image 0 has NaN at channel 1, pixel (1, 0)"},
	} {
		_, err := Images(c.x)
		if err == nil || !contains(err.Error(), c.want) {
			t.Errorf("Images(shape %v) error %v, want it to contain %q", c.x.Shape, err, c.want)
		}
	}
}

func TestImagesGrey(t *testing.T) {
	x := tensor.From([]float32{-1, 0, 1, 0.5}, 1, 1, 2, 2)
	imgs, err := Images(x)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint8{0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255, 191, 191, 191, 255}
	if got := imgs[0].Pix; string(got) != string(want) {
		t.Errorf("grey pixels %v, want %v", got, want)
	}
}

func TestGrid(t *testing.T) {
	for _, c := range []struct {
		n, cols, rows int
	}{{1, 1, 1}, {2, 2, 1}, {3, 2, 2}, {4, 2, 2}, {5, 3, 2}, {6, 3, 2}, {7, 3, 3}, {16, 4, 4}, {17, 5, 4}} {
		imgs := make([]*image.NRGBA, c.n)
		for k := range imgs {
			imgs[k] = image.NewNRGBA(image.Rect(0, 0, 3, 2))
			for p := range imgs[k].Pix {
				imgs[k].Pix[p] = uint8(k)
			}
		}
		g, err := Grid(imgs)
		if err != nil {
			t.Fatal(err)
		}
		if g.Rect.Dx() != 3*c.cols || g.Rect.Dy() != 2*c.rows {
			t.Errorf("grid of %d: %dx%d, want %dx%d", c.n, g.Rect.Dx(), g.Rect.Dy(), 3*c.cols, 2*c.rows)
			continue
		}
		for cell := 0; cell < c.cols*c.rows; cell++ {
			x, y := (cell%c.cols)*3+2, (cell/c.cols)*2+1 // the cell's last pixel
			got := g.NRGBAAt(x, y)
			want := uint8(cell)
			if cell >= c.n {
				want = 255 // an empty cell is white
			}
			if got.R != want || (cell >= c.n && got.A != 255) {
				t.Errorf("grid of %d: cell %d pixel %v, want %d", c.n, cell, got, want)
			}
		}
	}
	if _, err := Grid(nil); err == nil {
		t.Error("Grid(nil) gave no error")
	}
	mixed := []*image.NRGBA{image.NewNRGBA(image.Rect(0, 0, 2, 2)), image.NewNRGBA(image.Rect(0, 0, 3, 2))}
	if _, err := Grid(mixed); err == nil || !contains(err.Error(), "grid image 1 is (3,2), image 0 is (2,2)") {
		t.Errorf("Grid of mixed sizes: error %v", err)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

package sampleview

import (
	"bytes"
	"fmt"
	"testing"
	"unicode/utf8"
)

// Every text the viewer draws must have its glyphs in Go Regular.
func TestFontGlyphs(t *testing.T) {
	f, line, err := UIFont(1)
	if err != nil {
		t.Fatal(err)
	}
	if h := f.LineHeight(); h < 13 || h > 16 || line != 16 {
		t.Errorf("text height %d on lines of %d at 13 px, want 13 to 16 on 16", h, line)
	}
	if _, line2, err := UIFont(2); err != nil || line2 != 32 {
		t.Errorf("pixel ratio 2: line %d, %v; want 32", line2, err)
	}
	v := View{Status: Running, Step: 6, T: 287.5, Run: Run{Steps: 10}}
	p := View{Status: Preview, Seed: 42}
	texts := []string{LabelXT, LabelXTNoise, LabelXTNoiseShort, LabelX0, LabelX0Short, LegendSignal, LegendNoise,
		fmt.Sprintf(AxisTitle, 25), AxisTitleShort, v.Caption(), p.Caption(), p.Badge(),
		"press Run to sample", "sampling", "done", "stopped", "t = 0123456789", "0.5"}
	for _, s := range texts {
		for _, r := range s {
			if _, ok := f.face.GlyphAdvance(r); !ok && r != Hat {
				t.Errorf("%q: Go Regular has no glyph for %q", s, r)
			}
		}
		img := f.Render(s)
		if img.Bounds().Dx() != f.Width(s) || img.Bounds().Dy() != f.LineHeight() {
			t.Errorf("%q: rendered %v, want %dx%d", s, img.Bounds(), f.Width(s), f.LineHeight())
		}
		ink := 0
		for _, a := range img.Pix {
			if a > 128 {
				ink++
			}
		}
		// At least a few strongly covered pixels per visible character.
		if n := utf8.RuneCountInString(s); ink < 3*n/2 {
			t.Errorf("%q: %d inked pixels for %d characters", s, ink, n)
		}
	}
}

// x̂₀ is x₀ with a circumflex over the x: as wide, the same below the hat,
// more ink above the x.
func TestFontHat(t *testing.T) {
	f, _, err := UIFont(2)
	if err != nil {
		t.Fatal(err)
	}
	plain, hat := f.Render("x₀"), f.Render("x̂₀")
	if plain.Bounds() != hat.Bounds() || f.Width("x̂₀") != f.Width("x₀") {
		t.Fatalf("x̂₀ is %v, x₀ %v", hat.Bounds(), plain.Bounds())
	}
	if bytes.Equal(plain.Pix, hat.Pix) {
		t.Fatal("x̂₀ renders as x₀")
	}
	// Rows below the top of the x (about the x-height under the ascent) are equal.
	xTop := f.ascent - int(float64(f.LineHeight())*0.4)
	for y := xTop; y < plain.Bounds().Dy(); y++ {
		if !bytes.Equal(plain.Pix[y*plain.Stride:(y+1)*plain.Stride], hat.Pix[y*hat.Stride:(y+1)*hat.Stride]) {
			t.Errorf("row %d (below the hat) differs", y)
			break
		}
	}
}

package sampleview

import (
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
	texts := []string{LabelXT, LabelX0, LabelX0Short, LegendSignal, LegendNoise,
		v.Caption(), "press Run to sample", "sampling", "done", "stopped", "t = 0123456789"}
	for _, s := range texts {
		for _, r := range s {
			if _, ok := f.face.GlyphAdvance(r); !ok {
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

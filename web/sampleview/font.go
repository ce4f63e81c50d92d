package sampleview

import (
	"fmt"
	"image"
	"math"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// Font renders text labels in Go Regular.
type Font struct {
	face          font.Face
	ascent, lineH int
}

// UIFont is the viewer's text at a device pixel ratio: Go Regular at 13 CSS
// px, on lines of at least 16 CSS px; line is in device pixels.
func UIFont(scale float64) (f *Font, line int, err error) {
	f, err = NewFont(13 * scale)
	if err != nil {
		return nil, 0, err
	}
	return f, max(f.LineHeight(), int(math.Round(16*scale))), nil
}

// NewFont returns Go Regular at px pixels per em.
func NewFont(px float64) (*Font, error) {
	ttf, err := opentype.Parse(goregular.TTF)
	if err != nil {
		return nil, fmt.Errorf("sampleview: parsing Go Regular: %w", err)
	}
	face, err := opentype.NewFace(ttf, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingFull})
	if err != nil {
		return nil, fmt.Errorf("sampleview: Go Regular at %v px: %w", px, err)
	}
	m := face.Metrics()
	return &Font{face: face, ascent: m.Ascent.Ceil(), lineH: (m.Ascent + m.Descent).Ceil()}, nil
}

// LineHeight is the height of a rendered line, in pixels.
func (f *Font) LineHeight() int { return f.lineH }

// Hat is U+0302, the combining circumflex of x̂₀, which Go Regular lacks:
// Width gives it no advance and Render draws the modifier letter ˆ (U+02C6)
// centred over the character before it.
const Hat = '\u0302'

// Width is the advance of s, in pixels.
func (f *Font) Width(s string) int {
	return font.MeasureString(f.face, strings.ReplaceAll(s, string(Hat), "")).Ceil()
}

// Render draws s as coverage, (LineHeight, Width(s)), for the drawer to tint.
func (f *Font) Render(s string) *image.Alpha {
	dst := image.NewAlpha(image.Rect(0, 0, max(f.Width(s), 1), f.lineH))
	d := font.Drawer{Dst: dst, Src: image.Opaque, Face: f.face, Dot: fixed.P(0, f.ascent)}
	var prev rune
	var prevX fixed.Int26_6
	for _, r := range s {
		if r == Hat {
			if adv, ok := f.face.GlyphAdvance(prev); ok {
				hat, _ := f.face.GlyphAdvance('ˆ')
				end := d.Dot
				d.Dot.X = prevX + (adv-hat)/2
				d.DrawString("ˆ")
				d.Dot = end
			}
			continue
		}
		if prev != 0 {
			d.Dot.X += f.face.Kern(prev, r)
		}
		prev, prevX = r, d.Dot.X
		d.DrawString(string(r))
	}
	return dst
}

package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/gif"
	"slices"
)

// GIF timing, in hundredths of a second: each step, and the final frame.
const (
	gifStepDelay = 8
	gifLastDelay = 200
)

// MaxGIFFrames bounds a GIF's frames: a longer run (DDPM's 1000 steps)
// keeps every k-th step, see GIFSteps.
const MaxGIFFrames = 100

// GIFSteps lists the steps (0-based) of an n-step run that its GIF shows:
// every one when n ≤ MaxGIFFrames, else every ⌈n/MaxGIFFrames⌉-th, from the
// first, and the last step always. The page and `chrysalis sample -gif`
// keep the same frames.
func GIFSteps(n int) []int {
	stride := (n + MaxGIFFrames - 1) / MaxGIFFrames
	var out []int
	for s := 0; s < n; s += max(stride, 1) {
		out = append(out, s)
	}
	if len(out) > 0 && out[len(out)-1] != n-1 {
		out = append(out, n-1)
	}
	return out
}

// GIF draws a run as an animated GIF for course notes, one frame per given
// step (frames as OnStep gives them, in order; GIFSteps says which of a
// run's steps to keep): every image's sample x_t beside
// its predicted x̂₀, the pairs in Grid's near-square layout, each pixel a
// scale×scale block, under a bar that fills as the steps pass. The images
// are converted as Images converts them, and the 256 colours are chosen
// from what the frames show (paletteOf), without dithering, so the file
// follows from the frames alone: the page and `chrysalis sample -gif` write
// the same bytes. It loops, and holds the last frame for 2 s.
func GIF(frames []Frame, scale int) (*gif.GIF, error) {
	if len(frames) == 0 {
		return nil, fmt.Errorf("pipeline: a GIF of no frames")
	}
	if scale < 1 {
		return nil, fmt.Errorf("pipeline: GIF scale %d: want at least 1", scale)
	}
	shape := frames[0].Sample.Shape
	if len(shape) != 4 {
		return nil, fmt.Errorf("pipeline: GIF of samples shaped %v: want [B,C,H,W]", shape)
	}
	n, h, w := shape[0], shape[2]*scale, shape[3]*scale
	gap, bar := scale, 2*scale // between the two images of a pair; the progress bar's height
	cols, rows := GridSize(n)
	pairW := 2*w + gap
	width := cols*pairW + (cols+1)*2*gap
	height := bar + 2*gap + rows*(h+2*gap)
	track, fill := color.RGBA{0xdd, 0xdd, 0xdd, 0xff}, color.RGBA{0x33, 0x33, 0x33, 0xff}
	canvases := make([]*image.RGBA, len(frames))
	for s, f := range frames {
		if !slices.Equal(f.Sample.Shape, shape) || !slices.Equal(f.PredOriginal.Shape, shape) {
			return nil, fmt.Errorf("pipeline: GIF frame %d has shapes %v and %v, frame 0 %v", s, f.Sample.Shape, f.PredOriginal.Shape, shape)
		}
		canvas := image.NewRGBA(image.Rect(0, 0, width, height))
		draw.Draw(canvas, canvas.Rect, image.White, image.Point{}, draw.Src)
		draw.Draw(canvas, image.Rect(0, 0, width, bar), image.NewUniform(track), image.Point{}, draw.Src)
		draw.Draw(canvas, image.Rect(0, 0, width*(s+1)/len(frames), bar), image.NewUniform(fill), image.Point{}, draw.Src)
		xt, err := Images(f.Sample)
		if err != nil {
			return nil, fmt.Errorf("pipeline: GIF frame %d: x_t: %w", s, err)
		}
		x0, err := Images(f.PredOriginal)
		if err != nil {
			return nil, fmt.Errorf("pipeline: GIF frame %d: x̂₀: %w", s, err)
		}
		for i := range n {
			x := 2*gap + (i%cols)*(pairW+2*gap)
			y := bar + 2*gap + (i/cols)*(h+2*gap)
			enlarge(canvas, xt[i], x, y, scale)
			enlarge(canvas, x0[i], x+w+gap, y, scale)
		}
		canvases[s] = canvas
	}
	pal := paletteOf(canvases)
	out := &gif.GIF{Config: image.Config{ColorModel: pal, Width: width, Height: height}}
	index := map[color.RGBA]uint8{}
	near := nearestOf(pal)
	for _, canvas := range canvases {
		img := image.NewPaletted(canvas.Rect, pal)
		for i := 0; i < len(canvas.Pix); i += 4 {
			c := color.RGBA{canvas.Pix[i], canvas.Pix[i+1], canvas.Pix[i+2], 0xff}
			k, ok := index[c]
			if !ok {
				k = near.index(c)
				index[c] = k
			}
			img.Pix[i/4] = k
		}
		out.Image = append(out.Image, img)
		out.Delay = append(out.Delay, gifStepDelay)
	}
	out.Delay[len(out.Delay)-1] = gifLastDelay
	return out, nil
}

// paletteOf picks at most 256 colours for the canvases: every pixel is
// counted in a bin of 4 bits per channel; the most frequent bins win (ties
// to the lower bin number), each standing for the mean colour of its
// pixels. The butterflies' browns get their own entries, where a fixed
// palette would grey them.
func paletteOf(canvases []*image.RGBA) color.Palette {
	type bin struct{ n, r, g, b int }
	var bins [1 << 12]bin
	for _, c := range canvases {
		for i := 0; i < len(c.Pix); i += 4 {
			r, g, b := int(c.Pix[i]), int(c.Pix[i+1]), int(c.Pix[i+2])
			k := &bins[r>>4<<8|g>>4<<4|b>>4]
			k.n, k.r, k.g, k.b = k.n+1, k.r+r, k.g+g, k.b+b
		}
	}
	order := make([]int, 0, len(bins))
	for i, k := range bins {
		if k.n > 0 {
			order = append(order, i)
		}
	}
	slices.SortStableFunc(order, func(a, b int) int { return bins[b].n - bins[a].n })
	pal := make(color.Palette, 0, 256)
	for _, i := range order[:min(256, len(order))] {
		k := bins[i]
		pal = append(pal, color.RGBA{uint8((k.r + k.n/2) / k.n), uint8((k.g + k.n/2) / k.n), uint8((k.b + k.n/2) / k.n), 0xff})
	}
	return pal
}

// nearest is an opaque palette's colours as 16-bit channel values, for
// index.
type nearest [][3]uint32

func nearestOf(pal color.Palette) nearest {
	n := make(nearest, len(pal))
	for i, c := range pal {
		r, g, b, _ := c.RGBA()
		n[i] = [3]uint32{r, g, b}
	}
	return n
}

// index is color.Palette.Index of the opaque colour c without its interface
// calls, so the same answer: the first entry with the least
// Σ_channels ((c - p)²)>>2 over 16-bit values, the alpha terms being 0. It
// drew a 25-frame GIF of four noisy images in 163 ms, not 410, in wasm.
func (n nearest) index(c color.RGBA) uint8 {
	r, g, b := uint32(c.R)*0x101, uint32(c.G)*0x101, uint32(c.B)*0x101
	best, bestSum := 0, uint32(1<<32-1)
	for i, p := range n {
		dr, dg, db := r-p[0], g-p[1], b-p[2]
		sum := (dr*dr)>>2 + (dg*dg)>>2 + (db*db)>>2
		if sum < bestSum {
			if sum == 0 {
				return uint8(i)
			}
			best, bestSum = i, sum
		}
	}
	return uint8(best)
}

// enlarge draws src at (x, y) of dst, each pixel a scale×scale block.
func enlarge(dst *image.RGBA, src *image.NRGBA, x, y, scale int) {
	b := src.Rect
	for py := range b.Dy() * scale {
		for px := range b.Dx() * scale {
			c := src.NRGBAAt(b.Min.X+px/scale, b.Min.Y+py/scale)
			dst.SetRGBA(x+px, y+py, color.RGBA{c.R, c.G, c.B, 0xff})
		}
	}
}

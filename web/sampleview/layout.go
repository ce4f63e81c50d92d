package sampleview

import "math"

// Rect is a rectangle of canvas pixels, [X, X+W) x [Y, Y+H).
type Rect struct{ X, Y, W, H int }

// Pair is where one image of the batch goes: the current sample x_t on the
// left and the predicted x̂₀ on the right, each Scale times its size.
type Pair struct{ XT, X0 Rect }

// Layout places the viewer's parts on a canvas, top to bottom: the status
// line, the column labels, the grid of x_t | x0 pairs, and the noise-schedule
// plot band (legend line, curve area, axis line).
type Layout struct {
	Header     Rect   // step counter and run state
	LabelY     int    // top of the column labels, one line above the grid
	Scale      int    // integer nearest-neighbour upscale of every image, >= 1
	Cols, Rows int    // of the grid of pairs
	Pairs      []Pair // one per image of the batch, row by row
	Legend     Rect   // the plot's legend line
	YLabels    Rect   // left of the curve area: the labels of 0, 0.5 and 1
	Plot       Rect   // the curve area: t in [0, T-1] across, [0, 1] up
	Axis       Rect   // the line under the curve area: the t range and the axis title
}

// NewLayout lays out a batch of images of width x height pixels on a canvas
// of canvasW x canvasH pixels, where line is the height of a text line (all
// margins derive from it). It picks the grid (cols x rows) with the largest
// scale that fits (its floor is the integer Scale); ties go to fewer empty
// cells, then to fewer rows. When even scale 1 does not fit, Scale is 1 and
// the grid overflows the canvas, which clips it.
func NewLayout(canvasW, canvasH, line, batch, width, height int) Layout {
	pad := line / 2
	gapIn := max(1, line/8) // between x_t and x0 of a pair
	gapPair := line / 2     // between pairs
	var l Layout

	l.Header = Rect{pad, pad, canvasW - 2*pad, line}

	band := min(max(canvasH/4, 3*line), 8*line)
	bandY := canvasH - pad - band
	l.Legend = Rect{pad, bandY, canvasW - 2*pad, line}
	l.YLabels = Rect{pad, bandY + line, 2 * line, band - 2*line} // "1", "0.5", "0" beside the curve area
	l.Plot = Rect{pad + 2*line, bandY + line, canvasW - 2*pad - 2*line, band - 2*line}
	l.Axis = Rect{pad + 2*line, bandY + band - line, canvasW - 2*pad - 2*line, line}

	// The block between the header and the plot band holds the labels and the grid.
	top := l.Header.Y + l.Header.H + line/4
	blockH := bandY - pad - top
	gridW, gridH := canvasW-2*pad, blockH-line

	best, empty := math.Inf(-1), 0
	for cols := 1; cols <= batch; cols++ {
		rows := (batch + cols - 1) / cols
		sw := float64(gridW-(cols-1)*gapPair-cols*gapIn) / float64(cols*2*width)
		sh := float64(gridH-(rows-1)*gapPair) / float64(rows*height)
		s, e := min(sw, sh), cols*rows-batch
		if s > best || s == best && (e < empty || e == empty && rows < l.Rows) {
			best, l.Cols, l.Rows, empty = s, cols, rows, e
		}
	}
	l.Scale = max(int(math.Floor(best)), 1)

	w, h := width*l.Scale, height*l.Scale
	pairW := 2*w + gapIn
	usedW := l.Cols*pairW + (l.Cols-1)*gapPair
	usedH := line + l.Rows*h + (l.Rows-1)*gapPair
	x0 := pad + (gridW-usedW)/2
	l.LabelY = top + max(0, blockH-usedH)/2
	y0 := l.LabelY + line
	l.Pairs = make([]Pair, batch)
	for i := range l.Pairs {
		x := x0 + (i%l.Cols)*(pairW+gapPair)
		y := y0 + (i/l.Cols)*(h+gapPair)
		l.Pairs[i] = Pair{XT: Rect{x, y, w, h}, X0: Rect{x + w + gapIn, y, w, h}}
	}
	return l
}

// Grid is the smallest rectangle around every pair.
func (l Layout) Grid() Rect {
	if len(l.Pairs) == 0 {
		return Rect{}
	}
	x0, y0 := l.Pairs[0].XT.X, l.Pairs[0].XT.Y
	x1, y1 := x0, y0
	for _, p := range l.Pairs {
		x0, y0 = min(x0, p.XT.X), min(y0, p.XT.Y)
		x1, y1 = max(x1, p.X0.X+p.X0.W), max(y1, p.X0.Y+p.X0.H)
	}
	return Rect{x0, y0, x1 - x0, y1 - y0}
}

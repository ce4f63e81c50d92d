//go:build js && wasm

package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"

	"chrysalis/web/sampleview"
)

var (
	background = color.RGBA{0x16, 0x18, 0x1c, 0xff}
	textColor  = color.RGBA{0xe6, 0xe6, 0xe6, 0xff}
	muted      = color.RGBA{0x9a, 0xa0, 0xa6, 0xff}
	outline    = color.RGBA{0x2e, 0x33, 0x3a, 0xff}
	signal     = color.RGBA{0x5a, 0xa2, 0xf5, 0xff} // √ᾱ_t
	noise      = color.RGBA{0xf5, 0x9e, 0x4e, 0xff} // √(1−ᾱ_t)
	marker     = color.RGBA{0xff, 0xff, 0xff, 0xff}
	stopped    = color.RGBA{0xf5, 0xc0, 0x4e, 0xff}
	finished   = color.RGBA{0x6c, 0xc0, 0x70, 0xff}
	greyed     = color.RGBA{0x16, 0x18, 0x1c, 0xa0} // over the grid of a stopped run
)

// game draws a sampleview.View that the message goroutine updates under mu.
// Draw repaints only when the view, the canvas size or the pixel ratio
// changed, and for a step of the same run only the header, the images and
// the plot band; main asks Ebiten for a frame only when a message arrived.
type game struct {
	mu   *sync.Mutex
	view *sampleview.View

	// The drawer's copy of the view, taken under mu.
	version int
	status  sampleview.Status
	runID   string
	run     sampleview.Run
	step    int
	t       float64
	caption string
	badge   string
	xt, x0  []*ebiten.Image // nil entries until the image's first frame

	// Canvas state.
	scale   float64 // device pixels per CSS pixel
	w, h    int     // canvas in device pixels
	font    *sampleview.Font
	line    int
	labels  map[string]*ebiten.Image
	layout  sampleview.Layout
	plot    sampleview.Plot
	curves  [2][]ebiten.Vertex // signal, noise as stroke triangles
	indices [2][]uint16
	pixel   *ebiten.Image // one white pixel, the source of the stroke triangles

	// What stays still during a run, drawn once: the plot band (legend,
	// frame, ticks, curves, value scale and t axis) in plotLayer, a
	// canvas-sized image of which only the band is used, and the marker's two
	// dots. Anti-aliased drawing renders to a double-size offscreen image, and
	// in a software-GL browser redrawing the curves at every frame took CPU
	// from the sampling workers.
	plotLayer *ebiten.Image
	plotStale bool
	whole     bool             // the next Draw paints the whole canvas, not only what a step changes
	dots      [2]*ebiten.Image // signal, noise
	dotOffset float64          // from a dot image's corner to its centre
}

func newGame(mu *sync.Mutex, view *sampleview.View) *game {
	white := ebiten.NewImage(1, 1)
	white.WritePixels([]byte{255, 255, 255, 255})
	return &game{mu: mu, view: view, version: -1, whole: true, labels: map[string]*ebiten.Image{}, pixel: white}
}

func (g *game) Update() error { return nil }

// Layout is required by ebiten.Game; Ebiten calls LayoutF instead.
func (g *game) Layout(w, h int) (int, int) {
	fw, fh := g.LayoutF(float64(w), float64(h))
	return int(fw), int(fh)
}

// LayoutF sizes the canvas in device pixels so that images and text are crisp.
func (g *game) LayoutF(w, h float64) (float64, float64) {
	s := ebiten.Monitor().DeviceScaleFactor()
	return max(math.Ceil(w*s), 1), max(math.Ceil(h*s), 1) // Ebiten panics on 0: a hidden iframe is 0x0
}

func (g *game) Draw(screen *ebiten.Image) {
	changed := g.sync()
	w, h := screen.Bounds().Dx(), screen.Bounds().Dy()
	if s := ebiten.Monitor().DeviceScaleFactor(); s != g.scale || g.font == nil {
		g.setScale(s)
		if g.font == nil {
			return
		}
		changed, g.whole = true, true
	}
	if w != g.w || h != g.h {
		g.w, g.h = w, h
		if g.plotLayer != nil {
			g.plotLayer.Deallocate()
			g.plotLayer = nil
		}
		changed, g.whole = true, true
	}
	if !changed {
		return // the screen is not cleared between frames and still shows this state
	}
	g.relayout()
	if len(g.labels) > 64 { // not during drawing: this frame's draws may use them
		g.clearLabels()
	}
	switch {
	case g.status == sampleview.Idle:
		screen.Fill(background)
		lbl := g.label(g.caption)
		g.drawLabel(screen, lbl, (w-lbl.Bounds().Dx())/2, (h-g.line)/2, muted)
	case g.whole:
		screen.Fill(background)
		g.drawHeader(screen)
		g.drawGrid(screen)
		g.drawPlot(screen)
	default:
		// A step of the same run: only the header, the images and the plot
		// band change, and each is painted over whole. In a software-GL
		// browser every pixel painted takes CPU from the sampling workers.
		hd := g.layout.Header
		bottom := min(hd.Y+hd.H+g.line/4, g.layout.LabelY)
		vector.DrawFilledRect(screen, 0, 0, float32(w), float32(bottom), background, false)
		g.drawHeader(screen)
		g.drawImages(screen)
		g.drawPlot(screen)
	}
	g.whole = false
}

// sync copies the view's state and pixels, and reports whether they changed.
func (g *game) sync() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	v := g.view
	if v.Version == g.version {
		return false
	}
	if v.Status != g.status {
		g.whole = true // the column labels, the outlines or the overlay of a stopped run change
	}
	if v.RunID != g.runID || v.Run.Batch != g.run.Batch || v.Run.Width != g.run.Width || v.Run.Height != g.run.Height {
		g.whole = true
		for _, img := range append(g.xt, g.x0...) {
			if img != nil {
				img.Deallocate()
			}
		}
		g.xt, g.x0 = make([]*ebiten.Image, v.Run.Batch), make([]*ebiten.Image, v.Run.Batch)
		g.curves = [2][]ebiten.Vertex{} // a new schedule
		g.plotStale = true
	}
	if !slices.Equal(v.Run.Timesteps, g.run.Timesteps) || !slices.Equal(v.Run.AlphasCumprod, g.run.AlphasCumprod) {
		g.plotStale = true
	}
	upload := func(img **ebiten.Image, pix []byte) {
		if pix == nil { // x̂₀ of a preview, or an image before its first frame
			return
		}
		if *img == nil {
			*img = ebiten.NewImage(v.Run.Width, v.Run.Height)
		}
		(*img).WritePixels(pix)
	}
	for i := range g.xt {
		upload(&g.xt[i], v.XT[i])
		upload(&g.x0[i], v.X0[i])
	}
	g.version, g.status, g.runID, g.run = v.Version, v.Status, v.RunID, v.Run
	g.step, g.t, g.caption, g.badge = v.Step, v.T, v.Caption(), v.Badge()
	return true
}

// setScale makes the font for a device pixel ratio.
func (g *game) setScale(s float64) {
	f, line, err := sampleview.UIFont(s)
	if err != nil {
		warn(err)
		return
	}
	g.scale, g.font, g.line = s, f, line
	g.clearLabels()
	g.plotStale = true

	// Each dot is a filled circle of radius r, anti-aliased once here.
	r := float32(math.Max(3*s, 2))
	size := int(math.Ceil(float64(2*r))) + 2
	g.dotOffset = float64(size) / 2
	for i, c := range [2]color.RGBA{signal, noise} {
		if g.dots[i] != nil {
			g.dots[i].Deallocate()
		}
		g.dots[i] = ebiten.NewImage(size, size)
		vector.DrawFilledCircle(g.dots[i], float32(g.dotOffset), float32(g.dotOffset), r, c, true)
	}
}

func (g *game) relayout() {
	r := g.run
	if r.Batch == 0 {
		return
	}
	l := sampleview.NewLayout(g.w, g.h, g.line, r.Batch, r.Width, r.Height)
	p := sampleview.Plot{Area: l.Plot, T: len(r.AlphasCumprod)}
	if p != g.plot || g.curves[0] == nil {
		sig, noi := p.Curves(r.AlphasCumprod)
		width := float32(math.Max(1.5*g.scale, 1))
		for i, pts := range [2][]sampleview.Point{sig, noi} {
			g.curves[i], g.indices[i] = stroke(pts, width, [2]color.RGBA{signal, noise}[i])
		}
		g.plotStale = true
	}
	if l.Legend != g.layout.Legend || l.YLabels != g.layout.YLabels || l.Axis != g.layout.Axis {
		g.plotStale = true
	}
	if l.Header != g.layout.Header || l.Scale != g.layout.Scale || !slices.Equal(l.Pairs, g.layout.Pairs) {
		g.whole = true
	}
	g.layout, g.plot = l, p
}

// stroke turns a polyline into triangles of the given width and colour.
func stroke(pts []sampleview.Point, width float32, c color.RGBA) ([]ebiten.Vertex, []uint16) {
	var path vector.Path
	for i, p := range pts {
		if i == 0 {
			path.MoveTo(p.X, p.Y)
		} else {
			path.LineTo(p.X, p.Y)
		}
	}
	vs, is := path.AppendVerticesAndIndicesForStroke(nil, nil, &vector.StrokeOptions{Width: width, LineJoin: vector.LineJoinRound})
	for i := range vs {
		vs[i].SrcX, vs[i].SrcY = 0.5, 0.5
		vs[i].ColorR, vs[i].ColorG, vs[i].ColorB, vs[i].ColorA = float32(c.R)/255, float32(c.G)/255, float32(c.B)/255, 1
	}
	return vs, is
}

func (g *game) drawHeader(screen *ebiten.Image) {
	hd := g.layout.Header
	g.drawLabel(screen, g.label(g.caption), hd.X, hd.Y, textColor)
	if g.badge == "" {
		return
	}
	c := muted
	switch g.status {
	case sampleview.Done:
		c = finished
	case sampleview.Cancelled:
		c = stopped
	}
	b := g.label(g.badge)
	g.drawLabel(screen, b, hd.X+hd.W-b.Bounds().Dx(), hd.Y, c)
}

// drawGrid draws the column labels, then each pair's images (or the outlines
// of images without a frame yet), then the overlay of a stopped run.
func (g *game) drawGrid(screen *ebiten.Image) {
	l := g.layout
	for i, p := range l.Pairs {
		if i >= l.Cols {
			break
		}
		xt := sampleview.LabelXT
		if g.status == sampleview.Preview {
			xt = sampleview.LabelXTNoise
			if g.font.Width(xt) > p.XT.W {
				xt = sampleview.LabelXTNoiseShort
			}
		}
		g.drawLabel(screen, g.label(xt), p.XT.X, l.LabelY, muted)
		x0 := sampleview.LabelX0
		if g.font.Width(x0) > p.X0.W {
			x0 = sampleview.LabelX0Short
		}
		g.drawLabel(screen, g.label(x0), p.X0.X, l.LabelY, muted)
	}
	g.drawImages(screen)
	if g.status == sampleview.Cancelled {
		r := l.Grid()
		vector.DrawFilledRect(screen, float32(r.X), float32(r.Y), float32(r.W), float32(r.H), greyed, false)
	}
}

// drawImages draws every pair's x_t and x̂₀, each covering its rectangle (the
// pixels are opaque), or the outline of one without a frame yet.
func (g *game) drawImages(screen *ebiten.Image) {
	l := g.layout
	for i, p := range l.Pairs {
		for _, c := range []struct {
			r   sampleview.Rect
			img *ebiten.Image
		}{{p.XT, g.xt[i]}, {p.X0, g.x0[i]}} {
			if c.img == nil {
				vector.StrokeRect(screen, float32(c.r.X)+0.5, float32(c.r.Y)+0.5, float32(c.r.W-1), float32(c.r.H-1), 1, outline, false)
				continue
			}
			var op ebiten.DrawImageOptions // nearest-neighbour by default
			op.GeoM.Scale(float64(l.Scale), float64(l.Scale))
			op.GeoM.Translate(float64(c.r.X), float64(c.r.Y))
			screen.DrawImage(c.img, &op)
		}
	}
}

// drawPlot draws the plot band from plotLayer, rendering it first when it is
// stale, and over it the marker at the current t.
func (g *game) drawPlot(screen *ebiten.Image) {
	l, p := g.layout, g.plot
	if g.plotLayer == nil {
		g.plotLayer = ebiten.NewImage(g.w, g.h)
		g.plotStale = true
	}
	band := image.Rect(l.Legend.X, l.Legend.Y, l.Legend.X+l.Legend.W, l.Axis.Y+l.Axis.H)
	if g.plotStale {
		g.plotLayer.Clear()
		// Opaque, so that drawing the band paints over the last marker.
		vector.DrawFilledRect(g.plotLayer, float32(band.Min.X), float32(band.Min.Y), float32(band.Dx()), float32(band.Dy()), background, false)
		g.renderPlot(g.plotLayer)
		g.plotStale = false
	}
	var op ebiten.DrawImageOptions
	op.GeoM.Translate(float64(band.Min.X), float64(band.Min.Y))
	screen.DrawImage(g.plotLayer.SubImage(band).(*ebiten.Image), &op)

	if g.step >= 0 {
		a := l.Plot
		s, n := p.Marker(g.run.AlphasCumprod, g.t)
		vector.StrokeLine(screen, s.X, float32(a.Y), s.X, float32(a.Y+a.H), float32(math.Max(g.scale, 1)), marker, false)
		for i, pt := range [2]sampleview.Point{s, n} {
			var op ebiten.DrawImageOptions
			op.GeoM.Translate(float64(pt.X)-g.dotOffset, float64(pt.Y)-g.dotOffset)
			op.Filter = ebiten.FilterLinear // the centre falls between pixels
			screen.DrawImage(g.dots[i], &op)
		}
	}
}

// renderPlot draws what stays still during a run: the legend, the curve
// area's frame, the run's timesteps as ticks, the two curves, the value scale
// and the t axis.
func (g *game) renderPlot(screen *ebiten.Image) {
	l, p := g.layout, g.plot
	a := l.Plot

	// Legend: a short line in each curve's colour, then its name.
	x, y := l.Legend.X, l.Legend.Y+l.Legend.H/2
	sw := float32(math.Max(1.5*g.scale, 1))
	for _, e := range []struct {
		text string
		c    color.RGBA
	}{{sampleview.LegendSignal, signal}, {sampleview.LegendNoise, noise}} {
		vector.StrokeLine(screen, float32(x), float32(y), float32(x+g.line), float32(y), sw, e.c, true)
		lbl := g.label(e.text)
		g.drawLabel(screen, lbl, x+g.line+g.line/4, l.Legend.Y, textColor)
		x += g.line + g.line/4 + lbl.Bounds().Dx() + g.line
	}

	vector.StrokeRect(screen, float32(a.X)+0.5, float32(a.Y)+0.5, float32(a.W-1), float32(a.H-1), 1, outline, false)
	// The run's timesteps as ticks along the bottom edge.
	tick := float32(math.Max(3*g.scale, 2))
	for _, t := range g.run.Timesteps {
		tx := p.X(float64(t))
		vector.StrokeLine(screen, tx, float32(a.Y+a.H), tx, float32(a.Y+a.H)-tick, 1, muted, false)
	}
	for i := range g.curves {
		screen.DrawTriangles(g.curves[i], g.indices[i], g.pixel, &ebiten.DrawTrianglesOptions{AntiAlias: true})
	}
	// The value scale left of the curve area, with a faint line at 0.5.
	mid := p.Y(0.5)
	vector.StrokeLine(screen, float32(a.X+1), mid, float32(a.X+a.W-1), mid, 1, outline, false)
	for _, v := range []struct {
		text string
		y    float32
	}{{"1", p.Y(1)}, {"0.5", mid}, {"0", p.Y(0)}} {
		lbl := g.label(v.text)
		y := int(v.y) - g.line/2
		y = min(max(y, l.YLabels.Y), l.YLabels.Y+l.YLabels.H-g.line+g.line/4)
		g.drawLabel(screen, lbl, l.YLabels.X+l.YLabels.W-g.line/4-lbl.Bounds().Dx(), y, muted)
	}

	// The t axis: its two ends under the curve area, and between them what
	// t and the ticks are.
	start := g.label("0")
	g.drawLabel(screen, start, l.Axis.X, l.Axis.Y, muted)
	end := g.label(strconv.Itoa(len(g.run.AlphasCumprod) - 1))
	g.drawLabel(screen, end, l.Axis.X+l.Axis.W-end.Bounds().Dx(), l.Axis.Y, muted)
	room := l.Axis.W - start.Bounds().Dx() - end.Bounds().Dx() - 2*g.line
	for _, text := range []string{fmt.Sprintf(sampleview.AxisTitle, len(g.run.Timesteps)), sampleview.AxisTitleShort} {
		if g.font.Width(text) <= room {
			lbl := g.label(text)
			g.drawLabel(screen, lbl, l.Axis.X+(l.Axis.W-lbl.Bounds().Dx())/2, l.Axis.Y, muted)
			break
		}
	}
}

// label returns the rendered text s, from a cache that Draw empties when it
// grows past 64 (the step captions keep changing).
func (g *game) label(s string) *ebiten.Image {
	if img, ok := g.labels[s]; ok {
		return img
	}
	img := ebiten.NewImageFromImage(g.font.Render(s))
	g.labels[s] = img
	return img
}

func (g *game) clearLabels() {
	for s, img := range g.labels {
		img.Deallocate()
		delete(g.labels, s)
	}
}

// drawLabel draws a rendered text with its top-left at (x, y + centring in the line), tinted c.
func (g *game) drawLabel(screen, lbl *ebiten.Image, x, y int, c color.RGBA) {
	var op ebiten.DrawImageOptions
	op.GeoM.Translate(float64(x), float64(y+(g.line-lbl.Bounds().Dy())/2))
	op.ColorScale.ScaleWithColor(c)
	screen.DrawImage(lbl, &op)
}

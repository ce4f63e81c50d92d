//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"chrysalis/core/golden"
	"chrysalis/web/sampleview"
)

// The synthetic runs: 4 (and once 16) RGB images of 32x32 over 10 steps, in
// a 480x360 iframe.
const (
	batch, channels, side, steps = 4, 3, 32, 10
	numTrainTimesteps            = 1000
	frameW, frameH               = 480, 360
)

// Pixel tolerances. Images are drawn nearest-neighbour at an integer scale
// and screenshots are sRGB PNGs, so pixels should be exact; 2 levels allow
// for a rounding in the compositor. The greyed overlay of a stopped run is
// blended, so 3 there.
const (
	pixelTol   = 2
	overlayTol = 3
)

// testPage is a long page of text with the viewer in an iframe in the middle.
// The iframe keeps the default pointer-events, so the test checks that
// viewer.html itself lets the page scroll (the demo page also sets
// pointer-events: none on it).
const testPage = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>viewer check</title><link rel="icon" href="data:,">
<style>body { margin: 0; padding: 16px; font: 16px/1.5 serif; } p { max-width: 40em; }
#viewer { display: block; width: %dpx; height: %dpx; border: 0; margin: 24px 0; }</style>
<script>
"use strict";
window.viewerReady = false;
addEventListener("message", (e) => {
  if (e.data && e.data.kind === "viewer-ready") window.viewerReady = true;
});
// post sends one message to the viewer; arrays become Float32Arrays, xt as a
// view into a larger buffer (a non-zero byteOffset), the others transferred.
function post(msg) {
  const transfer = [];
  for (const k of ["timesteps", "alphasCumprod", "xt", "x0"]) {
    if (!(k in msg)) continue;
    if (k === "xt") {
      const big = new Float32Array(msg[k].length + 3);
      big.set(msg[k], 3);
      msg[k] = big.subarray(3);
    } else {
      msg[k] = new Float32Array(msg[k]);
      transfer.push(msg[k].buffer);
    }
  }
  document.getElementById("viewer").contentWindow.postMessage(msg, "*", transfer);
}
</script></head><body>
%s
<iframe id="viewer" src="/viewer.html" title="sampling viewer"></iframe>
%s
</body></html>`

func TestViewerInScrollingPage(t *testing.T) {
	chromium := findChromium(t)
	root := golden.Root(t)
	shots := filepath.Join(root, "out", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	static := buildViewer(t, root)

	prose := strings.Repeat("<p>Diffusion models learn to undo noise. Each step of the sampler takes the current sample x_t and the model's "+
		"prediction of the noise, and moves towards the clean image x0. The schedule says how much signal is left at every timestep.</p>\n", 12)
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, testPage, frameW, frameH, prose, prose)
	})
	mux.HandleFunc("/viewer.html", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(root, "viewer.html"))
	})
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.Dir(static))))
	srv := httptest.NewServer(mux) // listens on 127.0.0.1
	defer srv.Close()

	ctx := newBrowser(t, chromium)
	console := chromedp.Console(ctx)
	// Count the animation frames each document asks the browser for, under
	// viewer.html's gate, which binds requestAnimationFrame as it finds it.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `{
		const ask = window.requestAnimationFrame.bind(window);
		window.framesAsked = 0;
		window.requestAnimationFrame = (cb) => { window.framesAsked++; return ask(cb); };
	}`}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`window.viewerReady`, chromedp.WithPollingTimeout(90*time.Second))); err != nil {
		t.Fatalf("the viewer never posted viewer-ready: %v", err)
	}
	logRenderer(t, ctx)
	size, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const c = document.getElementById("viewer").contentDocument.querySelector("canvas");
		return c ? [c.clientWidth, c.clientHeight] : [];
	})()`))
	if err != nil || len(size) != 2 || size[0] != frameW || size[1] != frameH {
		t.Fatalf("the viewer's canvas is %v (%v), want %dx%d, filling the iframe", size, err, frameW, frameH)
	}
	// viewer.html turns off the multisampling that Ebiten's context would
	// get by default (getContext returns the canvas's existing context).
	attrs, err := chromedp.Run(ctx, chromedp.Evaluate[map[string]any](`
		document.getElementById("viewer").contentDocument.querySelector("canvas").getContext("webgl2").getContextAttributes()`))
	if err != nil || attrs["antialias"] != false {
		t.Fatalf("the viewer's WebGL context attributes are %v (%v), want antialias false", attrs, err)
	}

	bg := color.RGBA{0x16, 0x18, 0x1c, 0xff}
	shot(t, ctx, filepath.Join(shots, "viewer-idle.png"), func(img image.Image) error {
		if err := varied(img); err != nil {
			return fmt.Errorf("placeholder: %w", err)
		}
		return near(img.At(2, 2), bg, pixelTol)
	})

	run := newRun(1, batch)
	post(t, ctx, run.start())
	for s := range 5 {
		for i := range batch {
			post(t, ctx, run.frame(s, i))
		}
	}
	l := layout(t, batch)
	shot(t, ctx, filepath.Join(shots, "viewer-running.png"), func(img image.Image) error {
		if err := varied(img); err != nil {
			return err
		}
		if err := run.check(img, l, 4, nil); err != nil {
			return err
		}
		return markerAt(img, l, run.timesteps[4])
	})

	for s := 5; s < steps; s++ {
		for i := range batch {
			post(t, ctx, run.frame(s, i))
		}
	}
	post(t, ctx, map[string]any{"kind": "done", "runId": run.id})
	shot(t, ctx, filepath.Join(shots, "viewer-done.png"), func(img image.Image) error {
		return run.check(img, l, steps-1, nil)
	})
	// Idle, the viewer asks for no frames: Ebiten's minimum FPS mode would
	// look at every vsync, 60 times a second.
	frames := func() float64 {
		n, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`document.getElementById("viewer").contentWindow.framesAsked`))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := frames()
	time.Sleep(time.Second)
	if n := frames() - before; n > 1 {
		t.Errorf("the idle viewer asked for %v animation frames in a second, want at most 1", n)
	}

	// A second run, stopped after three steps. Late frames of either run
	// must change nothing.
	stopped := newRun(2, batch)
	post(t, ctx, stopped.start())
	for s := range 3 {
		for i := range batch {
			post(t, ctx, stopped.frame(s, i))
		}
	}
	post(t, ctx, map[string]any{"kind": "cancel", "runId": stopped.id})
	post(t, ctx, run.frame(steps-1, 0))
	post(t, ctx, stopped.frame(3, 1))
	grey := func(c color.RGBA) color.RGBA { // the overlay: src + dst*(1 - 0xa0/255), premultiplied
		f := func(v, src uint8) uint8 { return uint8(math.Round(float64(src) + float64(v)*(255-0xa0)/255)) }
		return color.RGBA{f(c.R, 0x16), f(c.G, 0x18), f(c.B, 0x1c), 0xff}
	}
	shot(t, ctx, filepath.Join(shots, "viewer-stopped.png"), func(img image.Image) error {
		if err := varied(img); err != nil {
			return err
		}
		return stopped.check(img, l, 2, grey)
	})

	// 16 images: the grid becomes 4x4 at scale 1.
	big := newRun(5, 16)
	post(t, ctx, big.start())
	for i := range 16 {
		post(t, ctx, big.frame(6, i))
	}
	l16 := layout(t, 16)
	shot(t, ctx, filepath.Join(shots, "viewer-batch16.png"), func(img image.Image) error {
		return big.check(img, l16, 6, nil)
	})

	// A run that arrives while the page shows the iframe at 0x0 is on
	// screen once the iframe is back.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById("viewer").style.width = "0px"`),
		chromedp.Sleep(500*time.Millisecond)); err != nil {
		t.Fatal(err)
	}
	hidden := newRun(3, batch)
	post(t, ctx, hidden.start())
	for s := range steps {
		for i := range batch {
			post(t, ctx, hidden.frame(s, i))
		}
	}
	post(t, ctx, map[string]any{"kind": "done", "runId": hidden.id})
	if err := chromedp.Do(ctx, chromedp.Sleep(500*time.Millisecond),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("viewer").style.width = ""`)); err != nil {
		t.Fatal(err)
	}
	shot(t, ctx, filepath.Join(shots, "viewer-unhidden.png"), func(img image.Image) error {
		return hidden.check(img, l, steps-1, nil)
	})

	checkScroll(t, ctx)
	page, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(shots, "viewer-page.png"), page, 0o644); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`console.log("end of test")`)); err != nil {
		t.Fatal(err)
	}
	for m, err := range console {
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("console.%s: %s (%s)", m.Type, m.Text, m.URL)
		if m.Type == chromedp.ConsoleError || m.IsException() || m.Type == chromedp.ConsoleWarning && (strings.HasPrefix(m.Text, "viewer:") || strings.HasPrefix(m.Text, "sampleview:")) {
			t.Errorf("console: %s", m)
		}
		if m.Text == "end of test" {
			break
		}
	}
}

// synthRun is a run of made-up images: x0 is a pattern per image, x_t goes
// from noise at step 0 to x0 at the last step, and the predicted x0 from a
// noisy pattern to the pattern. Every value is a multiple of 1/128, which
// JSON, JavaScript and float32 carry exactly.
type synthRun struct {
	id        int
	timesteps []float32
	x0        [][]float32 // per image
	noise     [][]float32
}

func newRun(id, n int) *synthRun {
	r := &synthRun{id: id, x0: make([][]float32, n), noise: make([][]float32, n)}
	for s := range steps {
		r.timesteps = append(r.timesteps, float32(numTrainTimesteps-1-s*111))
	}
	rng := rand.New(rand.NewPCG(uint64(id), 7))
	for i := range n {
		r.x0[i] = make([]float32, channels*side*side)
		r.noise[i] = make([]float32, channels*side*side)
		for c := range channels {
			for y := range side {
				for x := range side {
					k := (c*side+y)*side + x
					r.x0[i][k] = quantize(pattern(id, i, c, x, y))
					r.noise[i][k] = quantize(2*rng.Float64() - 1)
				}
			}
		}
	}
	return r
}

// pattern is channel c of image i at (x, y), in [-1, 1].
func pattern(id, i, c, x, y int) float64 {
	u, v := float64(x)/(side-1), float64(y)/(side-1)
	var p float64
	switch i % 4 {
	case 0: // red across, green down
		p = [3]float64{u, v, 0.3}[c]
	case 1: // a disc
		d := math.Hypot(u-0.5, v-0.5)
		p = [3]float64{1 - 2*d, 0.8 - d, 0.2 + d}[c]
	case 2: // 4-pixel checks
		p = float64((x/4+y/4)%2) * [3]float64{0.9, 0.6, 0.1}[c]
	default: // diagonal stripes
		p = 0.5 + 0.5*math.Sin(float64(x+y)/3+float64(c))
	}
	if id%2 == 0 {
		p = 1 - p
	}
	return 2*p - 1
}

func quantize(v float64) float32 { return float32(math.Round(min(max(v, -1), 1)*128) / 128) }

// at gives x_t and the predicted x0 of image i at step s.
func (r *synthRun) at(s, i int) (xt, x0 []float32) {
	a := float64(s+1) / steps
	xt, x0 = make([]float32, len(r.x0[i])), make([]float32, len(r.x0[i]))
	for k := range xt {
		xt[k] = quantize(float64(a*float64(r.x0[i][k])) + float64((1-a)*float64(r.noise[i][k])))
		x0[k] = quantize(float64(r.x0[i][k]) + float64((1-a)*0.5*float64(r.noise[i][k])))
	}
	return xt, x0
}

func (r *synthRun) start() map[string]any {
	ac := make([]float32, numTrainTimesteps)
	prod := 1.0
	for t := range ac { // a linear beta schedule from 1e-4 to 0.02
		prod *= 1 - (1e-4 + (0.02-1e-4)*float64(t)/(numTrainTimesteps-1))
		ac[t] = float32(prod)
	}
	return map[string]any{"kind": "run", "runId": r.id, "batch": len(r.x0), "channels": channels,
		"height": side, "width": side, "steps": steps, "timesteps": r.timesteps, "alphasCumprod": ac}
}

func (r *synthRun) frame(s, i int) map[string]any {
	xt, x0 := r.at(s, i)
	return map[string]any{"kind": "frame", "runId": r.id, "step": s, "steps": steps,
		"t": r.timesteps[s], "image": i, "xt": xt, "x0": x0}
}

// check compares the centres of 16 source pixels of every x_t and x0 on the
// screenshot with sampleview's conversion of step s, passed through tint when
// the images are greyed.
func (r *synthRun) check(img image.Image, l sampleview.Layout, s int, tint func(color.RGBA) color.RGBA) error {
	tol := pixelTol
	if tint != nil {
		tol = overlayTol
	}
	rgba := make([]byte, 4*side*side)
	for i, p := range l.Pairs {
		xt, x0 := r.at(s, i)
		for _, c := range []struct {
			name string
			rect sampleview.Rect
			x    []float32
		}{{"x_t", p.XT, xt}, {"x0", p.X0, x0}} {
			if err := sampleview.ToRGBA(rgba, c.x, channels, side, side); err != nil {
				return err
			}
			for k := range 16 {
				sx, sy := (k*7+3)%side, (k*11+5)%side
				want := color.RGBA{rgba[4*(sy*side+sx)], rgba[4*(sy*side+sx)+1], rgba[4*(sy*side+sx)+2], 255}
				if tint != nil {
					want = tint(want)
				}
				x, y := c.rect.X+sx*l.Scale+l.Scale/2, c.rect.Y+sy*l.Scale+l.Scale/2
				if err := near(img.At(x, y), want, tol); err != nil {
					return fmt.Errorf("run %d step %d image %d %s source pixel (%d,%d) at (%d,%d): %w", r.id, s, i, c.name, sx, sy, x, y, err)
				}
			}
		}
	}
	return nil
}

// layout is where the viewer puts a batch of n images in the iframe, at
// device pixel ratio 1.
func layout(t *testing.T, n int) sampleview.Layout {
	t.Helper()
	_, line, err := sampleview.UIFont(1)
	if err != nil {
		t.Fatal(err)
	}
	return sampleview.NewLayout(frameW, frameH, line, n, side, side)
}

// markerAt checks that the column of timestep t in the plot is mostly the
// white marker line.
func markerAt(img image.Image, l sampleview.Layout, t float32) error {
	p := sampleview.Plot{Area: l.Plot, T: numTrainTimesteps}
	x := int(p.X(float64(t)))
	white := 0
	for y := l.Plot.Y; y < l.Plot.Y+l.Plot.H; y++ {
		if near(img.At(x, y), color.RGBA{255, 255, 255, 255}, 40) == nil {
			white++
		}
	}
	if white < l.Plot.H*6/10 {
		return fmt.Errorf("marker of t=%v: %d of %d pixels of column %d are white", t, white, l.Plot.H, x)
	}
	return nil
}

// varied fails for a blank or uniform image: it wants at least 20 colours
// and a standard deviation of the luminance of at least 2 levels.
func varied(img image.Image) error {
	b := img.Bounds()
	colours := map[color.RGBA]bool{}
	var sum, sum2, n float64
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			colours[c] = true
			lum := 0.299*float64(c.R) + 0.587*float64(c.G) + 0.114*float64(c.B)
			sum, sum2, n = sum+lum, sum2+lum*lum, n+1
		}
	}
	sd := math.Sqrt(max(sum2/n-(sum/n)*(sum/n), 0))
	if len(colours) < 20 || sd < 2 {
		return fmt.Errorf("canvas looks blank: %d colours, luminance sd %.2f", len(colours), sd)
	}
	return nil
}

func near(got color.Color, want color.RGBA, tol int) error {
	c := color.RGBAModel.Convert(got).(color.RGBA)
	d := max(abs(int(c.R)-int(want.R)), abs(int(c.G)-int(want.G)), abs(int(c.B)-int(want.B)))
	if d > tol {
		return fmt.Errorf("pixel %v, want %v within %d", c, want, tol)
	}
	return nil
}

func abs(v int) int { return max(v, -v) }

// shot screenshots the iframe until ok accepts it (30 s at most; the viewer
// draws on its next animation frame) and saves the last one to path.
func shot(t *testing.T, ctx context.Context, path string, ok func(image.Image) error) {
	t.Helper()
	var last error
	for deadline := time.Now().Add(30 * time.Second); ; {
		buf, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.ID("viewer")))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		img, err := png.Decode(bytes.NewReader(buf))
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(path), err)
		}
		if last = ok(img); last == nil || time.Now().After(deadline) {
			if err := os.WriteFile(path, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if last != nil {
		t.Fatalf("%s: %v", filepath.Base(path), last)
	}
}

// post sends a message to the viewer through the page's post function.
func post(t *testing.T, ctx context.Context, msg map[string]any) {
	t.Helper()
	js, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void]("post("+string(js)+")")); err != nil {
		t.Fatalf("posting %s: %v", msg["kind"], err)
	}
}

// checkScroll turns the mouse wheel, then swipes a finger (with touch
// emulation on), over the middle of the iframe; each must scroll the outer
// page. The same swipe over the text above the iframe is the control that
// shows the swipe itself works.
func checkScroll(t *testing.T, ctx context.Context) {
	t.Helper()
	if _, err := chromedp.Call(ctx, emulation.SetTouchEmulationEnabled, emulation.SetTouchEmulationEnabledParams{Enabled: true, MaxTouchPoints: 1}); err != nil {
		t.Fatal(err)
	}
	for _, g := range []struct {
		name string
		do   func(x, y float64) error
	}{
		{"wheel over the viewer", func(x, y float64) error {
			_, err := chromedp.Call(ctx, dispatchWheel, wheelParams{Type: chromedp.MouseWheel, X: x, Y: y, DeltaX: 0, DeltaY: 120})
			return err
		}},
		{"swipe over the viewer", func(x, y float64) error { return swipe(ctx, x, y, 150) }},
		{"swipe over the text above it (control)", func(x, y float64) error { return swipe(ctx, x, y-250, 150) }},
	} {
		// Put the iframe 150 px below the top of the viewport.
		centre, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
			const f = document.getElementById("viewer");
			window.scrollTo(0, f.offsetTop - 150);
			const r = f.getBoundingClientRect();
			return [r.left + r.width / 2, r.top + r.height / 2, window.scrollY];
		})()`))
		if err != nil {
			t.Fatal(err)
		}
		x, y, before := centre[0], centre[1], centre[2]
		if err := g.do(x, y); err != nil {
			t.Fatalf("%s: %v", g.name, err)
		}
		after, err := chromedp.Run(ctx, chromedp.Poll[float64](fmt.Sprintf(`window.scrollY > %v && window.scrollY`, before),
			chromedp.WithPollingTimeout(5*time.Second)))
		if err != nil {
			now, _ := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.scrollY`))
			t.Errorf("%s did not scroll the page: scrollY %v before, %v after (%v)", g.name, before, now, err)
			continue
		}
		t.Logf("%s scrolled the page from %v to %v", g.name, before, after)
	}
}

// swipe moves one finger up by dy CSS pixels from (x, y), in 10 moves.
func swipe(ctx context.Context, x, y, dy float64) error {
	id, one := 0.0, 1.0
	point := func(y float64) []*input.TouchPoint {
		return []*input.TouchPoint{{X: x, Y: y, RadiusX: &one, RadiusY: &one, Force: &one, ID: &id}}
	}
	events := []input.DispatchTouchEventParams{{Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: point(y)}}
	for i := 1; i <= 10; i++ {
		events = append(events, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchMove, TouchPoints: point(y - dy*float64(i)/10)})
	}
	events = append(events, input.DispatchTouchEventParams{Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
	for _, e := range events {
		if _, err := chromedp.Call(ctx, input.DispatchTouchEvent, e); err != nil {
			return err
		}
		time.Sleep(16 * time.Millisecond)
	}
	return nil
}

// wheelParams are Input.dispatchMouseEvent's parameters for a wheel turn:
// the protocol wants deltaX even when it is 0, which input's generated
// struct omits.
type wheelParams struct {
	Type   input.DispatchMouseEventType `json:"type"`
	X      float64                      `json:"x"`
	Y      float64                      `json:"y"`
	DeltaX float64                      `json:"deltaX"`
	DeltaY float64                      `json:"deltaY"`
}

var dispatchWheel = cdp.Command[wheelParams, cdp.Empty]{Method: input.CommandDispatchMouseEvent}

// logRenderer logs the WebGL renderer that a canvas of the page gets, to tell
// SwiftShader from a GPU.
func logRenderer(t *testing.T, ctx context.Context) {
	r, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => {
		const gl = document.createElement("canvas").getContext("webgl2") || document.createElement("canvas").getContext("webgl");
		if (!gl) return "no WebGL";
		const info = gl.getExtension("WEBGL_debug_renderer_info");
		return info ? gl.getParameter(info.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER);
	})()`))
	if err != nil {
		t.Fatal(err)
	}
	if r == "no WebGL" {
		t.Fatal("headless Chromium gives no WebGL context with --disable-gpu: this Chromium may need --enable-unsafe-swiftshader (see viewer.html)")
	}
	t.Logf("WebGL renderer: %s", r)
}

func newBrowser(t *testing.T, chromium string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1000, 800),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline
		t.Fatalf("starting %s: %v", chromium, err)
	}
	tctx, cancel := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(cancel)
	return tctx
}

// buildViewer builds viewer.wasm for GOOS=js into a temporary static folder
// beside a copy of Go's wasm_exec.js, as the demo's Makefile does.
func buildViewer(t *testing.T, root string) string {
	t.Helper()
	static := t.TempDir()
	build := exec.Command("go", "build", "-o", filepath.Join(static, "viewer.wasm"), "./wasm/viewer")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building viewer.wasm: %v\n%s", err, out)
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	src, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(static, "wasm_exec.js"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	return static
}

func findChromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found on PATH: the viewer's browser test needs it (Debian: apt-get install chromium)")
	}
	t.Skip("chromium not found on PATH; set CI=true to make this a failure")
	return ""
}

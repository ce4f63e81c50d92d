//go:build js && wasm

package app

import (
	"syscall/js"
	"time"

	"chrysalis/web/inbox"
)

// viewerReady is the viewer iframe's {kind:"viewer-ready"}.
type viewerReady struct{}

// viewer forwards a run to the Ebiten viewer in <iframe id="viewer">:
// {kind:"run"}, then {kind:"frame"} for every image and step, then
// {kind:"done"} or {kind:"cancel"}. Until the viewer says it is ready the
// messages are held; then the run, the latest frame of each image and the
// end are sent, so a late viewer still shows the current state.
//
// Frames go to the viewer at most every frameGap, the latest of each image
// together, so that the viewer repaints once for them rather than once per
// image and step: every repaint takes CPU from the sampling workers. When the
// person prefers reduced motion, the gap is reducedMotionGap, so the noise
// does not flicker at the sampling rate. The final frames always go.
type viewer struct {
	iframe   js.Value
	origin   string
	isReady  bool
	run      js.Value
	latest   []js.Value
	pending  []bool // latest[i] not sent yet
	end      js.Value
	gap      time.Duration
	lastSent time.Time
}

const (
	frameGap         = 250 * time.Millisecond
	reducedMotionGap = 500 * time.Millisecond
)

func newViewer(iframe js.Value) *viewer {
	origin := js.Global().Get("location").Get("origin").String()
	if origin == "null" { // a file: page
		origin = "*"
	}
	v := &viewer{iframe: iframe, origin: origin, run: js.Undefined(), end: js.Undefined(), gap: frameGap}
	if js.Global().Call("matchMedia", "(prefers-reduced-motion: reduce)").Get("matches").Bool() {
		v.gap = reducedMotionGap
	}
	return v
}

// listen posts viewerReady when the viewer says so. index.html records a
// ready message that came before this Go program ran.
func (v *viewer) listen(box *inbox.Inbox) {
	if !v.iframe.Truthy() {
		return
	}
	js.Global().Call("addEventListener", "message", js.FuncOf(func(_ js.Value, args []js.Value) any {
		e := args[0]
		d := e.Get("data")
		if e.Get("source").Equal(v.iframe.Get("contentWindow")) && d.Type() == js.TypeObject && d.Get("kind").String() == "viewer-ready" {
			box.Post(viewerReady{})
		}
		return nil
	}))
	if js.Global().Get("chrysalisViewerReady").Truthy() {
		box.Post(viewerReady{})
	}
}

func (v *viewer) ready() {
	v.isReady = true
	v.send(v.run)
	for _, f := range v.latest {
		v.send(f)
	}
	v.send(v.end)
}

// preview shows the starting noise of the current settings before any run
// (the viewer ignores it once a run has started).
func (v *viewer) preview(msg map[string]any) {
	v.run, v.end, v.latest, v.pending = js.ValueOf(msg), js.Undefined(), nil, nil
	v.send(v.run)
}

// start announces a new run.
func (v *viewer) start(msg map[string]any) {
	v.run, v.end = js.ValueOf(msg), js.Undefined()
	v.latest = make([]js.Value, msg["batch"].(int))
	v.pending = make([]bool, len(v.latest))
	v.lastSent = time.Time{}
	v.send(v.run)
}

// frame forwards image img's frame (copied, not transferred: the page keeps
// the final ones for the PNG).
func (v *viewer) frame(img int, f js.Value) {
	if img >= len(v.latest) {
		return
	}
	v.latest[img], v.pending[img] = f, true
	if time.Since(v.lastSent) >= v.gap {
		v.flush()
	}
}

// flush sends the latest frames not sent yet.
func (v *viewer) flush() {
	for i, f := range v.latest {
		if v.pending[i] {
			v.send(f)
			v.pending[i] = false
		}
	}
	v.lastSent = time.Now()
}

// post sends the end of a run (done or cancel), after the frames held back.
func (v *viewer) post(msg map[string]any) {
	v.flush()
	v.end = js.ValueOf(msg)
	v.send(v.end)
}

func (v *viewer) send(msg js.Value) {
	if !v.isReady || msg.IsUndefined() || !v.iframe.Truthy() {
		return
	}
	v.iframe.Get("contentWindow").Call("postMessage", msg, v.origin)
}

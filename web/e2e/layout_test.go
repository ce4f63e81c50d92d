//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// At phone width the page fits, the focus order follows the controls, and a
// run can be made with the keyboard alone. With prefers-reduced-motion the
// viewer gets frames at most twice a second, and the final one.
func TestPhoneAndKeyboard(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 390, 844)
	_, err := chromedp.Call(tb.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-reduced-motion", Value: "reduce"}}})
	if err != nil {
		t.Fatal(err)
	}
	tb.open(t, s.URL+"/index.html?batch=1&steps=25")
	tb.waitModel(t)
	if w := eval[int](t, tb, "document.documentElement.scrollWidth"); w > 390 {
		t.Errorf("the page is %d px wide on a 390 px screen", w)
	}
	checkMenus(t, tb)
	// Run is on the first screen, where a thumb finds it, and nothing covers it.
	if where := eval[string](t, tb, `(b => { const r = b.getBoundingClientRect(), e = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
		return r.top >= 0 && r.bottom <= innerHeight && b.contains(e) ? "" : "top " + r.top + ", bottom " + r.bottom + ", covered by " + (e && (e.id || e.className)); })(document.getElementById("run"))`); where != "" {
		t.Errorf("the Run button is not on the first screen of a phone: %s", where)
	}
	tb.shot(t, "phone")

	var order []string
	for range 10 {
		tb.do(t, chromedp.KeyEvent(kb.Tab))
		order = append(order, eval[string](t, tb, `document.activeElement.id || document.activeElement.className`))
	}
	want := []string{"skip-link", "tab-sample", "tab-forward", "tab-compare", "tab-train", "model", "scheduler", "steps", "batch", "eta"}
	if !slices.Equal(order, want) {
		t.Errorf("focus order %v, want %v", order, want)
	}

	// Keyboard only: type 8 steps, Tab to commit, Enter to submit the form.
	eval[bool](t, tb, `(window.viewerFrames = [], document.getElementById("viewer").contentWindow.addEventListener("message",
		(e) => { if (e.data.kind === "frame") window.viewerFrames.push([performance.now(), e.data.step]); }), true)`)
	tb.do(t, chromedp.Focus(chromedp.ID("steps")))
	eval[bool](t, tb, `(document.getElementById("steps").select(), true)`)
	tb.do(t, chromedp.KeyEvent("8"), chromedp.KeyEvent(kb.Tab))
	waitFor[bool](t, tb, `location.search.includes("steps=8&")`, 5*time.Second)
	tb.do(t, chromedp.KeyEvent(kb.Enter))
	waitFor[bool](t, tb, `document.getElementById("status").dataset.phase === "done"`, 2*time.Minute)
	if got := eval[string](t, tb, `document.activeElement.id`); got != "batch" {
		t.Errorf("the focus moved to %q during the run", got)
	}
	frames := eval[[][2]float64](t, tb, `window.viewerFrames`)
	t.Logf("with reduced motion the viewer got frames (ms, step) %v", frames)
	if len(frames) == 0 || frames[len(frames)-1][1] != 7 {
		t.Errorf("the viewer did not get the final frame: %v", frames)
	}
	for i := 1; i < len(frames)-1; i++ {
		if gap := frames[i][0] - frames[i-1][0]; gap < 450 {
			t.Errorf("frames %d ms apart with reduced motion: %v", int(gap), frames)
			break
		}
	}
	time.Sleep(500 * time.Millisecond)
	tb.shot(t, "phone-after-run")
	eval[bool](t, tb, `(window.scrollTo(0, document.body.scrollHeight), true)`)
	tb.shot(t, "phone-scrolled")
	tb.checkLog(t)
}

// The embed example page: course notes with the demo in an iframe. A wheel
// turn over the demo (and so over its viewer) scrolls the notes.
func TestEmbedExample(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1000, 800)
	tb.do(t, chromedp.Navigate(s.URL+"/static/embed-example.html"))
	tb.shot(t, "embed-example-top")
	// The forward view samples its images, then shows them noised at t = 500.
	eval[bool](t, tb, `(document.querySelector("#forward").scrollIntoView({block: "center"}), true)`)
	waitFor[bool](t, tb, `document.querySelector("#forward iframe").contentDocument?.getElementById("forward-numbers")?.dataset.t === "500"`, 2*time.Minute)
	time.Sleep(300 * time.Millisecond)
	tb.shot(t, "embed-example-forward")

	eval[bool](t, tb, `(document.querySelector("#sample").scrollIntoView({block: "center"}), true)`)
	waitFor[bool](t, tb, `document.querySelector("#sample iframe").contentDocument?.getElementById("model-status")?.dataset.state === "ready"`, time.Minute)
	if !eval[bool](t, tb, `document.querySelector("#sample iframe").contentDocument.body.classList.contains("embed")`) {
		t.Error("the embedded demo is not in the compact layout")
	}
	time.Sleep(500 * time.Millisecond)
	tb.shot(t, "embed-example-demo")
	// Run the embedded demo for a few steps, to see it at work, then stop it.
	demo := `document.querySelector("#sample iframe").contentDocument`
	eval[bool](t, tb, `(`+demo+`.getElementById("run").click(), true)`)
	waitFor[bool](t, tb, `+`+demo+`.getElementById("progress").getAttribute("value") >= 12`, 2*time.Minute)
	time.Sleep(300 * time.Millisecond)
	tb.shot(t, "embed-example-running")
	eval[bool](t, tb, `(`+demo+`.getElementById("run").click(), true)`)
	waitFor[bool](t, tb, demo+`.getElementById("status").dataset.phase === "stopped"`, 10*time.Second)
	// Stopped, with its "Step n of 25" line, the demo still fits its 480 x 600
	// frame: a frame that scrolls by a pixel would keep the wheel from the notes.
	if h := eval[[]int](t, tb, `(e => [e.scrollHeight, e.clientHeight])(`+demo+`.documentElement)`); h[0] > h[1] {
		t.Errorf("the stopped demo is %d px tall in its %d px frame", h[0], h[1])
	}

	before := eval[float64](t, tb, "window.scrollY")
	box := eval[[]float64](t, tb, `(r => [r.x + r.width / 2, r.y + 150])(document.querySelector("#sample iframe").getBoundingClientRect())`)
	_, err := chromedp.Call(tb.ctx, dispatchWheel, wheelParams{Type: input.DispatchMouseEventTypeMouseWheel, X: box[0], Y: box[1], DeltaY: 400})
	if err != nil {
		t.Fatal(err)
	}
	after := waitFor[float64](t, tb, fmt.Sprintf(`window.scrollY > %v && window.scrollY`, before), 5*time.Second)
	t.Logf("a wheel turn over the embedded viewer scrolled the notes from %v to %v", before, after)
	tb.shot(t, "embed-example-scrolled")
	tb.checkLog(t)
}

// wheelParams are Input.dispatchMouseEvent's parameters for a wheel turn.
// The protocol requires deltaX, which the generated struct leaves out when
// it is 0.
type wheelParams struct {
	Type   input.DispatchMouseEventType `json:"type"`
	X      float64                      `json:"x"`
	Y      float64                      `json:"y"`
	DeltaX float64                      `json:"deltaX"`
	DeltaY float64                      `json:"deltaY"`
}

var dispatchWheel = cdp.Command[wheelParams, cdp.Empty]{Method: input.CommandDispatchMouseEvent}

// checkMenus fails the test for every option of the Model and Scheduler menus
// whose label is wider than the room its menu gives it (its padding keeps
// the arrow's place).
func checkMenus(t testing.TB, tb *tab) {
	t.Helper()
	cut := eval[[]string](t, tb, `(() => {
		const out = [], c = document.createElement("canvas").getContext("2d");
		for (const id of ["model", "scheduler"]) {
			const s = document.getElementById(id), cs = getComputedStyle(s);
			c.font = cs.font;
			const room = s.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
			for (const o of s.options) {
				const w = c.measureText(o.text).width;
				if (w > room) out.push(id + ": " + JSON.stringify(o.text) + " is " + Math.ceil(w) + " px in " + Math.floor(room) + " px");
			}
		}
		return out;
	})()`)
	for _, c := range cut {
		t.Errorf("a menu cuts its label at %d px: %s", eval[int](t, tb, "innerWidth"), c)
	}
}

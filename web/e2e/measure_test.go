//go:build e2e

package e2e

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// interactiveProbe runs in every new document before the page's scripts: it
// records performance.now() when the Run button first exists and is enabled
// (the controls are rendered with the model list), and when the model is ready.
const interactiveProbe = `(() => {
	const seen = () => {
		const b = document.getElementById("run");
		if (window.chrysalisInteractive === undefined && b && !b.disabled) window.chrysalisInteractive = performance.now();
		const m = document.getElementById("model-status");
		if (window.chrysalisModelReady === undefined && m && m.dataset.state === "ready") window.chrysalisModelReady = performance.now();
	};
	new MutationObserver(seen).observe(document, {subtree: true, childList: true, attributes: true});
})()`

// TestLoadFigures logs what the page costs: the size of app.wasm, raw and
// gzipped, and the time from navigation to interactive controls (and to the
// model being ready), in fresh profiles (nothing cached) and on reloads. It
// asserts no time. With SHOTS_DIR set it also saves the page at 1280 px, at
// 390 px (the viewport and the whole page) and in a 480x600 embed frame as
// SHOTS_DIR/SHOTS_PREFIX*.png, for before/after comparisons.
func TestLoadFigures(t *testing.T) {
	app, err := os.ReadFile(filepath.Join(built, "app.wasm"))
	if err != nil {
		t.Fatal(err)
	}
	var gz bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	zw.Write(app)
	zw.Close()
	t.Logf("app.wasm: %d bytes raw, %d bytes gzip -9", len(app), gz.Len())

	s := serve(t, map[string]http.HandlerFunc{"/embed-480x600.html": func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>embed</title><link rel="icon" href="data:,">
<style>body{margin:0;padding:8px;background:#ddd}</style></head><body>
<iframe src="index.html?embed=1" width="480" height="600" style="border:0;max-width:100%;background:#fff" title="Chrysalis"></iframe></body></html>`)
	}})

	type times struct {
		Interactive float64 `json:"interactive"`
		Ready       float64 `json:"ready"`
	}
	load := func(tb *tab, reload bool) times {
		if reload {
			tb.do(t, chromedp.Reload())
		} else {
			tb.do(t, chromedp.Navigate(s.URL+"/index.html"))
		}
		waitFor[bool](t, tb, `window.chrysalisModelReady !== undefined`, time.Minute)
		return eval[times](t, tb, `({interactive: window.chrysalisInteractive, ready: window.chrysalisModelReady})`)
	}
	probe := func(tb *tab) {
		if _, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: interactiveProbe}); err != nil {
			t.Fatal(err)
		}
	}
	var cold, warm []times
	for range 3 {
		tb := newTab(t, 1280, 900)
		probe(tb)
		cold = append(cold, load(tb, false))
		for range 2 {
			warm = append(warm, load(tb, true))
		}
		tb.checkLog(t)
	}
	median := func(ts []times, f func(times) float64) float64 {
		v := make([]float64, len(ts))
		for i, x := range ts {
			v[i] = f(x)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	inter := func(x times) float64 { return x.Interactive }
	ready := func(x times) float64 { return x.Ready }
	t.Logf("load to interactive controls: median %.0f ms cold (fresh profile, %v), %.0f ms on reload (%v)",
		median(cold, inter), cold, median(warm, inter), warm)
	t.Logf("load to model ready: median %.0f ms cold, %.0f ms on reload", median(cold, ready), median(warm, ready))

	dir := os.Getenv("SHOTS_DIR")
	if dir == "" {
		return
	}
	prefix := os.Getenv("SHOTS_PREFIX")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name string, buf []byte) {
		if err := os.WriteFile(filepath.Join(dir, prefix+name+".png"), buf, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, v := range []struct {
		name string
		w, h int
	}{{"1280", 1280, 900}, {"390", 390, 844}} {
		tb := newTab(t, v.w, v.h)
		tb.open(t, s.URL+"/index.html")
		tb.waitModel(t)
		time.Sleep(time.Second) // the viewer draws
		buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatal(err)
		}
		write(v.name, buf)
		if buf, err = chromedp.Run(tb.ctx, chromedp.FullScreenshot(100)); err != nil {
			t.Fatal(err)
		}
		write(v.name+"-full", buf)
		if v.w == 1280 {
			tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=10&batch=4&seed=42")
			tb.waitModel(t)
			tb.runToEnd(t, 3*time.Minute)
			time.Sleep(time.Second)
			if buf, err = chromedp.Run(tb.ctx, chromedp.CaptureScreenshot()); err != nil {
				t.Fatal(err)
			}
			write(v.name+"-done", buf)
		}
	}
	tb := newTab(t, 520, 640)
	tb.do(t, chromedp.Navigate(s.URL+"/embed-480x600.html"))
	frame := `document.querySelector("iframe").contentDocument`
	waitFor[bool](t, tb, frame+`?.getElementById("model-status")?.dataset.state === "ready"`, time.Minute)
	time.Sleep(time.Second)
	t.Logf("embed=1 in a 480x600 frame: the document is %d px tall", eval[int](t, tb, frame+`.documentElement.scrollHeight`))
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	write("embed-480", buf)
	tb = newTab(t, 1000, 800)
	tb.do(t, chromedp.Navigate(s.URL+"/static/embed-example.html"))
	eval[bool](t, tb, `(document.querySelector("figure").scrollIntoView({block: "center"}), true)`)
	waitFor[bool](t, tb, `document.querySelector("figure iframe").contentDocument?.getElementById("model-status")?.dataset.state === "ready"`, time.Minute)
	time.Sleep(time.Second)
	if buf, err = chromedp.Run(tb.ctx, chromedp.CaptureScreenshot()); err != nil {
		t.Fatal(err)
	}
	write("embed-example", buf)
}

//go:build e2e

package e2e

import (
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// The page runs worker.wasm (SIMD128 kernels) where WebAssembly SIMD
// validates, and worker-scalar.wasm where it does not: old Safari, played
// here by a WebAssembly.validate that refuses everything, which only the
// page's SIMD probe calls. Both give the pixels of chrysalis sample.
func TestSIMDAndScalarWorkers(t *testing.T) {
	want := cliSample(t, modelDir, "-variant", "fp16", "-scheduler", "ddim", "-steps", "4", "-seed", "5", "-batch", "2")
	for _, c := range []struct {
		name, fetched, unused, script string
	}{
		{"simd", "/static/worker.wasm", "/static/worker-scalar.wasm", ""},
		{"scalar", "/static/worker-scalar.wasm", "/static/worker.wasm", `WebAssembly.validate = () => false;`},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := serve(t, nil)
			tb := newTab(t, 1280, 900)
			if c.script != "" {
				_, err := chromedp.Call(tb.ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: c.script})
				if err != nil {
					t.Fatal(err)
				}
			}
			tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=4&batch=2&seed=5")
			tb.waitModel(t)
			tb.runToEnd(t, 2*time.Minute)
			if diff := pixelDiff(tb.downloadPNG(t), want); diff != "" {
				t.Errorf("the %s worker's run differs from chrysalis sample: %s", c.name, diff)
			}
			// The service worker keeps a copy of the page's pick too (sw.js).
			if s.count(c.fetched) < 1 || s.count(c.unused) != 0 {
				t.Errorf("fetched %s %d times and %s %d times, want it and never the other",
					c.fetched, s.count(c.fetched), c.unused, s.count(c.unused))
			}
			tb.checkLog(t)
		})
	}
}

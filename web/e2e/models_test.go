//go:build e2e

package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"chrysalis/web/weights"
)

// Every model of static/models/index.json, picked in the Model menu of a page
// served below a path (course notes are often hosted at /notes/..., not at a
// site's root), gives the pixels of chrysalis sample with the same settings.
func TestEveryModelBelowAPath(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(root, weights.IndexPath))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := weights.ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "/notes/chrysalis"
	s := serveAt(t, prefix, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+prefix+"/index.html?scheduler=ddim&steps=4&batch=1&seed=11")
	waitFor[bool](t, tb, `window.chrysalisViewerReady`, time.Minute)
	for _, m := range idx.Models {
		eval[bool](t, tb, fmt.Sprintf(`(s => (s.value = %q, s.dispatchEvent(new Event("change")), true))(document.getElementById("model"))`, m.Name))
		state := waitFor[string](t, tb, fmt.Sprintf(`(s => s.dataset.model === %q && s.dataset.state !== "loading" && s.dataset.state)(document.getElementById("model-status"))`, m.Name), time.Minute)
		if state != "ready" {
			t.Fatalf("model %s did not load: %s", m.Name, eval[string](t, tb, `document.querySelector("#model-error")?.textContent`))
		}
		tb.runToEnd(t, 2*time.Minute)
		tb.shot(t, "model-"+m.Name)

		// The page loads weights.WeightsFile, the fp16 variant, of every model.
		want := cliSample(t, filepath.Dir(m.Path(m.Files[0])), "-variant", "fp16",
			"-scheduler", "ddim", "-steps", "4", "-seed", "11", "-batch", "1")
		if diff := pixelDiff(tb.downloadPNG(t), want); diff != "" {
			t.Errorf("model %s: the page's PNG differs from chrysalis sample's: %s", m.Name, diff)
		}
	}
	// Once by the page, and maybe once more by the service worker (sw.js).
	if n := s.count("/static/viewer.wasm"); n < 1 || n > 2 {
		t.Errorf("the viewer's wasm was fetched %d times below %s, want once or twice", n, prefix)
	}
	tb.checkLog(t)
}

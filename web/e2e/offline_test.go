//go:build e2e

package e2e

import (
	"bytes"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// After one visit the demo works offline: with the server gone, a reload
// shows the page from the service worker's copies, the weights come from the
// page's Cache API, and a run gives chrysalis sample's pixels. Online, a
// changed file reaches the page at once (the worker asks the network first):
// here a model's title in index.json, as a new deploy would change it.
func TestOffline(t *testing.T) {
	index, err := os.ReadFile(filepath.Join(root, "static", "models", "index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var deployed atomic.Bool
	s := serve(t, map[string]http.HandlerFunc{"/static/models/index.json": func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if deployed.Load() {
			w.Write(bytes.Replace(index, []byte(`"title": "Butterflies 32×32, diffusers"`), []byte(`"title": "Butterflies 32×32, diffusers, redeployed"`), 1))
			return
		}
		w.Write(index)
	}})
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=3&batch=2&seed=9")
	tb.waitModel(t)
	waitFor[bool](t, tb, `navigator.serviceWorker.controller !== null`, 30*time.Second)
	title := `document.querySelector("#model option[value='butterflies-32']").textContent`

	deployed.Store(true)
	tb.do(t, chromedp.Reload())
	tb.waitModel(t)
	if got := eval[string](t, tb, title); got != "Butterflies 32×32, diffusers, redeployed" {
		t.Errorf("after a new deploy the model menu says %q: the page got a stale index.json", got)
	}

	s.Close()
	tb.do(t, chromedp.Reload())
	tb.waitModel(t)
	tb.runToEnd(t, 2*time.Minute)
	want := cliSample(t, modelDir, "-variant", "fp16", "-scheduler", "ddim", "-steps", "3", "-seed", "9", "-batch", "2")
	if diff := pixelDiff(tb.downloadPNG(t), want); diff != "" {
		t.Errorf("the offline run differs from chrysalis sample: %s", diff)
	}
	tb.shot(t, "offline")
	tb.checkLog(t)
}

//go:build e2e

package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Stop mid-run, then Run again to completion: late frames of the stopped run
// are ignored, and the new run's pixels are those of an uninterrupted run.
// Changing a control during a run stops it too. The first run starts by
// itself (autorun=1). The runs take 100 steps so that they are still going
// when the test stops them: 8 steps of 2 images take 0.4 s now.
func TestStopAndRunAgain(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=100&batch=2&seed=3&autorun=1") // autorun starts the first run
	waitFor[bool](t, tb, `+document.getElementById("progress").getAttribute("value") >= 1`, 2*time.Minute)
	tb.do(t, chromedp.Click(chromedp.ID("run"))) // the same button reads Stop now
	st := tb.status(t)
	if st.Phase != "stopped" {
		t.Fatalf("after Stop the run is %s", st.Phase)
	}
	if label := eval[string](t, tb, `document.getElementById("run").textContent`); label != "Run" {
		t.Errorf("the button reads %q after Stop", label)
	}
	time.Sleep(2 * time.Second) // the workers may still post frames of the old run
	if later := tb.status(t); later.Frames != st.Frames || later.Phase != "stopped" {
		t.Errorf("frames of the stopped run were counted: %d then %d (%s)", st.Frames, later.Frames, later.Phase)
	}
	if st.Frames >= st.Total {
		t.Errorf("Stop came after the last frame (%d of %d): the test did not stop mid-run", st.Frames, st.Total)
	}
	tb.shot(t, "stopped")

	done := tb.runToEnd(t, 2*time.Minute)
	if done.Frames != done.Total || done.Total != 200 {
		t.Errorf("the second run got %d of %d frames, want 200", done.Frames, done.Total)
	}
	want := cliSample(t, modelDir, "-variant", "fp16", "-scheduler", "ddim", "-steps", "100", "-seed", "3", "-batch", "2")
	if diff := pixelDiff(tb.downloadPNG(t), want); diff != "" {
		t.Errorf("the run after a Stop differs from chrysalis sample: %s", diff)
	}

	// Typing into a field during a run is not undone by the frames' renders,
	// and committing the new seed (the focus leaves the field) stops the run.
	tb.do(t, chromedp.Click(chromedp.ID("run")))
	waitFor[bool](t, tb, `document.getElementById("status").dataset.phase === "running"`, 10*time.Second)
	tb.do(t, chromedp.Focus(chromedp.ID("seed")))
	eval[bool](t, tb, `(document.getElementById("seed").select(), true)`)
	tb.do(t, chromedp.KeyEvent("123"))
	frames := tb.status(t).Frames
	waitFor[bool](t, tb, fmt.Sprintf(`+document.getElementById("progress").getAttribute("value") > %d`, frames), time.Minute)
	if v := eval[string](t, tb, `document.getElementById("seed").value`); v != "123" {
		t.Errorf("the seed being typed reads %q after a frame, want 123", v)
	}
	tb.do(t, chromedp.Click(chromedp.ID("random-seed")))
	waitFor[bool](t, tb, `document.getElementById("status").dataset.phase === "stopped"`, 10*time.Second)
	if note := eval[string](t, tb, `document.getElementById("status").textContent`); !strings.Contains(note, "settings changed") {
		t.Errorf("status after a change during a run: %q", note)
	}
	tb.checkLog(t)
}

// A corrupt, truncated or missing weights file, or a config the UNet cannot
// take, gives a readable error in the page, and the controls stay usable.
func TestBrokenModelFiles(t *testing.T) {
	weightsPath := "/" + modelDir + "/diffusion_pytorch_model.fp16.safetensors"
	weights, err := os.ReadFile(filepath.Join(root, modelDir, filepath.Base(weightsPath)))
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(root, modelDir, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	corrupt := bytes.Clone(weights)
	corrupt[len(corrupt)/2] ^= 0xff
	badConfig := bytes.Replace(config, []byte(`"act_fn": "silu"`), []byte(`"act_fn": "gelu"`), 1)
	if bytes.Equal(badConfig, config) {
		t.Fatal(`config.json has no "act_fn": "silu" to break`)
	}

	bytesHandler := func(b []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { w.Write(b) }
	}
	tb := newTab(t, 1280, 900)
	for _, tc := range []struct {
		name     string
		override map[string]http.HandlerFunc
		want     string
		allow    []string // console errors that the browser itself logs
	}{
		{"corrupt-weights", map[string]http.HandlerFunc{weightsPath: bytesHandler(corrupt)},
			"diffusion_pytorch_model.fp16.safetensors: SHA-256", nil},
		{"truncated-weights", map[string]http.HandlerFunc{weightsPath: bytesHandler(weights[:len(weights)/2])},
			"diffusion_pytorch_model.fp16.safetensors: got 4665347 bytes, models/index.json says 9330694", nil},
		{"missing-weights", map[string]http.HandlerFunc{weightsPath: http.NotFound},
			"HTTP 404", []string{"404"}},
		{"bad-config", map[string]http.HandlerFunc{
			"/" + modelDir + "/config.json": bytesHandler(badConfig),
			"/static/models/index.json":     bytesHandler(indexWith(t, "config.json", badConfig)),
		}, `config.json: unet: config key "act_fn"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tb.console, tb.dialogs = nil, nil
			s := serve(t, tc.override)
			tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=5&batch=1")
			msg := waitFor[string](t, tb, `document.getElementById("model-error")?.textContent`, time.Minute)
			t.Logf("the page says: %s", msg)
			if !strings.Contains(msg, tc.want) {
				t.Errorf("error %q lacks %q", msg, tc.want)
			}
			tb.shot(t, "error-"+tc.name)
			// The controls still work: a change reaches the URL, Run retries the load.
			tb.do(t, chromedp.SetValue(chromedp.ID("scheduler"), "euler"))
			eval[bool](t, tb, `document.getElementById("scheduler").dispatchEvent(new Event("change"))`)
			waitFor[bool](t, tb, `location.search.includes("scheduler=euler")`, 5*time.Second)
			tb.do(t, chromedp.Click(chromedp.ID("run")))
			waitFor[string](t, tb, `document.getElementById("model-error")?.textContent`, time.Minute)
			if off := eval[bool](t, tb, `[...document.querySelectorAll("#controls input, #controls select, #controls button")].some((e) => e.disabled && e.id !== "eta")`); off {
				t.Error("a control is disabled after the error")
			}
			tb.checkLog(t, tc.allow...)
		})
	}
}

// indexWith is static/models/index.json with one file of the default model
// replaced by data (its size and hash).
func indexWith(t testing.TB, name string, data []byte) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(root, "static/models/index.json"))
	if err != nil {
		t.Fatal(err)
	}
	var idx map[string][]map[string]any
	if err := json.Unmarshal(raw, &idx); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	for _, f := range idx["models"][0]["files"].([]any) {
		if f := f.(map[string]any); f["name"] == name {
			f["size"], f["sha256"] = len(data), hex.EncodeToString(sum[:])
		}
	}
	out, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

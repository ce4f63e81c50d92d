//go:build e2e

package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// After a run, "Download GIF" gives the run's animation, every step's x_t
// beside x̂₀: byte for byte what `chrysalis sample -gif -scale 2` writes for
// the same settings, so the GIF's frames are the run's frames.
func TestDownloadGIF(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?scheduler=dpm%2B%2B2m&steps=6&batch=3&seed=21")
	tb.waitModel(t)
	if disabled := eval[string](t, tb, `document.getElementById("download-gif").getAttribute("aria-disabled")`); disabled != "true" {
		t.Errorf("Download GIF before any run: aria-disabled %q", disabled)
	}
	tb.runToEnd(t, 2*time.Minute)
	waitFor[bool](t, tb, `document.getElementById("download-gif").href.startsWith("blob:")`, 30*time.Second)
	got := tb.linkBytes(t, "download-gif")
	if name := eval[string](t, tb, `document.getElementById("download-gif").download`); name != "chrysalis-butterflies-32-go-dpm++2m-6steps-seed21.gif" {
		t.Errorf("the GIF is named %q", name)
	}

	path := filepath.Join(t.TempDir(), "run.gif")
	chrysalis(t, "sample", "-model", filepath.Join(root, modelDir), "-variant", "fp16", "-scheduler", "dpm++2m", "-steps", "6",
		"-batch", "3", "-seed", "21", "-scale", "2", "-out", "", "-gif", path)
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("the page's GIF (%d bytes) differs from chrysalis sample -gif's (%d bytes)", len(got), len(want))
	}
	tb.checkLog(t)
}

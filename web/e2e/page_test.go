//go:build e2e

package e2e

import (
	"bytes"
	"fmt"
	"image"
	"image/png"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// A run of DDIM with 10 steps at batch 2 shows images in the viewer, and its
// PNG has exactly the pixels of `chrysalis sample` with the same settings on
// the same F16 weights, on two workers and on one. A reload takes the
// weights from the Cache API.
func TestRunMatchesCLI(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=10&batch=2&seed=7")
	tb.waitModel(t)
	checkMenus(t, tb)
	// Before the run the viewer shows the noise x_T that it starts from.
	waitFor[bool](t, tb, `document.getElementById("status").dataset.phase === "idle"`, time.Second)
	time.Sleep(time.Second) // the viewer draws on its next frame
	blank := tb.viewerShot(t)
	save(t, "preview-viewer", encode(t, blank))
	if n, sd := colours(blank), lumaSD(blank); n < 500 || sd < 20 {
		t.Errorf("before the run the viewer shows no noise: %d colours, luma sd %.1f", n, sd)
	}

	st := tb.runToEnd(t, 2*time.Minute)
	if st.Frames != 20 || st.Total != 20 {
		t.Errorf("progress %d of %d frames, want 20 of 20", st.Frames, st.Total)
	}
	if st.Workers != min(2, eval[int](t, tb, "navigator.hardwareConcurrency")) {
		t.Errorf("%d workers for batch 2", st.Workers)
	}
	t.Logf("run: %.1f s on %d workers, wasm memory %v", st.ElapsedMS/1000, st.Workers, st.Memory)
	time.Sleep(500 * time.Millisecond) // the viewer draws on its next frame
	tb.shot(t, "run-ddim10-desktop")
	shown := tb.viewerShot(t)
	save(t, "run-ddim10-viewer", encode(t, shown))
	before, after := colours(blank), colours(shown)
	sd := lumaSD(shown)
	t.Logf("viewer: %d colours before the run (the noise), %d after; luma standard deviation %.1f", before, after, sd)
	if after < 500 || sd < 20 || pixelDiff(blank, shown) == "" {
		t.Errorf("the viewer looks blank, uniform or unchanged after the run: %d colours (%d before), luma sd %.1f", after, before, sd)
	}

	if got, want := eval[string](t, tb, "location.search"), "?model=butterflies-32-go&scheduler=ddim&steps=10&seed=7&batch=2&eta=0"; got != want {
		t.Errorf("the URL's query is %s, want %s", got, want)
	}

	page := tb.downloadPNG(t)
	want := cliSample(t, modelDir, "-variant", "fp16", "-scheduler", "ddim", "-steps", "10", "-seed", "7", "-batch", "2")
	if diff := pixelDiff(page, want); diff != "" {
		t.Errorf("the page's PNG differs from chrysalis sample's: %s", diff)
	}

	weights := "/" + modelDir + "/diffusion_pytorch_model.fp16.safetensors"
	if n := s.count(weights); n != 1 {
		t.Errorf("the weights were fetched %d times, want 1", n)
	}

	// One worker gives the same pixels, and a reload takes the weights from
	// the Cache API.
	if _, err := chromedp.Call(tb.ctx, emulation.SetHardwareConcurrencyOverride,
		emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: 1}); err != nil {
		t.Fatal(err)
	}
	tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=10&batch=2&seed=7")
	tb.waitModel(t)
	if n := s.count(weights); n != 1 {
		t.Errorf("after a reload the weights were fetched %d times in all, want 1 (from the Cache API)", n)
	}
	if st := tb.runToEnd(t, 2*time.Minute); st.Workers != 1 {
		t.Errorf("%d workers with hardwareConcurrency 1", st.Workers)
	}
	if diff := pixelDiff(tb.downloadPNG(t), want); diff != "" {
		t.Errorf("with one worker the page's PNG differs from chrysalis sample's: %s", diff)
	}
	tb.checkLog(t)
}

// Parameters are validated and clamped, the notice names each change as
// text, the URL is rewritten, and a hostile value is never HTML.
func TestURLParameters(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)

	tb.open(t, s.URL+"/index.html?steps=-5&scheduler=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E")
	notice := waitFor[string](t, tb, `document.getElementById("notice")?.textContent`, 10*time.Second)
	for _, want := range []string{
		`steps: "-5" is below the minimum 1; using 1`,
		`scheduler: "<img src=x onerror=alert(1)>" is not one of ddpm, ddim, dpm++2m, euler; using ddim`,
	} {
		if !strings.Contains(notice, want) {
			t.Errorf("the notice %q lacks %q", notice, want)
		}
	}
	if n := eval[int](t, tb, `document.querySelectorAll("img").length + document.querySelectorAll("[onerror]").length`); n != 0 {
		t.Errorf("the page has %d injected elements", n)
	}
	if got := eval[string](t, tb, `document.getElementById("steps").value + " " + document.getElementById("scheduler").value`); got != "1 ddim" {
		t.Errorf("controls show %q, want steps 1, ddim", got)
	}
	if got, want := eval[string](t, tb, "location.search"), "?model=butterflies-32-go&scheduler=ddim&steps=1&seed=42&batch=4&eta=0"; got != want {
		t.Errorf("the URL's query is %s, want %s", got, want)
	}
	tb.shot(t, "params-hostile")

	// Every parameter taken as given, in the compact layout at 480 px.
	tb.do(t, chromedp.EmulateViewport(480, 600))
	// The file server answers /index.html with a redirect to /, keeping the query.
	tb.open(t, s.URL+"/index.html?model=butterflies-32&scheduler=euler&steps=12&seed=5&batch=3&embed=1")
	tb.waitModel(t)
	if n := eval[int](t, tb, `document.querySelectorAll("#notice").length`); n != 0 {
		t.Errorf("a notice for valid parameters: %s", eval[string](t, tb, `document.getElementById("notice").textContent`))
	}
	got := eval[string](t, tb, `["model", "scheduler", "steps", "seed", "batch"].map((id) => document.getElementById(id).value).join(" ") +
		" eta-disabled=" + document.getElementById("eta").disabled + " embed=" + document.body.classList.contains("embed")`)
	if want := "butterflies-32 euler 12 5 3 eta-disabled=true embed=true"; got != want {
		t.Errorf("controls: %q, want %q", got, want)
	}
	if w := eval[int](t, tb, "document.documentElement.scrollWidth"); w > 480 {
		t.Errorf("the embed layout is %d px wide in a 480 px frame", w)
	}
	// The embed code's frame is 480 x 600: everything, "Model ready." included, fits.
	if h := eval[int](t, tb, "document.documentElement.scrollHeight"); h > 600 {
		t.Errorf("the embed layout is %d px tall in a 600 px frame", h)
	}
	if b := eval[float64](t, tb, `document.getElementById("model-status").getBoundingClientRect().bottom`); b > 600 {
		t.Errorf(`"Model ready." ends at %v px, below the 600 px frame`, b)
	}
	checkMenus(t, tb)
	tb.do(t, chromedp.Click(chromedp.ID("copy-embed")))
	code := waitFor[string](t, tb, `document.getElementById("embed-code")?.value`, 5*time.Second)
	src := s.URL + "/?model=butterflies-32&amp;scheduler=euler&amp;steps=12&amp;seed=5&amp;batch=3&amp;embed=1"
	if !strings.HasPrefix(code, `<iframe src="`+src+`" width="480"`) {
		t.Errorf("embed code %q, want an iframe of %s", code, src)
	}
	tb.shot(t, "embed-480")

	// A control change is mirrored into the URL.
	tb.do(t, chromedp.SetValue(chromedp.ID("scheduler"), "dpm++2m"))
	eval[bool](t, tb, `document.getElementById("scheduler").dispatchEvent(new Event("change"))`)
	waitFor[bool](t, tb, `location.search.includes("scheduler=dpm%2B%2B2m&steps=12")`, 5*time.Second)
	tb.checkLog(t)
}

// viewerShot screenshots the viewer iframe.
func (tb *tab) viewerShot(t testing.TB) image.Image {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.Screenshot(chromedp.ID("viewer")))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func encode(t testing.TB, img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// colours counts the distinct colours of an image.
func colours(img image.Image) int {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			seen[[3]uint32{r, g, bl}] = true
		}
	}
	return len(seen)
}

// lumaSD is the standard deviation of the luma (0..255) over the image.
func lumaSD(img image.Image) float64 {
	var sum, sq, n float64
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			l := (0.299*float64(r) + 0.587*float64(g) + 0.114*float64(bl)) / 257
			sum, sq, n = sum+l, sq+l*l, n+1
		}
	}
	mean := sum / n
	return math.Sqrt(sq/n - mean*mean)
}

// pixelDiff describes how two images differ, or returns "" when their sizes
// and every RGBA value are equal.
func pixelDiff(got, want image.Image) string {
	if got.Bounds() != want.Bounds() {
		return "size " + got.Bounds().String() + ", want " + want.Bounds().String()
	}
	b := got.Bounds()
	n, first := 0, ""
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if got.At(x, y) != want.At(x, y) {
				r1, g1, b1, a1 := got.At(x, y).RGBA()
				r2, g2, b2, a2 := want.At(x, y).RGBA()
				if r1 == r2 && g1 == g2 && b1 == b2 && a1 == a2 {
					continue
				}
				if n++; first == "" {
					first = image.Pt(x, y).String()
				}
			}
		}
	}
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("%d pixels differ, the first at %s", n, first)
}

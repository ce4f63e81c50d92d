//go:build e2e

package e2e

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"chrysalis/core/checkpoint"
	"chrysalis/core/pipeline"
	"chrysalis/core/scheduler"
	"chrysalis/core/tensor"
	"chrysalis/core/train"
)

// view=forward samples the images it adds noise to (the run of the URL's
// settings), then shows x_t = √ᾱ_t·x₀ + √(1−ᾱ_t)·ε for the slider's t:
// exactly DDPMScheduler.AddNoise of the core on the same x₀ and the seed's ε,
// under the model's beta schedule and under another one picked in the menu.
func TestForwardView(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?view=forward&t=300&scheduler=ddim&steps=5&batch=2&seed=11")
	waitFor[bool](t, tb, `document.getElementById("forward-numbers")?.dataset.t === "300"`, 2*time.Minute)
	if hidden := eval[bool](t, tb, `getComputedStyle(document.querySelector(".stage")).display === "none"`); !hidden {
		t.Error("the sampling viewer shows in the forward view")
	}
	x0 := nativeSample(t, "ddim", 5, 11, 2)
	cfg, err := os.ReadFile(filepath.Join(root, modelDir, "scheduler_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	check := func(tt int, beta, configBeta string) {
		t.Helper()
		checkForward(t, tb, cfg, x0, 11, tt, beta, configBeta)
	}
	check(300, "the model's schedule", "")
	tb.shot(t, "forward")

	// The slider, as a person drags it, and the URL follows.
	tb.setValue(t, "forward-t", "900", "input")
	waitFor[bool](t, tb, `document.getElementById("forward-numbers").dataset.t === "900"`, 10*time.Second)
	check(900, "the model's schedule", "")
	if q := eval[string](t, tb, "location.search"); !strings.Contains(q, "view=forward&t=900") {
		t.Errorf("the URL is %s after moving the slider", q)
	}
	tb.setValue(t, "beta", "linear", "change")
	waitFor[bool](t, tb, `document.getElementById("forward-numbers").dataset.alphaBar !== undefined && document.getElementById("forward-numbers").textContent.includes("0.0")`, 10*time.Second)
	check(900, "linear", "linear")

	// The embed code is this view's, at this t.
	tb.do(t, chromedp.Click(chromedp.ID("copy-embed")))
	code := waitFor[string](t, tb, `document.getElementById("embed-code")?.value`, 10*time.Second)
	if !strings.Contains(code, "&amp;embed=1&amp;view=forward&amp;t=900") {
		t.Errorf("the forward view's embed code is %s", code)
	}

	// A person's own images, read as chrysalis train reads a folder.
	dir, paths := trainImages(t)
	tb.do(t, chromedp.SetUploadFiles(chromedp.ID("forward-files"), paths))
	waitFor[bool](t, tb, `document.getElementById("forward-x0").height === 64`, 30*time.Second)
	ds, err := train.LoadDataset(dir, 3, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	own := tensor.New(3, 3, 32, 32)
	for i, x := range ds.Images {
		copy(own.Data[i*3072:], x.Data)
	}
	checkForward(t, tb, cfg, own, 11, 900, "linear, own images", "linear")
	tb.checkLog(t)
}

// checkForward checks the forward view's x₀ and x_t canvases and numbers
// against AddNoise of the core at t, with the seed's ε, under the scheduler
// config cfg with beta_schedule configBeta ("" keeps cfg's).
func checkForward(t *testing.T, tb *tab, cfg []byte, x0 *tensor.Tensor, seed uint64, tt int, beta, configBeta string) {
	t.Helper()
	data := cfg
	if configBeta != "" {
		data = []byte(strings.Replace(string(cfg), `"squaredcos_cap_v2"`, strconv.Quote(configBeta), 1))
	}
	sched, err := scheduler.FromConfig(data, scheduler.DDPM, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	eps := tensor.New(x0.Shape...)
	pipeline.NewSeeded(seed, 0, x0.Shape[0]).Fill(eps)
	xt, err := sched.AddNoise(x0, eps, []float32{float32(tt)})
	if err != nil {
		t.Fatal(err)
	}
	if diff := pixelDiff(tb.canvas(t, "forward-xt"), grid(t, xt)); diff != "" {
		t.Errorf("t=%d %s: the page's x_t differs from AddNoise: %s", tt, beta, diff)
	}
	if diff := pixelDiff(tb.canvas(t, "forward-x0"), grid(t, x0)); diff != "" {
		t.Errorf("t=%d %s: the page's x₀ differs: %s", tt, beta, diff)
	}
	ab := sched.AlphasCumprod()[tt]
	text := eval[string](t, tb, `document.getElementById("forward-numbers").textContent`)
	if want := fmt.Sprintf("√ᾱ_t = %.4f, √(1−ᾱ_t) = %.4f", math.Sqrt(float64(ab)), math.Sqrt(float64(1-ab))); !strings.Contains(text, want) {
		t.Errorf("t=%d %s: the numbers read %q, want %q", tt, beta, text, want)
	}
}

// view=compare runs each sampler of the URL's list on the same seed, one
// after another: each row is the pixels of `chrysalis sample` with that
// scheduler and step count, with its step count and time.
func TestCompareView(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?view=compare&compare=ddpm:12,ddim:4,euler:3&batch=2&seed=5")
	tb.waitModel(t)
	tb.do(t, chromedp.Click(chromedp.ID("compare-run")))
	waitFor[bool](t, tb, `document.getElementById("compare-status").dataset.phase === "done"`, 3*time.Minute)
	for k, c := range []struct {
		scheduler string
		steps     int
	}{{"ddpm", 12}, {"ddim", 4}, {"euler", 3}} {
		want := strip(t, nativeSample(t, c.scheduler, c.steps, 5, 2))
		if diff := pixelDiff(tb.canvas(t, fmt.Sprintf("compare-%d", k)), want); diff != "" {
			t.Errorf("row %d (%s %d): differs from the core's samples: %s", k, c.scheduler, c.steps, diff)
		}
		caption := eval[string](t, tb, fmt.Sprintf(`document.getElementById("compare-%d").parentElement.querySelector("figcaption").textContent`, k))
		if want := fmt.Sprintf("%d steps · %d UNet calls per image · ", c.steps, c.steps); !strings.Contains(caption, want) || !strings.HasSuffix(caption, " s") {
			t.Errorf("row %d reads %q, want it to give %q and the seconds", k, caption, want)
		}
	}
	tb.shot(t, "compare")
	tb.checkLog(t)
}

// trainImages writes three small PNGs (one half transparent, none the
// model's size) into a new folder.
func trainImages(t testing.TB) (dir string, paths []string) {
	t.Helper()
	dir = t.TempDir()
	for i, c := range []color.NRGBA{{200, 40, 40, 255}, {30, 90, 200, 255}, {240, 200, 30, 128}} {
		img := image.NewNRGBA(image.Rect(0, 0, 40, 36)) // resized to 32×32, over white
		for y := range 36 {
			for x := range 40 {
				if (x-20)*(x-20)+(y-18)*(y-18) < 120+40*i {
					img.SetNRGBA(x, y, c)
				}
			}
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("img%d.png", 2-i)), buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	paths, _ = filepath.Glob(filepath.Join(dir, "*.png"))
	return dir, paths
}

// nativeSample is the core's sampling of the shipped default model (the
// page's fp16 weights), images 0..batch-1 of seed.
func nativeSample(t testing.TB, sched string, steps int, seed uint64, batch int) *tensor.Tensor {
	t.Helper()
	ck, err := checkpoint.LoadDir(filepath.Join(root, modelDir), checkpoint.Variant("fp16"))
	if err != nil {
		t.Fatal(err)
	}
	class, err := scheduler.ClassFor(sched)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scheduler.FromConfig(ck.SchedulerConfig, class, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := (&pipeline.Pipeline{UNet: ck.UNet, Scheduler: sc}).Sample(t.Context(), pipeline.Options{Steps: steps, Seed: seed, Batch: batch})
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func grid(t testing.TB, x *tensor.Tensor) image.Image {
	t.Helper()
	imgs, err := pipeline.Images(x)
	if err != nil {
		t.Fatal(err)
	}
	g, err := pipeline.Grid(imgs)
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// strip lays images x out in one row.
func strip(t testing.TB, x *tensor.Tensor) image.Image {
	t.Helper()
	imgs, err := pipeline.Images(x)
	if err != nil {
		t.Fatal(err)
	}
	w, h := imgs[0].Rect.Dx(), imgs[0].Rect.Dy()
	out := image.NewNRGBA(image.Rect(0, 0, w*len(imgs), h))
	for i, img := range imgs {
		for y := range h {
			copy(out.Pix[y*out.Stride+4*w*i:], img.Pix[y*img.Stride:y*img.Stride+4*w])
		}
	}
	return out
}

// setValue sets the value of the control with id and fires event on it, as
// a person's input does.
func (tb *tab) setValue(t testing.TB, id, value, event string) {
	t.Helper()
	eval[bool](t, tb, fmt.Sprintf(`(() => { const el = document.getElementById(%q); el.value = %q;
		el.dispatchEvent(new Event(%q, {bubbles: true})); return true; })()`, id, value, event))
}

// canvas reads the pixels of the canvas with id, at its own resolution.
func (tb *tab) canvas(t testing.TB, id string) image.Image {
	t.Helper()
	url := eval[string](t, tb, `document.getElementById("`+id+`").toDataURL("image/png")`)
	data, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(url, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("canvas %s: %v", id, err)
	}
	return img
}

// view=train fine-tunes on chosen files in worker 0: each step's loss and
// the exported weights are those of core/train's FineTune on the same images
// (read as `chrysalis train` reads a folder) with the same seed and batches,
// and the Sample view then samples from the fine-tuned weights.
func TestTrainView(t *testing.T) {
	dir, paths := trainImages(t)

	s := serve(t, nil)
	tb := newTab(t, 1280, 1000)
	tb.open(t, s.URL+"/index.html?view=train&seed=8&batch=2&steps=3")
	tb.waitModel(t)
	tb.do(t, chromedp.SetUploadFiles(chromedp.ID("train-files"), paths))
	waitFor[bool](t, tb, `document.getElementById("train-images-hint").textContent.startsWith("3 images")`, 30*time.Second)
	tb.setValue(t, "train-steps", "3", "change")
	tb.setValue(t, "train-batch", "2", "change")
	waitFor[bool](t, tb, `document.getElementById("train-run").textContent === "Train 3 steps"`, 10*time.Second)
	tb.do(t, chromedp.Click(chromedp.ID("train-run")))
	waitFor[bool](t, tb, `document.getElementById("train-status").dataset.phase === "done"`, 3*time.Minute)
	tb.shot(t, "train")
	losses := eval[string](t, tb, `document.getElementById("train-status").dataset.losses`)

	// The same session natively.
	ck, err := checkpoint.LoadDir(filepath.Join(root, modelDir), checkpoint.Variant("fp16"))
	if err != nil {
		t.Fatal(err)
	}
	data, err := train.LoadDataset(dir, 3, 32, 32)
	if err != nil {
		t.Fatal(err)
	}
	o := train.DefaultFineTuneOptions()
	o.Seed = 8
	ft, err := train.NewFineTune(ck.UNet, ck.SchedulerConfig, o)
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for step, idx := range [][]int{{0, 1}, {2, 0}, {1, 2}} {
		r, err := ft.Step([]*tensor.Tensor{data.Images[idx[0]], data.Images[idx[1]]})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, strconv.FormatFloat(r.Loss, 'g', -1, 64))
		if step == 2 {
			xt := tensor.New(2, 3, 32, 32)
			for i, st := range r.Images {
				copy(xt.Data[i*3072:], st.XT.Data)
			}
			if diff := pixelDiff(tb.canvas(t, "train-xt"), strip(t, xt)); diff != "" {
				t.Errorf("the last step's x_t differs from FineTune's: %s", diff)
			}
		}
	}
	if got := strings.Join(want, ","); losses != got {
		t.Errorf("the page's losses %s, FineTune's %s", losses, got)
	}

	tb.do(t, chromedp.Click(chromedp.ID("train-export")))
	waitFor[bool](t, tb, `document.getElementById("train-download")?.href.startsWith("blob:") ?? false`, time.Minute)
	zipped := tb.linkBytes(t, "train-download")
	zr, err := zip.NewReader(bytes.NewReader(zipped), int64(len(zipped)))
	if err != nil {
		t.Fatal(err)
	}
	files, err := ft.Files()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		if want := files[filepath.Base(f.Name)]; !bytes.Equal(got, want) {
			t.Errorf("the export's %s (%d bytes) differs from FineTune's (%d bytes)", f.Name, len(got), len(want))
		}
	}
	if len(zr.File) != len(files) {
		t.Errorf("the export has %d files, FineTune %d", len(zr.File), len(files))
	}

	// Sampling now uses the fine-tuned weights.
	tb.do(t, chromedp.Click(chromedp.ID("tab-sample")))
	waitFor[bool](t, tb, `document.getElementById("run") !== null`, 10*time.Second)
	tb.runToEnd(t, 2*time.Minute)
	sc, err := scheduler.FromConfig(ck.SchedulerConfig, scheduler.DDIM, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	x, err := (&pipeline.Pipeline{UNet: ft.Model(), Scheduler: sc}).Sample(t.Context(), pipeline.Options{Steps: 3, Seed: 8, Batch: 2})
	if err != nil {
		t.Fatal(err)
	}
	if diff := pixelDiff(tb.downloadPNG(t), grid(t, x)); diff != "" {
		t.Errorf("the run after fine-tuning differs from the fine-tuned model's samples: %s", diff)
	}
	tb.checkLog(t)
}

// Each view embeds alone (embed=1&view=…) in the notes' 480 × 600 frame
// without scrolling inside it, once it has done its work.
func TestViewsFitTheEmbed(t *testing.T) {
	s := serve(t, nil)
	for _, c := range []struct {
		view, query, ready string
	}{
		{"sample", "steps=5&autorun=1", `document.getElementById("scrub") !== null`},
		{"forward", "view=forward&t=250", `document.getElementById("forward-numbers")?.dataset.t === "250"`},
		{"compare", "view=compare&compare=ddpm:8,ddim:4,dpm%2B%2B2m:3,euler:3", `document.getElementById("compare-status").dataset.phase === "done"`},
		{"train", "view=train", `document.getElementById("train-status").dataset.step === "2"`},
	} {
		t.Run(c.view, func(t *testing.T) {
			tb := newTab(t, 480, 600)
			tb.open(t, s.URL+"/index.html?embed=1&batch=4&seed=2&"+c.query)
			tb.waitModel(t)
			switch c.view {
			case "compare":
				tb.do(t, chromedp.Click(chromedp.ID("compare-run")))
			case "train":
				_, paths := trainImages(t)
				tb.do(t, chromedp.SetUploadFiles(chromedp.ID("train-files"), paths))
				waitFor[bool](t, tb, `document.getElementById("train-images-hint").textContent.startsWith("3 images")`, 30*time.Second)
				tb.setValue(t, "train-steps", "2", "change")
				waitFor[bool](t, tb, `!document.getElementById("train-run").disabled && document.getElementById("train-run").textContent === "Train 2 steps"`, 10*time.Second)
				tb.do(t, chromedp.Click(chromedp.ID("train-run")))
			}
			waitFor[bool](t, tb, c.ready, 2*time.Minute)
			time.Sleep(300 * time.Millisecond)
			tb.shot(t, "embed-"+c.view)
			if got := eval[[]int](t, tb, `(e => [e.scrollWidth, e.scrollHeight, e.clientWidth, e.clientHeight])(document.documentElement)`); got[0] > got[2] || got[1] > got[3] {
				t.Errorf("the embedded %s view is %d × %d px in its %d × %d frame", c.view, got[0], got[1], got[2], got[3])
				t.Log(eval[string](t, tb, `[...document.querySelectorAll(".lesson > *, .load-status, .messages")].map(e => e.className + " " + e.id + ":" + Math.round(e.getBoundingClientRect().top) + "+" + Math.round(e.getBoundingClientRect().height)).join("\\n")`))
			}
			if eval[bool](t, tb, `document.querySelector(".tabs") !== null && getComputedStyle(document.querySelector(".tabs")).display !== "none"`) {
				t.Error("the embed shows the tabs")
			}
			tb.checkLog(t)
		})
	}
}

// After a run, the slider steps the viewer back through the run's own
// frames: step 3's x_t and x̂₀ of every image, as the core computes them at
// that step.
func TestScrubFinishedRun(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 1280, 900)
	tb.open(t, s.URL+"/index.html?scheduler=ddim&steps=6&batch=2&seed=4")
	tb.waitModel(t)
	if eval[bool](t, tb, `document.getElementById("scrub") !== null`) {
		t.Error("the scrub slider shows before a run")
	}
	tb.runToEnd(t, 2*time.Minute)
	eval[bool](t, tb, `(window.scrubbed = [], document.getElementById("viewer").contentWindow.addEventListener("message",
		(e) => { if (e.data.kind === "scrub") window.scrubbed.push({step: e.data.step, image: e.data.image, xt: Array.from(e.data.xt), x0: Array.from(e.data.x0)}); }), true)`)
	tb.setValue(t, "scrub", "2", "input")
	type kept struct {
		Step, Image int
		XT, X0      []float32
	}
	got := waitFor[[]kept](t, tb, `window.scrubbed.length === 2 && window.scrubbed`, 10*time.Second)
	if label := eval[string](t, tb, `document.querySelector("label[for=scrub]").textContent`); !strings.HasPrefix(label, "Step 3 of 6") {
		t.Errorf("the slider's label reads %q", label)
	}
	time.Sleep(300 * time.Millisecond)
	tb.shot(t, "scrub")

	ck, err := checkpoint.LoadDir(filepath.Join(root, modelDir), checkpoint.Variant("fp16"))
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scheduler.FromConfig(ck.SchedulerConfig, scheduler.DDIM, scheduler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var want pipeline.Frame
	_, err = (&pipeline.Pipeline{UNet: ck.UNet, Scheduler: sc}).Sample(t.Context(), pipeline.Options{Steps: 6, Seed: 4, Batch: 2,
		OnStep: func(f pipeline.Frame) {
			if f.Index == 2 {
				want = pipeline.Frame{Index: 2, Sample: f.Sample.Clone(), PredOriginal: f.PredOriginal.Clone()}
			}
		}})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range got {
		per := 3 * 32 * 32
		if k.Step != 2 || k.Image < 0 || k.Image > 1 {
			t.Fatalf("scrubbed to step %d image %d, want step 2", k.Step, k.Image)
		}
		if !slices.Equal(k.XT, want.Sample.Data[k.Image*per:(k.Image+1)*per]) || !slices.Equal(k.X0, want.PredOriginal.Data[k.Image*per:(k.Image+1)*per]) {
			t.Errorf("image %d: the scrubbed frame differs from the core's step 3", k.Image)
		}
	}
	tb.checkLog(t)
}

// On a phone, every view fits the screen's width.
func TestViewsOnAPhone(t *testing.T) {
	s := serve(t, nil)
	tb := newTab(t, 390, 844)
	for _, view := range []string{"forward", "compare", "train"} {
		tb.open(t, s.URL+"/index.html?view="+view)
		tb.waitModel(t)
		if view == "forward" {
			waitFor[bool](t, tb, `document.getElementById("forward-numbers")?.dataset.t === "500"`, 2*time.Minute)
		}
		time.Sleep(300 * time.Millisecond)
		tb.shot(t, "phone-"+view)
		if w := eval[int](t, tb, "document.documentElement.scrollWidth"); w > 390 {
			t.Errorf("the %s view is %d px wide on a 390 px screen", view, w)
		}
	}
	tb.checkLog(t)
}

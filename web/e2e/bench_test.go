//go:build e2e

package e2e

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// BenchmarkRunToImage times runs of the default model, DDIM 25 steps, batch
// 4, from pressing Run to the final image (the page's own measure, from the
// Run press to the last worker's done), with navigator.hardwareConcurrency
// set to 1 and to 2 so that the page starts 1 or 2 workers. It also reports
// each worker's wasm memory after the first run and after the last one, to
// show that runs do not grow it beyond the settling of the heap. make
// bench-browser runs 20 runs each.
func BenchmarkRunToImage(b *testing.B) {
	for _, workers := range []int{1, 2} {
		b.Run(fmt.Sprintf("workers=%d", workers), func(b *testing.B) {
			s := serve(b, nil)
			tb := newTab(b, 1280, 900)
			_, err := chromedp.Call(tb.ctx, emulation.SetHardwareConcurrencyOverride,
				emulation.SetHardwareConcurrencyOverrideParams{HardwareConcurrency: int64(workers)})
			if err != nil {
				b.Fatal(err)
			}
			tb.open(b, s.URL+"/index.html?scheduler=ddim&steps=25&batch=4&seed=1")
			tb.waitModel(b)
			var secs []float64
			var first, last []int64
			for i := range b.N {
				st := tb.runToEnd(b, 5*time.Minute)
				if st.Workers != workers {
					b.Fatalf("the run used %d workers, want %d", st.Workers, workers)
				}
				secs = append(secs, st.ElapsedMS/1000)
				if i == 0 {
					first = st.Memory
				}
				last = st.Memory
			}
			mean := 0.0
			for _, s := range secs {
				mean += s
			}
			mean /= float64(len(secs))
			b.ReportMetric(mean, "s/run")
			b.ReportMetric(secs[0], "s/first-run")
			b.ReportMetric(float64(slices.Max(first))/(1<<20), "MiB/worker-after-first")
			b.ReportMetric(float64(slices.Max(last))/(1<<20), "MiB/worker-after-last")
			b.Logf("%d runs: seconds %v; wasm memory per worker after the first run %v, after the last %v", len(secs), secs, first, last)
			for w := range last {
				// The heap settles within the worker's memory limit over the
				// first runs (web/engine's memoryLimit); a leak of a run's
				// packed weights or activations would add tens of MiB.
				if last[w] > first[w]+8<<20 {
					b.Errorf("worker %d's wasm memory grew from %d to %d bytes over %d runs", w, first[w], last[w], len(secs))
				}
				if last[w] >= 128<<20 {
					b.Errorf("worker %d uses %d MiB of wasm memory, over 128", w, last[w]>>20)
				}
			}
			tb.checkLog(b)
		})
	}
}

// BenchmarkFineTune times "Train 100 steps" in the train view: the default
// model fine-tuned on 3 images at batch 4 in worker 0, from the press to the
// 100th step's answer (the page's own measure).
func BenchmarkFineTune(b *testing.B) {
	s := serve(b, nil)
	tb := newTab(b, 1280, 900)
	tb.open(b, s.URL+"/index.html?view=train")
	tb.waitModel(b)
	_, paths := trainImages(b)
	tb.do(b, chromedp.SetUploadFiles(chromedp.ID("train-files"), paths))
	waitFor[bool](b, tb, `document.getElementById("train-images-hint").textContent.startsWith("3 images")`, 30*time.Second)
	var secs []float64
	for i := range b.N {
		tb.do(b, chromedp.Click(chromedp.ID("train-run")))
		waitFor[bool](b, tb, fmt.Sprintf(`document.getElementById("train-status").dataset.step === "%d" && document.getElementById("train-status").dataset.phase === "done"`, 100*(i+1)), 20*time.Minute)
		secs = append(secs, eval[float64](b, tb, `+document.getElementById("train-status").dataset.elapsedMs`)/1000)
	}
	b.ReportMetric(slices.Max(secs), "s/100-steps-max")
	b.ReportMetric(100/secs[len(secs)-1], "steps/s")
	b.Logf("100 steps at batch 4: seconds %v", secs)
	tb.checkLog(b)
}

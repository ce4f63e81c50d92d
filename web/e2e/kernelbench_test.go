//go:build e2e

package e2e

import (
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// kernelsPage runs the wasm test binary of core/tensor with its argument
// list, and logs "exit N" when the binary exits.
const kernelsPage = `<!doctype html>
<title>core/tensor benchmarks</title>
<link rel="icon" href="data:,">
<script src="/static/wasm_exec.js"></script>
<script>
const go = new Go();
go.argv = ["tensor.test", "-test.run=^$", "-test.bench=^Benchmark(Gemm|Conv)$", "-test.benchtime=500ms"];
go.exit = code => console.log("exit " + code);
WebAssembly.instantiateStreaming(fetch("/tensor.test.wasm"), go.importObject)
	.then(r => go.run(r.instance))
	.catch(e => console.error("tensor.test.wasm: " + e));
</script>`

// BenchmarkKernelsInChromium runs core/tensor's BenchmarkGemm and
// BenchmarkConv, compiled to WebAssembly with the SIMD kernels as the
// worker is, on a Chromium page's one thread, and logs their lines: the
// per-core GFLOP/s of the browser's GEMM (square sizes) and of the UNet's
// 3x3 convolutions (direct-convolution FLOPs, so Winograd's shapes count
// the work it avoids). make bench-browser runs it once.
func BenchmarkKernelsInChromium(b *testing.B) {
	bin := filepath.Join(b.TempDir(), "tensor.test.wasm")
	cmd := exec.Command("go", "test", "-c", "-o", bin, "./core/tensor")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("building core/tensor's wasm test binary: %v\n%s", err, out)
	}
	s := serve(b, map[string]http.HandlerFunc{
		"/kernels.html": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Write([]byte(kernelsPage))
		},
		"/tensor.test.wasm": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/wasm")
			http.ServeFile(w, r, bin)
		},
	})
	tb := newTab(b, 800, 600)
	for range b.N {
		tb.mu.Lock()
		tb.console = nil
		tb.mu.Unlock()
		tb.do(b, chromedp.Navigate(s.URL+"/kernels.html"))
		var lines []string
		deadline := time.Now().Add(10 * time.Minute)
		for exit := ""; exit == ""; {
			if time.Now().After(deadline) {
				b.Fatalf("the benchmarks did not finish in 10 minutes; output so far:\n%s", strings.Join(lines, "\n"))
			}
			time.Sleep(time.Second)
			lines = lines[:0]
			failed := false
			tb.mu.Lock()
			// What follows the exit is not the binary's: a timer of its
			// runtime may still fire into wasm_exec.js, which throws "Go
			// program has already exited".
			for _, m := range tb.console {
				failed = failed || m.Type == chromedp.ConsoleError || m.IsException()
				lines = append(lines, m.Text)
				if strings.HasPrefix(m.Text, "exit ") {
					exit = m.Text
					break
				}
			}
			tb.mu.Unlock()
			if failed {
				b.Fatalf("the page logged an error:\n%s", strings.Join(lines, "\n"))
			}
		}
		for _, l := range lines {
			if strings.HasPrefix(l, "Benchmark") || strings.HasPrefix(l, "goos") || strings.HasPrefix(l, "cpu") {
				b.Log(l)
			}
		}
		if lines[len(lines)-1] != "exit 0" || !strings.Contains(strings.Join(lines, "\n"), "PASS") {
			b.Fatalf("the benchmarks failed:\n%s", strings.Join(lines, "\n"))
		}
	}
}

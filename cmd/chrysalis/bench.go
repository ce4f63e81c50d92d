package main

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	"chrysalis/core/checkpoint"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
	"chrysalis/core/unet/unettest"
)

const benchHelp = `usage: chrysalis bench

Prints GEMM GFLOP/s (C = A·B, float32) at 256³ and at the convolution shapes of
the HF course's Unit 1 UNet (im2col: m = out channels, n = pixels, k = 9 · in
channels), single-threaded and on all cores, and milliseconds per UNet forward
pass at batch 1 and 4 with the effective GFLOP/s (2 · MACs / time), of the
model from Inference that sampling runs, for:
  course         the course's UNet2DModel (64,128,128,256), 32x32, config and
                 formula weights from core/golden/testdata/diffusers/unet_course
  butterflies-32 the shipped models' config, with the weights of static/models/butterflies-32
Each figure is the fastest of repeated calls, which a busy machine disturbs
least. Paths are relative to the repository root, found by walking up to go.mod.
It takes about a minute natively; run it in wasm with
  GOOS=js GOARCH=wasm go build -o bin/chrysalis.wasm ./cmd/chrysalis
  $(go env GOROOT)/lib/wasm/go_js_wasm_exec bin/chrysalis.wasm bench
`

// gemmShapes are the benchmarked GEMMs.
var gemmShapes = []struct {
	m, n, k int
	what    string
}{
	{256, 256, 256, "256³"},
	{64, 1024, 576, "conv3x3 64→64 at 32x32"},
	{64, 1024, 1728, "conv3x3 192→64 at 32x32 (up block)"},
	{128, 256, 1152, "conv3x3 128→128 at 16x16"},
	{128, 64, 1152, "conv3x3 128→128 at 8x8"},
	{256, 16, 2304, "conv3x3 256→256 at 4x4"},
}

func runBench(args []string, e env) error {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	if err := parseFlags(fs, args, benchHelp, e); err != nil {
		return err
	}
	root, err := repoRoot()
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	w := e.stdout
	kernels := "scalar kernels"
	if tensor.SIMD() {
		kernels = "SIMD kernels"
	}
	fmt.Fprintf(w, "chrysalis bench: %s/%s, %d CPUs, %s, %s, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), buildLevel(), runtime.Version(), kernels)

	threads := []int{1}
	if n := runtime.NumCPU(); n > 1 {
		threads = append(threads, n)
	}
	fmt.Fprintf(w, "%-6s %-6s %-6s %-38s", "m", "n", "k", "GEMM C = A·B (float32)")
	for _, t := range threads {
		fmt.Fprintf(w, " %9s", fmt.Sprintf("%d thr", t))
	}
	fmt.Fprintln(w, "  (GFLOP/s, best call)")
	// Warm-up, untimed: V8 moves wasm code to its optimising tier only after
	// it has run hot for a while (about 1.5x faster afterwards).
	for _, s := range gemmShapes {
		benchGemm(s.m, s.n, s.k, 1, time.Second)
	}
	for _, s := range gemmShapes {
		fmt.Fprintf(w, "%-6d %-6d %-6d %-38s", s.m, s.n, s.k, s.what)
		for _, t := range threads {
			fmt.Fprintf(w, " %9.2f", benchGemm(s.m, s.n, s.k, t, 300*time.Millisecond))
		}
		fmt.Fprintln(w)
	}

	course, err := courseModel(root)
	if err != nil {
		return fmt.Errorf("bench: %w", err)
	}
	models := []struct {
		name string
		m    *unet.Model
	}{{"course (64,128,128,256)", course}}
	ck, err := checkpoint.LoadDir(filepath.Join(root, "static", "models", "butterflies-32"))
	if err != nil {
		return fmt.Errorf("bench: butterflies-32: %w", err)
	}
	models = append(models, struct {
		name string
		m    *unet.Model
	}{"butterflies-32 (32,64,64,128)", ck.UNet})

	fmt.Fprintf(w, "\n%-30s %9s %6s %11s %10s %9s   (best pass, %d thr)\n", "UNet forward", "GFLOP/img", "batch", "ms/forward", "ms/image", "GFLOP/s", runtime.GOMAXPROCS(0))
	for _, md := range models {
		flop := 2 * float64(md.m.MACs())
		for _, b := range []int{1, 4} {
			ms, err := benchForward(md.m, b, time.Second)
			if err != nil {
				return fmt.Errorf("bench: %s: %w", md.name, err)
			}
			fmt.Fprintf(w, "%-30s %9.3f %6d %11.1f %10.1f %9.2f\n", md.name, flop/1e9, b, ms, ms/float64(b), flop*float64(b)/(ms*1e6))
		}
	}
	return nil
}

// benchGemm times tensor.Gemm on fixed m×k and k×n matrices with GOMAXPROCS
// set to threads, one call at a time for at least d after a warm-up call,
// and returns the GFLOP/s (2mnk per call) of the fastest call: on a shared
// machine the best call is the one least disturbed by other processes.
func benchGemm(m, n, k, threads int, d time.Duration) float64 {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(threads))
	a, b, c := make([]float32, m*k), make([]float32, k*n), make([]float32, m*n)
	for i := range a {
		a[i] = float32(math.Sin(float64(i)))
	}
	for i := range b {
		b[i] = float32(math.Cos(float64(i)))
	}
	tensor.Gemm(m, n, k, a, k, b, n, c, n)
	best := time.Duration(math.MaxInt64)
	for calls, start := 0, time.Now(); calls < 3 || time.Since(start) < d; calls++ {
		t := time.Now()
		tensor.Gemm(m, n, k, a, k, b, n, c, n)
		best = min(best, time.Since(t))
	}
	return 2 * float64(m*n*k) / best.Seconds() / 1e9
}

// benchForward times forward passes of m.Inference(), as sampling runs it,
// on a batch at t=500 of a fixed input, one at a time for at least d after a
// warm-up pass (which packs the weights) and at least 3, and returns the
// milliseconds of the fastest.
func benchForward(m *unet.Model, batch int, d time.Duration) (float64, error) {
	m = m.Inference()
	h, w := m.Config.SampleSize[0], m.Config.SampleSize[1]
	x := tensor.New(batch, m.Config.InChannels, h, w)
	for i := range x.Data {
		x.Data[i] = float32(math.Sin(0.37 * float64(i)))
	}
	ts := []float32{500}
	if _, err := m.Forward(x, ts); err != nil {
		return 0, err
	}
	best := time.Duration(math.MaxInt64)
	for calls, start := 0, time.Now(); calls < 3 || time.Since(start) < d; calls++ {
		t := time.Now()
		if _, err := m.Forward(x, ts); err != nil {
			return 0, err
		}
		best = min(best, time.Since(t))
	}
	return best.Seconds() * 1000, nil
}

// courseModel builds the course's Unit 1 UNet from its config and the
// formula weights of the reference README: for the tensor with sorted index
// k, w[i] = float32(0.02·sin(0.1·i + 1.7·k)), plus 1 for GroupNorm weights.
func courseModel(root string) (*unet.Model, error) {
	dir := filepath.Join(root, "core", "golden", "testdata", "diffusers", "unet_course")
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		return nil, fmt.Errorf("course model: %w", err)
	}
	cfg, err := unet.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("course model: %w", err)
	}
	f, err := os.Open(filepath.Join(dir, "keys.txt"))
	if err != nil {
		return nil, fmt.Errorf("course model: %w", err)
	}
	defer f.Close()
	weights, _, err := unettest.CourseWeights(f)
	if err != nil {
		return nil, fmt.Errorf("course model: %w", err)
	}
	return unet.New(cfg, weights)
}

// repoRoot walks up from the working directory to the folder holding go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory: run bench inside the repository")
		}
		dir = parent
	}
}

// buildLevel names the amd64 micro-architecture level the binary was built
// for (GOAMD64), or the architecture.
func buildLevel() string {
	if info, ok := debug.ReadBuildInfo(); ok {
		for _, s := range info.Settings {
			if s.Key == "GOAMD64" {
				return "GOAMD64=" + s.Value
			}
		}
	}
	return "GOARCH=" + runtime.GOARCH
}

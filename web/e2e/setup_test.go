//go:build e2e

package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// What TestMain prepares.
var (
	root     string // the repository root
	built    string // app.wasm, worker.wasm, worker-scalar.wasm, viewer.wasm, wasm_exec.js and the chrysalis CLI
	chromium string // the browser, "" when there is none
	shots    string // out/screenshots
)

// modelDir is the shipped default model that the page fetches.
const modelDir = "static/models/butterflies-32-go"

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	var err error
	if root, err = repoRoot(); err != nil {
		return 0, err
	}
	if built, err = os.MkdirTemp("", "chrysalis-e2e-"); err != nil {
		return 0, err
	}
	defer os.RemoveAll(built)
	if err := build(); err != nil {
		return 0, err
	}
	shots = filepath.Join(root, "out", "screenshots")
	if err := os.MkdirAll(shots, 0o755); err != nil {
		return 0, err
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			chromium = p
			break
		}
	}
	return m.Run(), nil
}

// build makes the four wasm files the way `make wasm` does, copies Go's
// wasm_exec.js beside them, and builds the CLI.
func build() error {
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return fmt.Errorf("go env GOROOT: %w", err)
	}
	steps := []struct {
		out, pkg   string
		wasm, simd bool
	}{
		{"app.wasm", "./wasm/app", true, false},
		{"worker.wasm", "./wasm/worker", true, true},
		{"worker-scalar.wasm", "./wasm/worker", true, false},
		{"viewer.wasm", "./wasm/viewer", true, false},
		{"chrysalis", "./cmd/chrysalis", false, true},
	}
	for _, s := range steps {
		cmd := exec.Command("go", "build", "-o", filepath.Join(built, s.out), s.pkg)
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "GOEXPERIMENT=") // as the Makefile builds them
		if s.simd {
			cmd.Env = append(cmd.Env, "GOEXPERIMENT=simd")
		}
		if s.wasm {
			cmd.Env = append(cmd.Env, "GOOS=js", "GOARCH=wasm", "GOWASM=satconv,signext")
		}
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("building %s: %v\n%s", s.pkg, err, out)
		}
	}
	js, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(built, "wasm_exec.js"), js, 0o644)
}

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
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
		dir = parent
	}
}

// site serves the repository like cmd/serve, with the freshly built wasm
// files, and counts the requests for each path. Handlers in override replace
// single paths (a corrupt weights file, say).
type site struct {
	*httptest.Server
	mu   sync.Mutex
	hits map[string]int
}

func serve(t testing.TB, override map[string]http.HandlerFunc) *site {
	t.Helper()
	return serveAt(t, "", override)
}

// serveAt is serve with the site under prefix ("/notes/demo", say), as course
// notes host it; every other path is not found. Paths in override and in the
// hit counts are those below prefix.
func serveAt(t testing.TB, prefix string, override map[string]http.HandlerFunc) *site {
	t.Helper()
	s := &site{hits: map[string]int{}}
	files := http.FileServer(http.Dir(root))
	builtFiles := http.FileServer(http.Dir(built))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		path, ok := strings.CutPrefix(r.URL.Path, prefix)
		if !ok || !strings.HasPrefix(path, "/") {
			http.NotFound(w, r)
			return
		}
		r.URL.Path = path
		s.mu.Lock()
		s.hits[r.URL.Path]++
		s.mu.Unlock()
		w.Header().Set("Cache-Control", "no-cache")
		if h, ok := override[r.URL.Path]; ok {
			h(w, r)
			return
		}
		switch r.URL.Path {
		case "/static/app.wasm", "/static/worker.wasm", "/static/worker-scalar.wasm", "/static/viewer.wasm", "/static/wasm_exec.js":
			r.URL.Path = strings.TrimPrefix(r.URL.Path, "/static")
			builtFiles.ServeHTTP(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *site) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[path]
}

// tab is one browser tab and what its pages logged.
type tab struct {
	ctx     context.Context
	mu      sync.Mutex
	console []chromedp.ConsoleMessage
	dialogs []string
}

// newTab starts a fresh headless Chromium (its own profile) with a window of
// width x height, and records console messages and dialogs from then on.
func newTab(t testing.TB, width, height int) *tab {
	t.Helper()
	if chromium == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed: the browser end-to-end test needs it (Debian: apt-get install chromium)")
		}
		t.Skip("chromium is not installed; set CI=true to make this a failure")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx); err != nil { // start the browser with no deadline
		t.Fatalf("starting %s: %v", chromium, err)
	}
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(width), int64(height))); err != nil {
		t.Fatal(err)
	}
	tb := &tab{ctx: ctx}
	console := chromedp.Console(ctx)
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.console = append(tb.console, m)
			tb.mu.Unlock()
		}
	}()
	go func() {
		for ev, err := range dialogs {
			if err != nil {
				return
			}
			tb.mu.Lock()
			tb.dialogs = append(tb.dialogs, fmt.Sprintf("%s: %s", ev.Type, ev.Message))
			tb.mu.Unlock()
			// Dismiss it, or the page would hang.
			go chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
		}
	}()
	return tb
}

// checkLog fails the test for every console error, uncaught exception or
// dialog so far, except errors whose text contains one of allow.
func (tb *tab) checkLog(t testing.TB, allow ...string) {
	t.Helper()
	time.Sleep(200 * time.Millisecond) // let the last events arrive
	tb.mu.Lock()
	defer tb.mu.Unlock()
	for _, m := range tb.console {
		if m.Type != chromedp.ConsoleError && !m.IsException() {
			continue
		}
		allowed := false
		for _, a := range allow {
			allowed = allowed || strings.Contains(m.Text, a)
		}
		if !allowed {
			t.Errorf("console %s at %s:%d: %s", m.Type, m.URL, m.Line+1, m.Text)
		}
	}
	for _, d := range tb.dialogs {
		t.Errorf("the page opened a dialog: %s", d)
	}
}

func (tb *tab) do(t testing.TB, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(tb.ctx, actions...); err != nil {
		t.Fatal(err)
	}
}

// eval evaluates a JavaScript expression; a promise is awaited.
func eval[T any](t testing.TB, tb *tab, expr string) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// waitFor polls until expr is truthy and returns its value.
func waitFor[T any](t testing.TB, tb *tab, expr string, timeout time.Duration) T {
	t.Helper()
	v, err := chromedp.Run(tb.ctx, chromedp.Poll[T](expr, chromedp.WithPollingTimeout(timeout), chromedp.WithPollingInterval(50*time.Millisecond)))
	if err != nil {
		status, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector(".app")?.innerText ?? document.body.innerText`))
		t.Fatalf("waiting for %s: %v\nthe page says:\n%s", expr, err, status)
	}
	return v
}

// open navigates to url and waits until the app has rendered.
func (tb *tab) open(t testing.TB, url string) {
	t.Helper()
	tb.do(t, chromedp.Navigate(url))
	waitFor[bool](t, tb, `document.querySelector("#model-status, #page-error") !== null`, 60*time.Second)
}

// waitModel waits until the model is ready, failing with the page's error.
func (tb *tab) waitModel(t testing.TB) {
	t.Helper()
	state := waitFor[string](t, tb, `["ready", "failed"].includes(document.querySelector("#model-status")?.dataset.state) && document.querySelector("#model-status").dataset.state`, 60*time.Second)
	if state != "ready" {
		t.Fatalf("the model did not load: %s", eval[string](t, tb, `document.querySelector("#model-error")?.textContent`))
	}
}

// runToEnd presses Run and waits for the run to finish; it returns the run's
// status attributes.
func (tb *tab) runToEnd(t testing.TB, timeout time.Duration) status {
	t.Helper()
	before := tb.status(t).Run
	tb.do(t, chromedp.Click(chromedp.ID("run")))
	waitFor[bool](t, tb, fmt.Sprintf(`(s => s.dataset.run > %d && s.dataset.phase !== "running")(document.getElementById("status"))`, before), timeout)
	st := tb.status(t)
	if st.Phase != "done" {
		t.Fatalf("run %d ended %s: %s", st.Run, st.Phase, eval[string](t, tb, `document.querySelector(".run-status").innerText`))
	}
	waitFor[bool](t, tb, `document.getElementById("download").hasAttribute("href")`, 10*time.Second)
	return st
}

// status is what #status says about the latest run.
type status struct {
	Phase     string  `json:"phase"`
	Run       int     `json:"run"`
	ElapsedMS float64 `json:"elapsedMs"`
	Workers   int     `json:"workers"`
	Memory    []int64 `json:"memory"`
	Frames    int     `json:"frames"`
	Total     int     `json:"total"`
}

func (tb *tab) status(t testing.TB) status {
	t.Helper()
	return eval[status](t, tb, `(() => {
		const s = document.getElementById("status"), p = document.getElementById("progress");
		return {phase: s.dataset.phase, run: +s.dataset.run, elapsedMs: +s.dataset.elapsedMs, workers: +s.dataset.workers,
			memory: s.dataset.workerMemory ? s.dataset.workerMemory.split(",").map(Number) : [],
			frames: +p.getAttribute("value"), total: +p.getAttribute("max")};
	})()`)
}

// shot saves a screenshot of the viewport as out/screenshots/name.png.
func (tb *tab) shot(t testing.TB, name string) {
	t.Helper()
	buf, err := chromedp.Run(tb.ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	save(t, name, buf)
}

func save(t testing.TB, name string, buf []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644); err != nil {
		t.Fatal(err)
	}
}

// chrysalis runs the CLI built for the tests, failing with its output.
func chrysalis(t testing.TB, args ...string) {
	t.Helper()
	if msg, err := exec.Command(filepath.Join(built, "chrysalis"), args...).CombinedOutput(); err != nil {
		t.Fatalf("chrysalis %s: %v\n%s", strings.Join(args, " "), err, msg)
	}
}

// cliSample runs chrysalis sample on the model folder (relative to the
// repository root) with the given flags and decodes its PNG.
func cliSample(t testing.TB, model string, flags ...string) image.Image {
	t.Helper()
	out := filepath.Join(t.TempDir(), "cli.png")
	chrysalis(t, append([]string{"sample", "-model", filepath.Join(root, model), "-out", out, "-scale", "1"}, flags...)...)
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("chrysalis sample's PNG: %v", err)
	}
	return img
}

// linkBytes fetches what the link with the given id points at.
func (tb *tab) linkBytes(t testing.TB, id string) []byte {
	t.Helper()
	b64 := eval[string](t, tb, `fetch(document.getElementById("`+id+`").href)
		.then((r) => r.arrayBuffer())
		.then((b) => { let s = ""; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); return btoa(s); })`)
	data, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// downloadPNG fetches the page's "Download PNG" link and decodes it.
func (tb *tab) downloadPNG(t testing.TB) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(tb.linkBytes(t, "download")))
	if err != nil {
		t.Fatalf("the downloaded PNG: %v", err)
	}
	return img
}

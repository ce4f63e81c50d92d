//go:build !js

package main

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"chrysalis/core/golden"
)

// TestWasmMatchesNative builds chrysalis natively (GOAMD64=v3, where Go may
// fuse multiply-adds), natively without SIMD kernels (GOEXPERIMENT empty) and
// for GOOS=js GOARCH=wasm, samples the default model with each (the native
// SIMD one on one thread and on two, the wasm one under Node, as the
// browser's workers run the same core), and requires bit-identical raw
// samples and PNGs. It also checks the native binary's behaviour with a pipe:
// no progress bar, and a bad flag exits 1 with one line on stderr.
func TestWasmMatchesNative(t *testing.T) {
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	tmp := t.TempDir()
	native, wasm := filepath.Join(tmp, "chrysalis"), filepath.Join(tmp, "chrysalis.wasm")
	scalar := filepath.Join(tmp, "chrysalis-scalar")
	build := func(out string, env ...string) {
		cmd := exec.Command(goBin, "build", "-o", out, ".")
		cmd.Env = append(os.Environ(), env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %v: %v\n%s", env, err, msg)
		}
	}
	build(native, "GOAMD64=v3")
	build(scalar, "GOEXPERIMENT=")
	build(wasm, "GOOS=js", "GOARCH=wasm")

	model := golden.Model(t, "butterflies-32")
	args := func(dir string) []string {
		return []string{"sample", "-model", model, "-scheduler", "ddim", "-steps", "5", "-batch", "2", "-seed", "7",
			"-out", filepath.Join(dir, "grid.png"), "-save-raw", filepath.Join(dir, "raw.safetensors")}
	}
	nDir := filepath.Join(tmp, "native")
	wasmExec := filepath.Join(runtime.GOROOT(), "lib", "wasm", "go_js_wasm_exec")
	others := []struct {
		name string
		cmd  []string
		env  []string
	}{
		{"native, 1 thread", []string{native}, []string{"GOMAXPROCS=1"}},
		{"native scalar", []string{scalar}, nil},
		{"wasm", []string{wasmExec, wasm}, nil},
	}
	if err := os.Mkdir(nDir, 0o755); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(native, args(nDir)...)
	cmd.Env = append(os.Environ(), "GOMAXPROCS=2")
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("native sample: %v: %s", err, stderr.String())
	}
	if !strings.HasPrefix(stdout.String(), "wrote ") || strings.Count(stdout.String(), "\n") != 2 || stderr.Len() != 0 {
		t.Errorf("native sample into a pipe printed stdout %q, stderr %q; want the two files it wrote and no progress bar", stdout.String(), stderr.String())
	}
	for i, o := range others {
		dir := filepath.Join(tmp, fmt.Sprint(i))
		if err := os.Mkdir(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(o.cmd[0], append(o.cmd[1:], args(dir)...)...)
		cmd.Env = append(os.Environ(), o.env...)
		if msg, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s sample: %v: %s", o.name, err, msg)
		}
		for _, name := range []string{"raw.safetensors", "grid.png"} {
			a, errA := os.ReadFile(filepath.Join(nDir, name))
			b, errB := os.ReadFile(filepath.Join(dir, name))
			if errA != nil || errB != nil {
				t.Fatalf("%s: %v, %v", name, errA, errB)
			}
			if !bytes.Equal(a, b) {
				t.Errorf("%s: native (2 threads) and %s outputs differ", name, o.name)
			}
		}
	}

	stderr.Reset()
	cmd = exec.Command(native, "sample", "-model", model, "-steps", "-3")
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Errorf("bad -steps: %v, want exit status 1", err)
	}
	if msg := stderr.String(); msg != "chrysalis: sample: -steps -3: want at least 1\n" {
		t.Errorf("bad -steps: stderr %q", msg)
	}
	if strings.Count(stderr.String(), "\n") != 1 {
		t.Errorf("stderr is not one line: %q", stderr.String())
	}
}

package app

import (
	"bytes"
	"go/format"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vugu/vugu/gen"
)

// generated is vugugen's output for the .vugu files of this package.
const generated = "0_components_gen.go"

// TestGeneratedIsFresh runs vugugen, as `go generate` does, on a copy of the
// package and fails when the committed 0_components_gen.go differs: after
// editing a .vugu file, run `go generate ./web/app` and commit the result.
func TestGeneratedIsFresh(t *testing.T) {
	if testing.Short() {
		t.Skip("runs vugugen")
	}
	dir := t.TempDir()
	files, err := filepath.Glob("*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if f == generated || !(strings.HasSuffix(f, ".vugu") || strings.HasSuffix(f, ".go")) {
			continue
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// vugugen formats its output with the gofmt on PATH: use this toolchain's.
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		t.Fatalf("go env GOROOT: %v", err)
	}
	t.Setenv("PATH", filepath.Join(strings.TrimSpace(string(goroot)), "bin")+string(os.PathListSeparator)+os.Getenv("PATH"))
	// The flags of the first go:generate line in view.go.
	if err := gen.Run(dir, &gen.ParserGoPkgOpts{SkipGoMod: true, SkipMainGo: true, MergeSingle: true}); err != nil {
		t.Fatalf("vugugen: %v", err)
	}
	want, err := os.ReadFile(filepath.Join(dir, generated))
	if err != nil {
		t.Fatal(err)
	}
	if want, err = format.Source(want); err != nil { // the second go:generate line
		t.Fatal(err)
	}
	got, err := os.ReadFile(generated)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is stale: run `go generate ./web/app` and commit it", generated)
	}
	if extra, _ := filepath.Glob(filepath.Join(dir, "*_gen.go")); len(extra) != 1 {
		t.Errorf("vugugen wrote %v, want only %s (a component struct is missing from view.go?)", extra, generated)
	}
}

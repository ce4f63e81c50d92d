package weights

import (
	"os"
	"path/filepath"
	"testing"

	"chrysalis/core/checkpoint"
	"chrysalis/core/golden"
)

// The shipped static/models/index.json describes exactly the model folders
// beside it: every listed file has the size and SHA-256 the index gives (the
// page refuses it otherwise), every folder is listed, and every model loads
// as the browser loads it (config.json, scheduler_config.json and the F16
// weights).
func TestShippedIndex(t *testing.T) {
	root := golden.Root(t)
	raw, err := os.ReadFile(filepath.Join(root, IndexPath))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ParseIndex(raw)
	if err != nil {
		t.Fatal(err)
	}
	listed := map[string]bool{}
	for _, m := range idx.Models {
		listed[m.Name] = true
		for _, f := range m.Files {
			data, err := os.ReadFile(filepath.Join(root, m.Path(f)))
			if err != nil {
				t.Errorf("model %s: %v", m.Name, err)
				continue
			}
			if err := f.Verify(data); err != nil {
				t.Errorf("model %s: %v", m.Name, err)
			}
		}
		dir := filepath.Join(root, filepath.Dir(m.Path(m.Files[0])))
		if _, err := checkpoint.LoadDir(dir, checkpoint.Variant("fp16")); err != nil {
			t.Errorf("model %s: %v", m.Name, err)
		}
	}
	dirs, err := os.ReadDir(filepath.Join(root, filepath.Dir(IndexPath)))
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range dirs {
		if d.IsDir() && !listed[d.Name()] {
			t.Errorf("static/models/%s is not in %s", d.Name(), IndexPath)
		}
	}
}

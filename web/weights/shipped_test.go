package weights

import (
	"os"
	"path/filepath"
	"testing"
)

// The shipped index must describe the shipped files exactly.
func TestShippedIndex(t *testing.T) {
	root := repoRoot(t)
	data, err := os.ReadFile(filepath.Join(root, IndexPath))
	if err != nil {
		t.Fatal(err)
	}
	idx, err := ParseIndex(data)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range idx.Models {
		for _, f := range m.Files {
			data, err := os.ReadFile(filepath.Join(root, m.Path(f)))
			if err != nil {
				t.Fatal(err)
			}
			if err := f.Verify(data); err != nil {
				t.Errorf("model %s: %v", m.Name, err)
			}
		}
	}
}

func repoRoot(t *testing.T) string {
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

package weights

import (
	"chrysalis/core/golden"
	"os"
	"path/filepath"
	"testing"
)

// The shipped index must describe the shipped files exactly.
func TestShippedIndex(t *testing.T) {
	root := golden.Root(t)
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

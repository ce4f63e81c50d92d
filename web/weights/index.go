package weights

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
)

// IndexPath is the model list, relative to the page.
const IndexPath = "static/models/index.json"

// The files every model folder has, as diffusers names them. The weights are
// the F16 copy (diffusers' "fp16" variant name), half the bytes of F32.
const (
	ConfigFile          = "config.json"
	SchedulerConfigFile = "scheduler_config.json"
	WeightsFile         = "diffusion_pytorch_model.fp16.safetensors"
)

// Index is the parsed static/models/index.json.
type Index struct {
	Models []Model `json:"models"`
}

// Model is one entry of the index: a diffusers single-model folder
// static/models/<Name>/ holding Files.
type Model struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Note  string `json:"note"` // provenance and licence, shown beside the model
	Files []File `json:"files"`
}

// File is one file of a model folder with the size and hash it must have.
type File struct {
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"` // lower-case hex
}

// ParseIndex reads and checks index.json: every model has a name that is a
// plain folder name, a title, and the three files with a size and a hash.
func ParseIndex(data []byte) (*Index, error) {
	var idx Index
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&idx); err != nil {
		return nil, fmt.Errorf("models/index.json: %w", err)
	}
	if len(idx.Models) == 0 {
		return nil, fmt.Errorf("models/index.json: no models")
	}
	seen := map[string]bool{}
	for i, m := range idx.Models {
		where := fmt.Sprintf("models/index.json: model %d (%q)", i, m.Name)
		if !plainName(m.Name) {
			return nil, fmt.Errorf("%s: name must be a plain folder name", where)
		}
		if seen[m.Name] {
			return nil, fmt.Errorf("%s: name appears twice", where)
		}
		seen[m.Name] = true
		if m.Title == "" {
			return nil, fmt.Errorf("%s: no title", where)
		}
		for _, want := range []string{ConfigFile, SchedulerConfigFile, WeightsFile} {
			if _, ok := m.File(want); !ok {
				return nil, fmt.Errorf("%s: no file %q", where, want)
			}
		}
		for _, f := range m.Files {
			if !plainName(f.Name) {
				return nil, fmt.Errorf("%s: file %q: not a plain file name", where, f.Name)
			}
			if f.Size <= 0 {
				return nil, fmt.Errorf("%s: file %q: size %d", where, f.Name, f.Size)
			}
			if h, err := hex.DecodeString(f.SHA256); err != nil || len(h) != sha256.Size || strings.ToLower(f.SHA256) != f.SHA256 {
				return nil, fmt.Errorf("%s: file %q: sha256 %q is not 64 lower-case hex digits", where, f.Name, f.SHA256)
			}
		}
	}
	return &idx, nil
}

func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\?#%`)
}

// Names are the models' names, the default (the first) first.
func (idx *Index) Names() []string {
	names := make([]string, len(idx.Models))
	for i, m := range idx.Models {
		names[i] = m.Name
	}
	return names
}

// Model finds a model by name.
func (idx *Index) Model(name string) (Model, bool) {
	for _, m := range idx.Models {
		if m.Name == name {
			return m, true
		}
	}
	return Model{}, false
}

// File finds a file of the model by name.
func (m Model) File(name string) (File, bool) {
	for _, f := range m.Files {
		if f.Name == name {
			return f, true
		}
	}
	return File{}, false
}

// Path is the file's URL relative to the page.
func (m Model) Path(f File) string { return "static/models/" + m.Name + "/" + f.Name }

// Verify checks data against the size and hash that the index gives.
func (f File) Verify(data []byte) error {
	if int64(len(data)) != f.Size {
		return fmt.Errorf("%s: got %d bytes, models/index.json says %d (truncated or replaced?)", f.Name, len(data), f.Size)
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != f.SHA256 {
		return fmt.Errorf("%s: SHA-256 %s… does not match models/index.json's %s… (corrupt or replaced?)", f.Name, got[:12], f.SHA256[:12])
	}
	return nil
}

package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"

	"chrysalis/core/checkpoint"
)

// weightsFile is diffusers' weights file name without its extension.
const weightsFile = "diffusion_pytorch_model"

// loadFolder loads a checkpoint folder, with the weights of a variant when
// variant is not empty: diffusion_pytorch_model.<variant>.safetensors (or
// .bin) in place of diffusion_pytorch_model.safetensors, as diffusers'
// from_pretrained(variant=...) picks them. files, if not nil, receives the
// bytes of every file the loader read, by the names it asked for.
func loadFolder(dir, variant string, files map[string][]byte) (*checkpoint.Checkpoint, error) {
	if variant != "" {
		found := false
		for _, sub := range []string{".", "unet"} {
			for _, ext := range []string{".safetensors", ".bin"} {
				if st, err := os.Stat(path.Join(dir, sub, weightsFile+"."+variant+ext)); err == nil && st.Mode().IsRegular() {
					found = true
				}
			}
		}
		if !found {
			return nil, fmt.Errorf("-variant %q: no %s.%s.safetensors or .bin in %s or %s/unet", variant, weightsFile, variant, dir, dir)
		}
	}
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return checkpoint.LoadDir(dir) // its error names the problem
	}
	ck, err := checkpoint.Load(folderFS{fsys: os.DirFS(dir), variant: variant, files: files})
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return ck, nil
}

// folderFS is a checkpoint folder seen through a weights variant, recording
// what is read.
type folderFS struct {
	fsys    fs.FS
	variant string
	files   map[string][]byte
}

// name maps diffusion_pytorch_model.{safetensors,bin} to the variant's file.
func (f folderFS) name(name string) string {
	if f.variant == "" {
		return name
	}
	dir, base := path.Split(name)
	if ext, ok := strings.CutPrefix(base, weightsFile+"."); ok && (ext == "safetensors" || ext == "bin") {
		return dir + weightsFile + "." + f.variant + "." + ext
	}
	return name
}

func (f folderFS) Open(name string) (fs.File, error) { return f.fsys.Open(f.name(name)) }

func (f folderFS) ReadFile(name string) ([]byte, error) {
	data, err := fs.ReadFile(f.fsys, f.name(name))
	if err == nil && f.files != nil {
		f.files[name] = data
	}
	return data, err
}

package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"

	"chrysalis/core/pytorch"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Checkpoint is a loaded folder.
type Checkpoint struct {
	UNet            *unet.Model
	SchedulerConfig []byte // scheduler_config.json as stored; nil if the folder has none
}

// LoadDir loads the checkpoint folder at dir (see Load).
func LoadDir(dir string) (*Checkpoint, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("checkpoint: %s is not a folder", dir)
	}
	c, err := Load(os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return c, nil
}

// Load loads a checkpoint folder in either layout: a pipeline when
// model_index.json is present, else a single model.
func Load(fsys fs.FS) (*Checkpoint, error) {
	switch {
	case exists(fsys, "model_index.json"):
		if err := checkModelIndex(fsys); err != nil {
			return nil, err
		}
		return load(fsys, "unet", "scheduler/scheduler_config.json")
	case exists(fsys, "config.json"):
		return load(fsys, ".", "scheduler_config.json")
	}
	return nil, errors.New("checkpoint: no model_index.json or config.json")
}

// load reads the UNet in folder dir and the scheduler config at schedPath.
func load(fsys fs.FS, dir, schedPath string) (*Checkpoint, error) {
	cfgPath := path.Join(dir, "config.json")
	data, err := fs.ReadFile(fsys, cfgPath)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	cfg, err := unet.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", cfgPath, err)
	}
	weightsPath, weights, err := readWeights(fsys, dir)
	if err != nil {
		return nil, err
	}
	model, err := unet.New(cfg, weights)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", weightsPath, err)
	}
	c := &Checkpoint{UNet: model}
	if exists(fsys, schedPath) {
		if c.SchedulerConfig, err = fs.ReadFile(fsys, schedPath); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return c, nil
}

// readWeights reads dir/diffusion_pytorch_model.safetensors, or the .bin when
// there is no safetensors file, as float32 tensors by name.
func readWeights(fsys fs.FS, dir string) (string, map[string]*tensor.Tensor, error) {
	p := path.Join(dir, "diffusion_pytorch_model.safetensors")
	if exists(fsys, p) {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return p, nil, fmt.Errorf("checkpoint: %w", err)
		}
		f, err := safetensors.Parse(data)
		if err != nil {
			return p, nil, fmt.Errorf("checkpoint: %s: %w", p, err)
		}
		weights := make(map[string]*tensor.Tensor)
		for _, name := range f.Names() {
			if weights[name], err = f.Tensor(name); err != nil { // F16 and BF16 are upcast
				return p, nil, fmt.Errorf("checkpoint: %s: %w", p, err)
			}
		}
		return p, weights, nil
	}
	p = path.Join(dir, "diffusion_pytorch_model.bin")
	if exists(fsys, p) {
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return p, nil, fmt.Errorf("checkpoint: %w", err)
		}
		weights, err := pytorch.Load(data)
		if err != nil {
			return p, nil, fmt.Errorf("checkpoint: %s: %w", p, err)
		}
		return p, weights, nil
	}
	where := "the top folder"
	if dir != "." {
		where = dir + "/"
	}
	return "", nil, fmt.Errorf("checkpoint: no diffusion_pytorch_model.safetensors or .bin in %s", where)
}

// checkModelIndex checks that model_index.json names a diffusers UNet2DModel
// as its unet, e.g. "unet": ["diffusers", "UNet2DModel"].
func checkModelIndex(fsys fs.FS) error {
	data, err := fs.ReadFile(fsys, "model_index.json")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	var index map[string]json.RawMessage
	if err := json.Unmarshal(data, &index); err != nil {
		return fmt.Errorf("checkpoint: model_index.json: %v", err)
	}
	raw, ok := index["unet"]
	if !ok {
		return errors.New("checkpoint: model_index.json: no unet component")
	}
	var unetClass []*string
	if err := json.Unmarshal(raw, &unetClass); err != nil || len(unetClass) != 2 || unetClass[0] == nil || unetClass[1] == nil {
		return fmt.Errorf("checkpoint: model_index.json: unet is %s, want [\"diffusers\", \"UNet2DModel\"]", raw)
	}
	if lib, class := *unetClass[0], *unetClass[1]; lib != "diffusers" || class != "UNet2DModel" {
		return fmt.Errorf("checkpoint: model_index.json: unet is %s.%s, want diffusers.UNet2DModel", lib, class)
	}
	return nil
}

// exists reports whether name is a regular file of fsys.
func exists(fsys fs.FS, name string) bool {
	st, err := fs.Stat(fsys, name)
	return err == nil && st.Mode().IsRegular()
}

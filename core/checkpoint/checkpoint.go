package checkpoint

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"slices"
	"strings"

	"chrysalis/core/pytorch"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// Checkpoint is a loaded folder. Its weights are the UNet's parameters
// (UNet.Parameters), as float32 under today's diffusers names.
type Checkpoint struct {
	UNet            *unet.Model
	Config          []byte // the UNet's config.json as stored
	SchedulerConfig []byte // scheduler_config.json as stored; nil if the folder has none
}

// An Option changes what Load reads.
type Option func(*options)

type options struct {
	variant string // "" for the plain weights
}

// Variant loads the weights of diffusers' variant name, as
// from_pretrained(variant=name) does: diffusion_pytorch_model.<name>.safetensors
// (or .bin) in place of diffusion_pytorch_model.safetensors. A folder without
// the variant's file is an error, not a fallback to the plain weights.
// Variant("") is the plain weights.
func Variant(name string) Option {
	return func(o *options) { o.variant = name }
}

// LoadDir loads the checkpoint folder at dir (see Load).
func LoadDir(dir string, opts ...Option) (*Checkpoint, error) {
	if st, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	} else if !st.IsDir() {
		return nil, fmt.Errorf("checkpoint: %s is not a folder", dir)
	}
	c, err := Load(os.DirFS(dir), opts...)
	if err != nil {
		return nil, fmt.Errorf("%w (in %s)", err, dir)
	}
	return c, nil
}

// Load loads a checkpoint folder in either layout: a pipeline when
// model_index.json is present, else a single model.
func Load(fsys fs.FS, opts ...Option) (*Checkpoint, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	switch {
	case exists(fsys, "model_index.json"):
		if err := checkModelIndex(fsys); err != nil {
			return nil, err
		}
		return load(fsys, "unet", "scheduler/scheduler_config.json", o)
	case exists(fsys, "config.json"):
		return load(fsys, ".", "scheduler_config.json", o)
	}
	return nil, errors.New("checkpoint: no model_index.json or config.json")
}

// load reads the UNet in folder dir and the scheduler config at schedPath.
func load(fsys fs.FS, dir, schedPath string, o options) (*Checkpoint, error) {
	cfgPath := path.Join(dir, "config.json")
	data, err := fs.ReadFile(fsys, cfgPath)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	cfg, err := unet.ParseConfig(data)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", cfgPath, err)
	}
	weightsPath, weights, err := readWeights(fsys, dir, o.variant)
	if err != nil {
		return nil, err
	}
	model, err := unet.New(cfg, weights)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %s: %w", weightsPath, err)
	}
	c := &Checkpoint{UNet: model, Config: data}
	if exists(fsys, schedPath) {
		if c.SchedulerConfig, err = fs.ReadFile(fsys, schedPath); err != nil {
			return nil, fmt.Errorf("checkpoint: %w", err)
		}
	}
	return c, nil
}

// readWeights reads dir/diffusion_pytorch_model[.variant].safetensors, or the
// .bin when there is no safetensors file, as float32 tensors by name.
func readWeights(fsys fs.FS, dir, variant string) (string, map[string]*tensor.Tensor, error) {
	name := "diffusion_pytorch_model"
	if variant != "" {
		name += "." + variant
	}
	p := path.Join(dir, name+".safetensors")
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
	p = path.Join(dir, name+".bin")
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
	return "", nil, &MissingWeightsError{Dir: dir, Name: name, Variants: variants(fsys, dir)}
}

// MissingWeightsError says that a folder lacks the weights file asked for,
// and which weight variants it holds instead.
type MissingWeightsError struct {
	Dir      string   // the folder, "." for the top folder
	Name     string   // diffusion_pytorch_model[.variant]
	Variants []string // the variants whose files the folder holds, sorted
}

func (e *MissingWeightsError) Error() string {
	where := "the top folder"
	if e.Dir != "." {
		where = e.Dir + "/"
	}
	msg := fmt.Sprintf("checkpoint: no %s.safetensors or .bin in %s", e.Name, where)
	for i, v := range e.Variants {
		sep := ", "
		if i == 0 {
			sep = "; it holds the weight variant "
		}
		msg += fmt.Sprintf("%s%q (diffusion_pytorch_model.%s.*)", sep, v, v)
	}
	return msg
}

// variants lists the weight variants in dir: the <v> of every
// diffusion_pytorch_model.<v>.safetensors or .bin.
func variants(fsys fs.FS, dir string) []string {
	var out []string
	entries, _ := fs.ReadDir(fsys, dir)
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name(), "diffusion_pytorch_model.")
		v, ext, found := strings.Cut(rest, ".")
		if ok && found && v != "" && (ext == "safetensors" || ext == "bin") && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	slices.Sort(out)
	return out
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

package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
	"chrysalis/core/unet"
)

// The output folder:
//
//	config.json, scheduler_config.json, diffusion_pytorch_model.safetensors
//	                          the model in diffusers' layout, EMA weights
//	checkpoint/state.safetensors
//	                          the training state: weights, EMA, AdamW moments, history
//	report.png, loss.tsv      the loss curves (see report.go)
//	samples/epoch_NNNN.png    sample grids
const (
	stateFile   = "checkpoint/state.safetensors"
	weightsFile = "diffusion_pytorch_model.safetensors"
)

// HasCheckpoint reports whether the output folder out holds a training
// checkpoint that Resume can continue.
func HasCheckpoint(out string) bool {
	st, err := os.Stat(filepath.Join(out, stateFile))
	return err == nil && st.Mode().IsRegular()
}

// runKey is what a resumed run must share with the run that wrote the
// checkpoint, or it would not continue it: everything that changes the
// random draws or the update. Epochs may change (the cosine schedule then
// stretches to the new end).
type runKey struct {
	Batch       int     `json:"batch"`
	LR          float64 `json:"lr"`
	Warmup      int     `json:"warmup"`
	WeightDecay float64 `json:"weight_decay"`
	ClipNorm    float64 `json:"clip_norm"`
	EMADecay    float64 `json:"ema_decay"`
	Seed        uint64  `json:"seed"`
	Holdout     float64 `json:"holdout"`
	EpsilonLoss bool    `json:"epsilon_loss,omitempty"`
	Images      int     `json:"images"`
	NamesHash   string  `json:"names_hash"` // FNV-1a of the image file names
}

func (t *Trainer) key() runKey {
	h := fnv.New64a()
	for _, n := range t.data.Names {
		io.WriteString(h, n+"\x00")
	}
	return runKey{
		Batch: t.o.Batch, LR: t.o.LR, Warmup: t.o.Warmup, WeightDecay: t.o.WeightDecay, ClipNorm: t.o.ClipNorm,
		EMADecay: t.o.EMADecay, Seed: t.o.Seed, Holdout: t.o.Holdout, EpsilonLoss: t.o.EpsilonLoss,
		Images: len(t.data.Names), NamesHash: strconv.FormatUint(h.Sum64(), 16),
	}
}

// Tensor name prefixes in the state file.
const (
	prefixModel = "model/"
	prefixEMA   = "ema/"
	prefixM     = "adam_m/"
	prefixV     = "adam_v/"
)

// save writes the training state, then the model folder (EMA weights) and
// the report.
func (t *Trainer) save() error {
	key, _ := json.Marshal(t.key())
	meta := map[string]string{
		"format":           "chrysalis-train",
		"step":             strconv.Itoa(t.step),
		"adam_step":        strconv.Itoa(t.opt.Step),
		"elapsed_seconds":  strconv.FormatFloat(t.clock().Seconds(), 'g', -1, 64),
		"run":              string(key),
		"config":           string(t.cfg.JSON()),
		"scheduler_config": string(t.schedConfig),
	}
	var entries []safetensors.Entry
	for _, set := range []struct {
		prefix string
		params []unet.Named
	}{{prefixModel, t.params}, {prefixEMA, t.ema.Params}, {prefixM, t.opt.M}, {prefixV, t.opt.V}} {
		for _, p := range set.params {
			entries = append(entries, safetensors.Entry{Name: set.prefix + p.Name, Tensor: p.Tensor})
		}
	}
	entries = append(entries, t.history.entries()...)
	err := writeFile(filepath.Join(t.o.Out, stateFile), func(w io.Writer) error {
		return safetensors.Write(w, entries, safetensors.F32, meta)
	})
	if err != nil {
		return err
	}
	return t.writeModel()
}

// writeModel writes the EMA weights as a diffusers model folder.
func (t *Trainer) writeModel() error {
	var entries []safetensors.Entry
	for _, p := range t.ema.Params {
		entries = append(entries, safetensors.Entry{Name: p.Name, Tensor: p.Tensor})
	}
	files := []struct {
		name  string
		write func(io.Writer) error
	}{
		{weightsFile, func(w io.Writer) error {
			return safetensors.Write(w, entries, safetensors.F32, map[string]string{"format": "pt"})
		}},
		{"config.json", func(w io.Writer) error { _, err := w.Write(t.cfg.JSON()); return err }},
		{"scheduler_config.json", func(w io.Writer) error { _, err := w.Write(t.schedConfig); return err }},
	}
	for _, f := range files {
		if err := writeFile(filepath.Join(t.o.Out, f.name), f.write); err != nil {
			return err
		}
	}
	return nil
}

// Resume continues the run whose checkpoint is in o.Out: the model, its
// config and scheduler config, the optimizer, the EMA, the step and the
// history come from the checkpoint. o must describe the same run (batch,
// learning rate, seed, data, …; only Epochs may differ), and the error names
// the first difference.
func Resume(o Options) (*Trainer, error) {
	if err := o.validate(); err != nil {
		return nil, err
	}
	path := filepath.Join(o.Out, stateFile)
	f, err := safetensors.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("train: no checkpoint to resume in %s", o.Out)
		}
		return nil, fmt.Errorf("train: %w", err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("train: checkpoint %s: %s", path, fmt.Sprintf(format, args...))
	}
	if f.Metadata["format"] != "chrysalis-train" {
		return nil, bad("not a chrysalis training checkpoint")
	}
	cfg, err := unet.ParseConfig([]byte(f.Metadata["config"]))
	if err != nil {
		return nil, bad("%v", err)
	}
	t := &Trainer{o: o, cfg: cfg, schedConfig: []byte(f.Metadata["scheduler_config"])}
	if err := t.setup(); err != nil {
		return nil, err
	}
	if err := t.checkKey(f.Metadata["run"]); err != nil {
		return nil, bad("%v", err)
	}
	step, err1 := strconv.Atoi(f.Metadata["step"])
	adamStep, err2 := strconv.Atoi(f.Metadata["adam_step"])
	secs, err3 := strconv.ParseFloat(f.Metadata["elapsed_seconds"], 64)
	if err := errors.Join(err1, err2, err3); err != nil || step < 0 {
		return nil, bad("bad step or time in the metadata")
	}
	t.step, t.elapsed = step, time.Duration(secs*float64(time.Second))

	load := func(prefix string) (*unet.Model, error) {
		weights := map[string]*tensor.Tensor{}
		for _, name := range f.Names() {
			if rest, ok := strings.CutPrefix(name, prefix); ok {
				if weights[rest], err = f.Tensor(name); err != nil {
					return nil, err
				}
			}
		}
		return unet.New(cfg, weights)
	}
	sets := make([][]unet.Named, 4)
	for i, prefix := range []string{prefixModel, prefixEMA, prefixM, prefixV} {
		m, err := load(prefix)
		if err != nil {
			return nil, bad("%s: %v", prefix, err)
		}
		if i == 0 {
			t.model = m
		}
		sets[i] = m.Parameters()
	}
	t.params = sets[0]
	t.ema = &EMA{MaxDecay: o.EMADecay, Params: sets[1]}
	t.opt = &AdamW{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: o.WeightDecay, Step: adamStep, M: sets[2], V: sets[3]}
	if t.history, err = readHistory(f); err != nil {
		return nil, bad("%v", err)
	}
	if len(t.history.StepLoss) != step {
		return nil, bad("%d step losses for step %d", len(t.history.StepLoss), step)
	}
	return t, t.finishSetup()
}

// checkKey compares this run with the checkpoint's.
func (t *Trainer) checkKey(stored string) error {
	var old runKey
	if err := json.Unmarshal([]byte(stored), &old); err != nil {
		return fmt.Errorf("run options: %v", err)
	}
	now := t.key()
	diffs := []struct {
		flag     string
		was, now any
	}{
		{"-batch", old.Batch, now.Batch}, {"-lr", old.LR, now.LR}, {"-warmup", old.Warmup, now.Warmup},
		{"weight decay", old.WeightDecay, now.WeightDecay}, {"gradient clipping", old.ClipNorm, now.ClipNorm},
		{"EMA decay", old.EMADecay, now.EMADecay}, {"-seed", old.Seed, now.Seed}, {"-holdout", old.Holdout, now.Holdout},
		{"-epsilon-loss", old.EpsilonLoss, now.EpsilonLoss},
		{"number of images", old.Images, now.Images}, {"image file names", old.NamesHash, now.NamesHash},
	}
	for _, d := range diffs {
		if d.was != d.now {
			return fmt.Errorf("made with %s %v, not %v: resume with the same settings and data", d.flag, d.was, d.now)
		}
	}
	return nil
}

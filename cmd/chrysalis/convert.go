package main

import (
	"bytes"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"chrysalis/core/checkpoint"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"
)

const convertHelp = `usage: chrysalis convert -model PATH -out DIR [-dtype f16|bf16|f32] [-variant NAME]

Writes the checkpoint at PATH (single-model or pipeline folder, safetensors in
any dtype or a PyTorch .bin) as a single-model diffusers folder: config.json
and scheduler_config.json as they are, and the weights, under today's
diffusers names, as diffusion_pytorch_model.safetensors in the chosen dtype
(rounded to nearest even), or diffusion_pytorch_model.<NAME>.safetensors with
-variant NAME, as diffusers' save_pretrained(variant=NAME) names it. The browser ships F16
weights: chrysalis convert -model M -out M -dtype f16 -variant fp16.
The model is loaded first, so a folder that would not sample is refused.

flags:
`

var dtypes = map[string]safetensors.DType{"f32": safetensors.F32, "f16": safetensors.F16, "bf16": safetensors.BF16}

func runConvert(args []string, e env) error {
	var model, out, dtype, variant string
	fs := flag.NewFlagSet("convert", flag.ContinueOnError)
	fs.StringVar(&model, "model", "", "checkpoint folder to read (required)")
	fs.StringVar(&out, "out", "", "folder to write (created if missing; may be -model's folder)")
	fs.StringVar(&dtype, "dtype", "f32", "weights dtype: f32, f16 or bf16")
	fs.StringVar(&variant, "variant", "", `name the weights diffusion_pytorch_model.<variant>.safetensors (e.g. "fp16")`)
	if err := parseFlags(fs, args, convertHelp, e); err != nil {
		return err
	}
	dt, ok := dtypes[dtype]
	switch {
	case model == "":
		return fmt.Errorf("convert: -model is required")
	case out == "":
		return fmt.Errorf("convert: -out is required")
	case !ok:
		return fmt.Errorf("convert: -dtype %q: want f32, f16 or bf16", dtype)
	case variant != "" && (filepath.Base(variant) != variant || variant == "." || variant == ".."):
		return fmt.Errorf("convert: -variant %q: want a plain name such as fp16", variant)
	}
	return convert(model, out, dt, variant)
}

// convert loads the checkpoint at model, then writes its config, scheduler
// config and weights (as dtype) to the folder out.
func convert(model, out string, dtype safetensors.DType, variant string) error {
	ck, err := checkpoint.LoadDir(model)
	if err != nil {
		return fmt.Errorf("convert: -model %q: %w", model, err)
	}
	var entries []safetensors.Entry
	for _, p := range ck.UNet.Parameters() {
		if dtype == safetensors.F16 {
			if err := fitsF16(p.Name, p.Tensor); err != nil {
				return fmt.Errorf("convert: -dtype f16: %w", err)
			}
		}
		entries = append(entries, safetensors.Entry{Name: p.Name, Tensor: p.Tensor})
	}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, entries, dtype, map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("convert: %w", err)
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return fmt.Errorf("convert: -out: %w", err)
	}
	name := "diffusion_pytorch_model"
	if variant != "" {
		name += "." + variant
	}
	write := map[string][]byte{"config.json": ck.Config, name + ".safetensors": buf.Bytes()}
	if ck.SchedulerConfig != nil {
		write["scheduler_config.json"] = ck.SchedulerConfig
	}
	for file, data := range write {
		if err := os.WriteFile(filepath.Join(out, file), data, 0o644); err != nil {
			return fmt.Errorf("convert: -out: %w", err)
		}
	}
	return nil
}

// fitsF16 refuses a tensor with a finite value that float16 rounds to ±Inf
// (|v| >= 65520).
func fitsF16(name string, w *tensor.Tensor) error {
	for i, v := range w.Data {
		if a := math.Abs(float64(v)); a >= 65520 && !math.IsInf(a, 0) {
			return fmt.Errorf("tensor %q value %d is %v, beyond float16's range", name, i, v)
		}
	}
	return nil
}

// Package checkpoint loads a diffusers checkpoint folder: the UNet2DModel and
// the scheduler config that go with it. Both of diffusers' layouts load:
//
//	single model: config.json, diffusion_pytorch_model.safetensors (or .bin),
//	              and optionally scheduler_config.json
//	pipeline:     model_index.json, unet/{config.json, diffusion_pytorch_model.*},
//	              scheduler/scheduler_config.json
//
// Weights may be safetensors (F32, F16 or BF16, upcast to float32) or a
// PyTorch .bin; when both are present the safetensors file is used, as
// diffusers does. With Variant("fp16") the weights are read from
// diffusion_pytorch_model.fp16.safetensors (or .bin) instead, as diffusers'
// from_pretrained(variant="fp16") reads them. The folder is an fs.FS, so the
// browser can pass files it holds in memory. Every error names the file it is
// about.
package checkpoint

// Package unet is diffusers' UNet2DModel in plain Go: the noise-prediction
// network of the DDPM family, built from a diffusers config.json and its
// weights, and computing the same numbers as diffusers (float32, within about
// 1e-6 of PyTorch).
//
// The forward pass, eps = UNet(x_t, t), reads top to bottom in model.go:
//
//	emb  = Linear(SiLU(Linear(sinusoid(t))))           time embedding
//	h    = conv_in(x)                                  skips = [h]
//	for each down block: h = [resnet (+attention)]×L, downsample; skips += outputs
//	h    = mid: resnet, attention, resnet
//	for each up block: h = [concat(h, skips.pop()), resnet (+attention)]×(L+1), upsample
//	out  = conv_out(SiLU(GroupNorm(h)))
//
// The four block types of UNet2DModel (DownBlock2D, AttnDownBlock2D,
// UpBlock2D, AttnUpBlock2D) differ only in whether they hold attention and
// whether they resample, so blocks.go has one down block and one up block,
// parametrised by both, plus the resnet, the attention and the mid block.
//
// Weights load under today's names or the 2022 (diffusers < 0.14) attention
// names query/key/value/proj_attn; a missing, unexpected or mis-shaped tensor
// is an error that names it. Config keys that diffusers writes but that change
// the network in ways this package does not implement (fourier time embedding,
// class embeddings, scale_shift resnets, resnet resampling, ...) are rejected
// by name rather than ignored.
//
// Training (backward.go): ForwardTrain keeps the activations on a Tape, and
// Backward walks the network in reverse, from ∂L/∂out to ∂L/∂θ for every
// parameter, added into a gradient model of the same config (NewZero).
// Parameters lists a model's tensors by name for optimizers and for writing
// weights; Config.JSON writes config.json as diffusers does.
package unet

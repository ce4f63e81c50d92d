package main

import (
	"bytes"
	"fmt"
	"image"
	"image/gif"
	"image/png"
	"os"

	"chrysalis/core/pipeline"
	"chrysalis/core/safetensors"
	"chrysalis/core/tensor"

	"golang.org/x/image/draw"
)

// readNoise reads the -init-noise file: tensor "noise", F32 [B,C,H,W].
func readNoise(path string) (*tensor.Tensor, error) {
	f, err := safetensors.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("sample: -init-noise: %w", err)
	}
	info, ok := f.Info("noise")
	switch {
	case !ok:
		return nil, fmt.Errorf("sample: -init-noise %q has no tensor \"noise\"", path)
	case info.DType != safetensors.F32:
		return nil, fmt.Errorf("sample: -init-noise %q: tensor \"noise\" is %s, want F32", path, info.DType)
	case len(info.Shape) != 4 || info.Shape[0] < 1:
		return nil, fmt.Errorf("sample: -init-noise %q: tensor \"noise\" has shape %v, want [B,C,H,W]", path, info.Shape)
	case info.Shape[0] > pipeline.MaxBatch:
		return nil, fmt.Errorf("sample: -init-noise %q: %d images, more than %d", path, info.Shape[0], pipeline.MaxBatch)
	}
	x, err := f.Tensor("noise")
	if err != nil {
		return nil, fmt.Errorf("sample: -init-noise %q: %w", path, err)
	}
	return x, nil
}

// writeRaw writes the final samples as safetensors tensor "sample" (F32)
// and returns the file's size.
func writeRaw(path string, x *tensor.Tensor) (int, error) {
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, []safetensors.Entry{{Name: "sample", Tensor: x}}, safetensors.F32, nil); err != nil {
		return 0, fmt.Errorf("sample: -save-raw: %w", err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("sample: -save-raw: %w", err)
	}
	return buf.Len(), nil
}

// writeGIF writes the run's frames as an animated GIF and returns its size.
func writeGIF(path string, frames []pipeline.Frame, scale int) (int, error) {
	g, err := pipeline.GIF(frames, scale)
	if err != nil {
		return 0, fmt.Errorf("sample: -gif: %w", err)
	}
	var buf bytes.Buffer
	if err := gif.EncodeAll(&buf, g); err != nil {
		return 0, fmt.Errorf("sample: -gif %q: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return 0, fmt.Errorf("sample: -gif: %w", err)
	}
	return buf.Len(), nil
}

// maxScale bounds -scale: 16× makes a 64-image grid of 32×32 pictures
// 4096 px wide.
const maxScale = 16

// writePNG writes the batch as one PNG, the image or a grid of them, each
// pixel drawn as a scale×scale block, and returns the file's size and the
// picture's bounds.
func writePNG(path string, x *tensor.Tensor, scale int) (int, image.Rectangle, error) {
	imgs, err := pipeline.Images(x)
	if err != nil {
		return 0, image.Rectangle{}, fmt.Errorf("sample: %w", err)
	}
	grid, err := pipeline.Grid(imgs)
	if err != nil {
		return 0, image.Rectangle{}, fmt.Errorf("sample: %w", err)
	}
	big := image.NewNRGBA(image.Rect(0, 0, scale*grid.Rect.Dx(), scale*grid.Rect.Dy()))
	draw.NearestNeighbor.Scale(big, big.Rect, grid, grid.Rect, draw.Src, nil)
	var buf bytes.Buffer
	if err := png.Encode(&buf, big); err != nil {
		return 0, image.Rectangle{}, fmt.Errorf("sample: -out %q: %w", path, err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return 0, image.Rectangle{}, fmt.Errorf("sample: -out: %w", err)
	}
	return buf.Len(), big.Rect, nil
}

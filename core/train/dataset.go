package train

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	_ "image/jpeg" // registers JPEG for image.Decode
	_ "image/png"  // registers PNG for image.Decode
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/image/draw"

	"chrysalis/core/tensor"
)

// Dataset is an image folder prepared for a model: every PNG and JPEG,
// composited on white when it has transparency, resized to the model's
// sample size with bicubic (Catmull-Rom) interpolation as PIL's BICUBIC does,
// and scaled to [-1, 1] as torchvision's ToTensor and Normalize(0.5, 0.5) do:
// x = (byte/255 − 0.5)/0.5.
type Dataset struct {
	Names  []string         // file names, sorted
	Images []*tensor.Tensor // [C,H,W] per file, C = 3 (RGB) or 1 (grey)
}

// LoadDataset reads every .png, .jpg and .jpeg file (any case) directly in
// dir, in name order, for a model with the given channels (3 or 1) and
// sample size h×w. Other files and folders are skipped. An image that does
// not decode is an error naming the file; so is a folder without images.
func LoadDataset(dir string, channels, h, w int) (*Dataset, error) {
	if channels != 3 && channels != 1 {
		return nil, fmt.Errorf("train: cannot train a model with %d input channels on images (want 3 or 1)", channels)
	}
	if h < 1 || w < 1 {
		return nil, fmt.Errorf("train: the model has no sample_size (got %dx%d)", h, w)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("train: %w", err)
	}
	d := &Dataset{}
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			if e.Type().IsRegular() || e.Type()&fs.ModeSymlink != 0 {
				d.Names = append(d.Names, e.Name())
			}
		}
	}
	if len(d.Names) == 0 {
		return nil, fmt.Errorf("train: no PNG or JPEG images in %s", dir)
	}
	slices.Sort(d.Names)
	for _, name := range d.Names {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err == nil {
			var x *tensor.Tensor
			x, err = DecodeImage(data, channels, h, w)
			d.Images = append(d.Images, x)
		}
		if err != nil {
			return nil, fmt.Errorf("train: image %s: %w", filepath.Join(dir, name), err)
		}
	}
	return d, nil
}

// DecodeImage turns the bytes of a PNG or JPEG file into a training image
// [channels,h,w] in [-1, 1], as LoadDataset does for every file: composited
// on white, resized (resize), and converted (toTensor). The browser's
// fine-tuning reads dropped files with it, so the page trains on the bits
// `chrysalis train` would.
func DecodeImage(data []byte, channels, h, w int) (*tensor.Tensor, error) {
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	if b := img.Bounds(); b.Empty() {
		return nil, fmt.Errorf("empty image")
	}
	return toTensor(resize(onWhite(img), w, h), channels), nil
}

// onWhite composites img over an opaque white background.
func onWhite(img image.Image) *image.RGBA {
	b := img.Bounds()
	out := image.NewRGBA(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(out, out.Bounds(), image.NewUniform(color.White), image.Point{}, draw.Src)
	draw.Draw(out, out.Bounds(), img, b.Min, draw.Over)
	return out
}

// resize scales img to w×h with Catmull-Rom (bicubic, a = −0.5), widening
// the kernel when shrinking as PIL does; same-sized images are kept as they are.
func resize(img *image.RGBA, w, h int) *image.RGBA {
	if img.Rect.Dx() == w && img.Rect.Dy() == h {
		return img
	}
	out := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.CatmullRom.Scale(out, out.Rect, img, img.Rect, draw.Src, nil)
	return out
}

// toTensor converts an opaque image to [C,H,W] in [-1, 1]: RGB planes, or
// for one channel the luma of PIL's convert("L"), L = 0.299R + 0.587G +
// 0.114B in its 16-bit fixed point.
func toTensor(img *image.RGBA, channels int) *tensor.Tensor {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	x := tensor.New(channels, h, w)
	norm := func(b uint8) float32 { return (float32(b)/255 - 0.5) / 0.5 }
	for y := 0; y < h; y++ {
		for i := 0; i < w; i++ {
			p := img.Pix[y*img.Stride+4*i:]
			if channels == 1 {
				l := (19595*int(p[0]) + 38470*int(p[1]) + 7471*int(p[2]) + 0x8000) >> 16
				x.Data[y*w+i] = norm(uint8(l))
				continue
			}
			for c := 0; c < 3; c++ {
				x.Data[(c*h+y)*w+i] = norm(p[c])
			}
		}
	}
	return x
}

// flip returns x [C,H,W] mirrored left to right.
func flip(x *tensor.Tensor) *tensor.Tensor {
	w := x.Shape[2]
	out := tensor.New(x.Shape...)
	for r := 0; r < len(x.Data)/w; r++ {
		src, dst := x.Data[r*w:(r+1)*w], out.Data[r*w:(r+1)*w]
		for i, v := range src {
			dst[w-1-i] = v
		}
	}
	return out
}

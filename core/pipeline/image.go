package pipeline

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"chrysalis/core/tensor"
)

// Images converts a batch of samples [B,C,H,W] (C = 3 for RGB or 1 for
// grey) to opaque 8-bit images the way diffusers does:
//
//	u = clamp(x/2 + 0.5, 0, 1)   in float32
//	byte = round_half_even(u · 255)
//
// A NaN is an error, not a black pixel.
func Images(x *tensor.Tensor) ([]*image.NRGBA, error) {
	if len(x.Shape) != 4 || (x.Shape[1] != 3 && x.Shape[1] != 1) {
		return nil, fmt.Errorf("pipeline: cannot make images of shape %v: want [B,3,H,W] or [B,1,H,W]", x.Shape)
	}
	b, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	hw := h * w
	imgs := make([]*image.NRGBA, b)
	for n := range imgs {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		planes := x.Data[n*c*hw : (n+1)*c*hw]
		for p := 0; p < hw; p++ {
			var rgb [3]uint8
			for ch := range rgb {
				v := planes[min(ch, c-1)*hw+p]
				if v != v {
					return nil, fmt.Errorf("pipeline: image %d has NaN at channel %d, pixel (%d, %d)", n, ch, p%w, p/w)
				}
				rgb[ch] = toByte(toUnit(v))
			}
			img.Pix[4*p], img.Pix[4*p+1], img.Pix[4*p+2], img.Pix[4*p+3] = rgb[0], rgb[1], rgb[2], 255
		}
		imgs[n] = img
	}
	return imgs, nil
}

// toUnit is diffusers' (x/2 + 0.5).clamp(0, 1) in float32.
func toUnit(x float32) float32 {
	u := x/2 + 0.5
	return min(max(u, 0), 1)
}

// toByte is numpy's (u*255).round().astype(uint8) for u in [0, 1]: the
// product in float32, then rounding half to even.
func toByte(u float32) uint8 {
	return uint8(math.RoundToEven(float64(float32(u * 255))))
}

// GridSize is the layout of Grid for n images: cols = ⌈√n⌉, rows = ⌈n/cols⌉.
func GridSize(n int) (cols, rows int) {
	cols = int(math.Ceil(math.Sqrt(float64(n))))
	return cols, (n + cols - 1) / cols
}

// Grid lays same-sized images out row by row in a near-square grid with no
// gutter, like diffusers' make_image_grid: cols = ⌈√n⌉, rows = ⌈n/cols⌉ (16
// images give 4x4, 6 give 3x2). Cells past the last image are white. One
// image gives a copy of itself.
func Grid(imgs []*image.NRGBA) (*image.NRGBA, error) {
	if len(imgs) == 0 {
		return nil, fmt.Errorf("pipeline: a grid of no images")
	}
	cell := imgs[0].Bounds().Size()
	cols, rows := GridSize(len(imgs))
	grid := image.NewNRGBA(image.Rect(0, 0, cols*cell.X, rows*cell.Y))
	white := color.NRGBA{255, 255, 255, 255}
	for y := 0; y < grid.Rect.Dy(); y++ {
		for x := 0; x < grid.Rect.Dx(); x++ {
			grid.SetNRGBA(x, y, white)
		}
	}
	for k, img := range imgs {
		if img.Bounds().Size() != cell {
			return nil, fmt.Errorf("pipeline: grid image %d is %v, image 0 is %v", k, img.Bounds().Size(), cell)
		}
		ox, oy := (k%cols)*cell.X, (k/cols)*cell.Y
		for y := 0; y < cell.Y; y++ {
			src := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y)
			copy(grid.Pix[grid.PixOffset(ox, oy+y):], img.Pix[src:src+4*cell.X])
		}
	}
	return grid, nil
}

package tensor

import "fmt"

// Padding is the number of zero rows/columns added on each side of an image
// before a convolution. diffusers' Downsample2D with padding 0 pads
// (Top, Left, Bottom, Right) = (0, 0, 1, 1).
type Padding struct{ Top, Left, Bottom, Right int }

// Conv2d is a 2-D cross-correlation with zero padding, as torch's Conv2d:
//
//	out[n,o,y,x] = bias[o] + Σ_{c,i,j} w[o,c,i,j] · in[n,c,y·s+i-Top, x·s+j-Left]
//
// x is [N,Cin,H,W], w is [Cout,Cin,KH,KW], bias has Cout values or is nil,
// and the result is [N,Cout,Ho,Wo] with Ho = (H+Top+Bottom-KH)/s + 1 and
// Wo = (W+Left+Right-KW)/s + 1. Each image is computed on its own, so its
// output does not depend on the rest of the batch. It panics if the shapes
// disagree: callers validate them.
func Conv2d(x, w *Tensor, bias []float32, stride int, pad Padding) *Tensor {
	if len(x.Shape) != 4 || len(w.Shape) != 4 || x.Shape[1] != w.Shape[1] || stride < 1 ||
		(bias != nil && len(bias) != w.Shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2d of %v by %v (bias %d, stride %d)", x.Shape, w.Shape, len(bias), stride))
	}
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	ho := (h+pad.Top+pad.Bottom-kh)/stride + 1
	wo := (wd+pad.Left+pad.Right-kw)/stride + 1
	if ho < 1 || wo < 1 {
		panic(fmt.Sprintf("tensor: Conv2d of %v by %v gives no output", x.Shape, w.Shape))
	}
	out := New(n, cout, ho, wo)
	k := cin * kh * kw
	col := make([]float32, k*ho*wo)
	for b := 0; b < n; b++ {
		img := x.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		im2col(col, img, cin, h, wd, kh, kw, stride, pad, ho, wo)
		o := out.Data[b*cout*ho*wo : (b+1)*cout*ho*wo]
		gemm(false, cout, ho*wo, k, w.Data, k, col, ho*wo, o, ho*wo)
		addChannelBias(o, bias, ho*wo)
	}
	return out
}

// im2col unrolls one image [Cin,H,W] into col [Cin·KH·KW, Ho·Wo]: row
// (c,i,j) holds in[c, y·s+i-Top, x·s+j-Left] for every output (y,x), zero
// where that falls into the padding.
func im2col(col, img []float32, cin, h, w, kh, kw, stride int, pad Padding, ho, wo int) {
	r := 0
	for c := 0; c < cin; c++ {
		for i := 0; i < kh; i++ {
			for j := 0; j < kw; j++ {
				row := col[r*ho*wo : (r+1)*ho*wo]
				r++
				for y := 0; y < ho; y++ {
					iy := y*stride + i - pad.Top
					dst := row[y*wo : (y+1)*wo]
					if iy < 0 || iy >= h {
						clear(dst)
						continue
					}
					src := img[(c*h+iy)*w : (c*h+iy+1)*w]
					for xo := range dst {
						ix := xo*stride + j - pad.Left
						if ix < 0 || ix >= w {
							dst[xo] = 0
						} else {
							dst[xo] = src[ix]
						}
					}
				}
			}
		}
	}
}

// addChannelBias adds bias[c] to each of the len(bias) planes of size hw in o.
func addChannelBias(o, bias []float32, hw int) {
	for c, bv := range bias {
		p := o[c*hw : (c+1)*hw]
		for i := range p {
			p[i] += bv
		}
	}
}

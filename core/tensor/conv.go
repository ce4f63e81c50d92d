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
// Wo = (W+Left+Right-KW)/s + 1. The images share one packing of the weights,
// and an image's output has the same bits whatever the rest of the batch. It panics if the shapes
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
	k, hw := cin*kh*kw, ho*wo
	g := convGeometry{cin: cin, h: h, w: wd, kh: kh, kw: kw, stride: stride, pad: pad, ho: ho, wo: wo}
	g.taps()
	// out_b = bias, then out_b += W·col(img_b) for every image b, with W as
	// Cout×(Cin·KH·KW) and col(img_b) the (Cin·KH·KW)×(Ho·Wo) im2col matrix.
	prods := make([]product, n)
	for b := range prods {
		img := x.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		o := out.Data[b*cout*hw : (b+1)*cout*hw]
		for c, bv := range bias {
			p := o[c*hw : (c+1)*hw]
			for i := range p {
				p[i] = bv
			}
		}
		prods[b].c = o
		if g.direct() {
			prods[b].pack = denseB(img, hw)
		} else {
			prods[b].pack = func(bp []float32, p0, kb, j0, nb int) { g.pack(bp, img, p0, kb, j0, nb) }
		}
	}
	gemmAcc(cout, hw, k, w.Data, k, prods, hw)
	return out
}

// convGeometry describes the im2col matrix of one image [Cin,H,W]: a
// (Cin·KH·KW)×(Ho·Wo) matrix whose row p = (c,i,j) and column q = (y,x) hold
// in[c, y·s+i-Top, x·s+j-Left], or zero in the padding. Conv2d never builds it:
// g.pack writes its panels straight into the GEMM's packed layout.
type convGeometry struct {
	cin, h, w, kh, kw, stride int
	pad                       Padding
	ho, wo                    int
	// For each row p = (c,i,j) of the im2col matrix: off = (c·H+i)·W + j,
	// the offset of the tap from the window's top-left corner, and ti = i,
	// tj = j.
	off    []int
	ti, tj []int
}

// direct reports whether the im2col matrix is the image itself: a 1x1
// kernel with stride 1 and no padding.
func (g *convGeometry) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == Padding{}
}

func (g *convGeometry) taps() {
	k := g.cin * g.kh * g.kw
	g.off, g.ti, g.tj = make([]int, 0, k), make([]int, 0, k), make([]int, 0, k)
	for c := 0; c < g.cin; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				g.off = append(g.off, (c*g.h+i)*g.w+j)
				g.ti = append(g.ti, i)
				g.tj = append(g.tj, j)
			}
		}
	}
}

// pack is a packFunc for the im2col matrix of img.
func (g *convGeometry) pack(bp, img []float32, p0, kb, j0, nb int) {
	off, ti, tj := g.off[p0:p0+kb], g.ti[p0:p0+kb], g.tj[p0:p0+kb]
	for s := 0; s < roundUp(nb, nr); s += nr {
		strip := bp[s*kb : (s+nr)*kb]
		q := j0 + s
		y0 := q/g.wo*g.stride - g.pad.Top
		x0 := q%g.wo*g.stride - g.pad.Left
		if s+nr <= nb && q%g.wo+1 < g.wo && y0 >= 0 && x0 >= 0 && y0+g.kh <= g.h && x0+g.stride+g.kw <= g.w {
			// Both windows of the strip lie inside the image, on one row:
			// copy them a tap row (kw pixels of one channel and kernel
			// row, contiguous in img) at a time.
			b0 := y0*g.w + x0
			for p := 0; p < kb; {
				n := min(g.kw-tj[p], kb-p)
				o := b0 + off[p]
				if n == 3 && g.stride == 1 {
					src, dst := img[o:o+4], strip[2*p:2*p+6]
					v0, v1, v2, v3 := src[0], src[1], src[2], src[3]
					dst[0], dst[1], dst[2], dst[3], dst[4], dst[5] = v0, v1, v1, v2, v2, v3
				} else {
					src, dst := img[o:o+n+g.stride], strip[2*p:2*(p+n)]
					for t := range n {
						dst[2*t] = src[t]
						dst[2*t+1] = src[t+g.stride]
					}
				}
				p += n
			}
			continue
		}
		for jj := 0; jj < nr; jj++ {
			if s+jj >= nb {
				for p := range kb {
					strip[p*nr+jj] = 0
				}
				continue
			}
			q := j0 + s + jj
			y0 := q/g.wo*g.stride - g.pad.Top
			x0 := q%g.wo*g.stride - g.pad.Left
			for p, o := range off {
				y, x := y0+ti[p], x0+tj[p]
				if y >= 0 && y < g.h && x >= 0 && x < g.w {
					strip[p*nr+jj] = img[y0*g.w+x0+o]
				} else {
					strip[p*nr+jj] = 0
				}
			}
		}
	}
}

package tensor

import (
	"fmt"
	"sync"
)

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
// Wo = (W+Left+Right-KW)/s + 1. Per image it is the GEMM W·col(in), with W
// as a Cout×(Cin·KH·KW) matrix and col(in) the im2col matrix (see
// convGeometry), added to the bias. The images share one packing of the
// weights, and an image's output has the same bits whatever the rest of the
// batch. A 3x3, stride-1 convolution whose shape useWinograd picks runs as
// Winograd F(2×2, 3×3) instead (see winograd.go), which rounds differently
// but as accurately. It panics if the shapes disagree: callers validate them.
func Conv2d(x, w *Tensor, bias []float32, stride int, pad Padding) *Tensor {
	return (&ConvWeights{w: w}).Conv2d(x, bias, stride, pad)
}

// ConvWeights are a convolution's weights w [Cout,Cin,KH,KW] with the forms
// that Conv2d computes from, W packed for the GEMM and, for Winograd, the
// transformed U_ξ packed likewise. Conv2d makes them at every call; a
// ConvWeights from NewConvWeights makes each on its first use and keeps it,
// for a run of convolutions over unchanged weights (sampling). Its weights
// must not change while it is in use. It is safe for concurrent use.
type ConvWeights struct {
	w              *Tensor
	keep           bool // keep the packed forms (NewConvWeights)
	gemmA, winoU   []float32
	gemmOnce, wino sync.Once
}

// NewConvWeights returns w, which must be 4-D, with its packed forms kept
// after their first use. It reads w's data then, not now.
func NewConvWeights(w *Tensor) *ConvWeights {
	if len(w.Shape) != 4 {
		panic(fmt.Sprintf("tensor: convolution weights of shape %v", w.Shape))
	}
	return &ConvWeights{w: w, keep: true}
}

// Conv2d is Conv2d(x, w, bias, stride, pad) for cw's weights w, with the
// same bits.
func (cw *ConvWeights) Conv2d(x *Tensor, bias []float32, stride int, pad Padding) *Tensor {
	w := cw.w
	if len(x.Shape) != 4 || len(w.Shape) != 4 || x.Shape[1] != w.Shape[1] || stride < 1 ||
		(bias != nil && len(bias) != w.Shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2d of %v by %v (bias %d, stride %d)", x.Shape, w.Shape, len(bias), stride))
	}
	ho := (x.Shape[2]+pad.Top+pad.Bottom-w.Shape[2])/stride + 1
	wo := (x.Shape[3]+pad.Left+pad.Right-w.Shape[3])/stride + 1
	if ho < 1 || wo < 1 {
		panic(fmt.Sprintf("tensor: Conv2d of %v by %v gives no output", x.Shape, w.Shape))
	}
	winograd := w.Shape[2] == 3 && w.Shape[3] == 3 && stride == 1 && useWinograd(w.Shape[1], w.Shape[0], ho, wo)
	return conv2d(x, cw, bias, stride, pad, winograd)
}

// packed returns the packed form that pack writes into a slice of n values,
// and a function to call when done with it: kept in *dst after the first
// call when cw keeps its forms, else written in pooled scratch.
func (cw *ConvWeights) packed(dst *[]float32, once *sync.Once, n int, pack func([]float32)) ([]float32, func()) {
	if cw.keep {
		once.Do(func() {
			*dst = make([]float32, n)
			pack(*dst)
		})
		return *dst, func() {}
	}
	buf := getBuffer(n)
	pack((*buf)[:n])
	return (*buf)[:n], func() { putBuffer(buf) }
}

// gemmWeights returns W (Cout×Cin·KH·KW) packed by packPanels.
func (cw *ConvWeights) gemmWeights() ([]float32, func()) {
	cout, k := cw.w.Shape[0], cw.w.Numel()/cw.w.Shape[0]
	return cw.packed(&cw.gemmA, &cw.gemmOnce, roundUp(cout, mr)*k, func(ap []float32) { packPanels(ap, cout, k, cw.w.Data, k) })
}

// winogradWeights returns the U_ξ of the 3x3 weights, packed (weightTiles).
func (cw *ConvWeights) winogradWeights() ([]float32, func()) {
	cout, cin := cw.w.Shape[0], cw.w.Shape[1]
	return cw.packed(&cw.winoU, &cw.wino, 16*roundUp(cout, mr)*cin, func(u []float32) {
		clear(u) // the rows that pad Cout to a multiple of mr
		parallelFor(cout, 60*float64(cin), func(lo, hi int) { weightTiles(u, cw.w.Data, lo, hi, cin, cout) })
	})
}

// conv2d is Conv2d on validated shapes, as Winograd F(2×2, 3×3) if winograd
// is set (w must then be 3x3 and stride 1) or else as a GEMM per image.
func conv2d(x *Tensor, cw *ConvWeights, bias []float32, stride int, pad Padding, winograd bool) *Tensor {
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := cw.w.Shape[0], cw.w.Shape[2], cw.w.Shape[3]
	ho := (h+pad.Top+pad.Bottom-kh)/stride + 1
	wo := (wd+pad.Left+pad.Right-kw)/stride + 1
	out := New(n, cout, ho, wo)
	if winograd {
		u, done := cw.winogradWeights()
		defer done()
		winogradConv(out.Data, x.Data, n, cin, h, wd, pad, u, cout, bias)
		return out
	}
	k, hw := cin*kh*kw, ho*wo
	// The images are padded once, so that every window lies inside its image.
	g := convGeometry{cin: cin, h: h + pad.Top + pad.Bottom, w: wd + pad.Left + pad.Right,
		kh: kh, kw: kw, stride: stride, ho: ho, wo: wo}
	src, size := x.Data, cin*h*wd
	if pad != (Padding{}) {
		buf := getBuffer(n * cin * g.h * g.w)
		defer putBuffer(buf)
		src, size = (*buf)[:n*cin*g.h*g.w], cin*g.h*g.w
		for b := 0; b < n; b++ {
			padImage(src[b*size:(b+1)*size], x.Data[b*cin*h*wd:(b+1)*cin*h*wd], cin, h, wd, pad)
		}
	}
	g.taps()
	// out_b = bias, then out_b += W·col(img_b) for every image b.
	prods := make([]product, n)
	for b := range prods {
		img := src[b*size : (b+1)*size]
		o := out.Data[b*cout*hw : (b+1)*cout*hw]
		for c, bv := range bias {
			fill(o[c*hw:(c+1)*hw], bv)
		}
		prods[b].c = o
		if g.direct() {
			prods[b].pack = denseB(img, hw)
		} else {
			prods[b].pack = func(bp []float32, p0, kb, j0, nb int) { g.pack(bp, img, p0, kb, j0, nb) }
		}
	}
	ap, done := cw.gemmWeights()
	defer done()
	gemmPacked(workers(2*float64(cout)*float64(hw)*float64(k)*float64(n)), cout, hw, k, ap, prods, hw)
	return out
}

// fill sets every element of p to v, doubling a filled prefix with copy.
func fill(p []float32, v float32) {
	if len(p) == 0 {
		return
	}
	p[0] = v
	for n := 1; n < len(p); n *= 2 {
		copy(p[n:], p[:n])
	}
}

// padImage copies img [C,H,W] into dst [C, Top+H+Bottom, Left+W+Right],
// with zeros around it.
func padImage(dst, img []float32, c, h, w int, pad Padding) {
	wp := pad.Left + w + pad.Right
	clear(dst)
	for ch := 0; ch < c; ch++ {
		for y := 0; y < h; y++ {
			row := dst[(ch*(pad.Top+h+pad.Bottom)+pad.Top+y)*wp+pad.Left:]
			copy(row[:w], img[(ch*h+y)*w:(ch*h+y+1)*w])
		}
	}
}

// convGeometry describes the im2col matrix of one image [Cin,H,W]: a
// (Cin·KH·KW)×(Ho·Wo) matrix whose row p = (c,i,j) and column q = (y,x) hold
// in[c, y·s+i-Top, x·s+j-Left], or zero in the padding. Conv2d never builds it:
// g.pack writes its panels straight into the GEMM's packed layout.
type convGeometry struct {
	cin, h, w, kh, kw, stride int
	pad                       Padding
	ho, wo                    int
	// For each row p = (c,i,j) of the im2col matrix, off[p] = (c·H+i)·W + j
	// is the offset of its tap from a window's top-left corner.
	off []int
}

// direct reports whether the im2col matrix is the image itself: a 1x1
// kernel with stride 1 and no padding.
func (g *convGeometry) direct() bool {
	return g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == Padding{}
}

// taps fills off.
func (g *convGeometry) taps() {
	g.off = make([]int, 0, g.cin*g.kh*g.kw)
	for c := 0; c < g.cin; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				g.off = append(g.off, (c*g.h+i)*g.w+j)
			}
		}
	}
}

// pack is a packFunc for the im2col matrix of img, for a geometry without
// padding (Conv2d pads the image beforehand), so that every tap is inside
// img. When a strip's nr columns are windows on one output row, their
// top-left corners are q0 = y·s·W + x·s, q0 + s, …, q0 + (nr-1)·s, so for
// stride 1 a row of the strip is nr contiguous pixels. When the output is
// narrower than a strip (4×4 at the UNet's bottom), each half of a strip
// can still lie on one output row, and is copied as such.
func (g *convGeometry) pack(bp, img []float32, p0, kb, j0, nb int) {
	const half = nr / 2
	off := g.off[p0 : p0+kb]
	for s := 0; s < roundUp(nb, nr); s += nr {
		strip := bp[s*kb : (s+nr)*kb]
		q := j0 + s
		b0 := (q/g.wo*g.w + q%g.wo) * g.stride
		row := s+nr <= nb && q%g.wo+nr <= g.wo
		q1 := q + half
		halves := s+nr <= nb && q%g.wo+half <= g.wo && q1%g.wo+half <= g.wo
		switch {
		case row && g.stride == 1:
			gatherRows(strip, img[b0:], img[b0+half:], off)
		case row:
			src := img[b0:]
			for p, o := range off {
				d := strip[p*nr : p*nr+nr]
				for jj := range d {
					d[jj] = src[o+jj*g.stride]
				}
			}
		case halves && g.stride == 1:
			gatherRows(strip, img[b0:], img[q1/g.wo*g.w+q1%g.wo:], off)
		case halves:
			lo, hi := img[b0:], img[(q1/g.wo*g.w+q1%g.wo)*g.stride:]
			for p, o := range off {
				d := strip[p*nr : p*nr+nr]
				for jj := range half {
					d[jj], d[half+jj] = lo[o+jj*g.stride], hi[o+jj*g.stride]
				}
			}
		default:
			// The columns lie on more output rows, or the strip ends past nb.
			for jj := 0; jj < nr; jj++ {
				if s+jj >= nb {
					for p := range kb {
						strip[p*nr+jj] = 0
					}
					continue
				}
				q := j0 + s + jj
				src := img[(q/g.wo*g.w+q%g.wo)*g.stride:]
				for p, o := range off {
					strip[p*nr+jj] = src[o]
				}
			}
		}
	}
}

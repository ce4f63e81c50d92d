package tensor

import (
	"fmt"
	"sync"
)

// Conv2dBackward is the backward pass of Conv2d(x, w, bias, stride, pad).
// Given dy = ∂L/∂out [N,Cout,Ho,Wo] it adds the parameter gradients into dw
// [Cout,Cin,KH,KW] and db (Cout values; nil for a conv without bias),
//
//	dw[o,c,i,j] += Σ_{n,y,x} dy[n,o,y,x] · x[n,c,y·s+i-Top, x·s+j-Left]    per image: dW += dy · colᵀ
//	db[o]       += Σ_{n,y,x} dy[n,o,y,x]
//
// and returns the input gradient [N,Cin,H,W],
//
//	dx[n,c,Y,X] = Σ w[o,c,i,j] · dy[n,o,y,x] over Y = y·s+i-Top, X = x·s+j-Left    per image: col2im(Wᵀ · dy)
//
// where col is the (Cin·KH·KW)×(Ho·Wo) im2col matrix of the image (see
// convGeometry). Images are added into dw and db in batch order. It panics if
// the shapes disagree.
func Conv2dBackward(x, w, dy *Tensor, stride int, pad Padding, dw *Tensor, db []float32) *Tensor {
	if len(x.Shape) != 4 || len(w.Shape) != 4 || len(dy.Shape) != 4 || x.Shape[1] != w.Shape[1] || stride < 1 ||
		!sameShape(w, dw) || (db != nil && len(db) != w.Shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2dBackward of %v by %v (dy %v, dw %v, db %d)", x.Shape, w.Shape, dy.Shape, dw.Shape, len(db)))
	}
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	ho := (h+pad.Top+pad.Bottom-kh)/stride + 1
	wo := (wd+pad.Left+pad.Right-kw)/stride + 1
	if dy.Shape[0] != n || dy.Shape[1] != cout || dy.Shape[2] != ho || dy.Shape[3] != wo {
		panic(fmt.Sprintf("tensor: Conv2dBackward of %v by %v: dy is %v, want [%d %d %d %d]", x.Shape, w.Shape, dy.Shape, n, cout, ho, wo))
	}
	g := convGeometry{cin: cin, h: h, w: wd, kh: kh, kw: kw, stride: stride, pad: pad, ho: ho, wo: wo}
	k, hw := cin*kh*kw, ho*wo

	wt := make([]float32, k*cout) // Wᵀ, (Cin·KH·KW)×Cout
	transpose(wt, w.Data, cout, k)
	dx := New(x.Shape...)
	buf := getScratch(hw*k + cout*k)
	defer putScratch(buf)
	col, dwImg := buf[:hw*k], buf[hw*k:]
	for b := 0; b < n; b++ {
		img := x.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		dimg := dx.Data[b*cin*h*wd : (b+1)*cin*h*wd]
		dyb := dy.Data[b*cout*hw : (b+1)*cout*hw]

		// dW += dy · colᵀ: (Cout×HoWo)·(HoWo×K), colᵀ built in col.
		g.colT(col, img)
		Gemm(cout, k, hw, dyb, hw, col, k, dwImg, k)
		for i, v := range dwImg {
			dw.Data[i] += v
		}
		for o := range db {
			var s float64
			for _, v := range dyb[o*hw : (o+1)*hw] {
				s += float64(v)
			}
			db[o] += float32(s)
		}

		// dcol = Wᵀ · dy: (K×Cout)·(Cout×HoWo), then scattered back onto the
		// pixels it was gathered from. A 1x1 conv without stride or padding
		// gathers each pixel once, so dcol is dx itself.
		if g.direct() {
			Gemm(k, hw, cout, wt, cout, dyb, hw, dimg, hw)
			continue
		}
		dcol := col[:k*hw]
		Gemm(k, hw, cout, wt, cout, dyb, hw, dcol, hw)
		g.col2im(dimg, dcol)
	}
	return dx
}

// colT writes the transposed im2col matrix of img [Cin,H,W] into dst,
// (Ho·Wo)×(Cin·KH·KW): dst[q·K + p] = img[c, y·s+i-Top, x·s+j-Left] for
// column q = (y,x) and row p = (c,i,j), zero in the padding.
func (g *convGeometry) colT(dst, img []float32) {
	k := g.cin * g.kh * g.kw
	p := 0
	for c := 0; c < g.cin; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				for y := 0; y < g.ho; y++ {
					iy := y*g.stride + i - g.pad.Top
					q := y * g.wo
					if iy < 0 || iy >= g.h {
						for x := 0; x < g.wo; x++ {
							dst[(q+x)*k+p] = 0
						}
						continue
					}
					row := img[(c*g.h+iy)*g.w : (c*g.h+iy+1)*g.w]
					for x := 0; x < g.wo; x++ {
						ix := x*g.stride + j - g.pad.Left
						v := float32(0)
						if ix >= 0 && ix < g.w {
							v = row[ix]
						}
						dst[(q+x)*k+p] = v
					}
				}
				p++
			}
		}
	}
}

// col2im adds each entry of the im2col-shaped matrix dcol, (Cin·KH·KW)×(Ho·Wo),
// onto the pixel of dimg [Cin,H,W] it was gathered from, in row order.
func (g *convGeometry) col2im(dimg, dcol []float32) {
	hw := g.ho * g.wo
	p := 0
	for c := 0; c < g.cin; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				src := dcol[p*hw : (p+1)*hw]
				for y := 0; y < g.ho; y++ {
					iy := y*g.stride + i - g.pad.Top
					if iy < 0 || iy >= g.h {
						continue
					}
					row := dimg[(c*g.h+iy)*g.w : (c*g.h+iy+1)*g.w]
					for x, v := range src[y*g.wo : (y+1)*g.wo] {
						if ix := x*g.stride + j - g.pad.Left; ix >= 0 && ix < g.w {
							row[ix] += v
						}
					}
				}
				p++
			}
		}
	}
}

// scratchPool recycles the backward kernels' temporary buffers, which are
// large (an im2col matrix) and needed once per call.
var scratchPool sync.Pool

// getScratch returns a buffer of n values with arbitrary contents.
func getScratch(n int) []float32 {
	if p, ok := scratchPool.Get().(*[]float32); ok && cap(*p) >= n {
		return (*p)[:n]
	}
	return make([]float32, n)
}

func putScratch(b []float32) { scratchPool.Put(&b) }

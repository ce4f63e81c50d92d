package tensor

import (
	"fmt"
	"sync"
)

// Conv2dBackward is the backward pass of Conv2d(x, w, bias, stride, pad).
// Given dy = ∂L/∂out [N,Cout,Ho,Wo] it adds the parameter gradients into dw
// [Cout,Cin,KH,KW] and db (Cout values; nil for a conv without bias),
//
//	dw[o,c,i,j] += Σ_{n,y,x} dy[n,o,y,x] · x[n,c,y·s+i-Top, x·s+j-Left]    per image: dWᵀ = col · dyᵀ
//	db[o]       += Σ_{n,y,x} dy[n,o,y,x]
//
// where col is the image's (Cin·KH·KW)×(Ho·Wo) im2col matrix, and returns the
// input gradient [N,Cin,H,W],
//
//	dx[n,c,Y,X] = Σ w[o,c,i,j] · dy[n,o,y,x] over Y = y·s+i-Top, X = x·s+j-Left
//
// For stride 1 that is Conv2d(dy, w′) with the kernel flipped and its in and
// out channels swapped, w′[c,o,i,j] = w[o,c,KH-1-i,KW-1-j], and the padding
// mirrored (KH-1-Top, …); for other strides it is col2im(Wᵀ · dy) per image.
// Images are added into dw and db in batch order. It panics if the shapes
// disagree.
func Conv2dBackward(x, w, dy *Tensor, stride int, pad Padding, dw *Tensor, db []float32) *Tensor {
	if len(x.Shape) != 4 || len(w.Shape) != 4 || len(dy.Shape) != 4 || x.Shape[1] != w.Shape[1] || stride < 1 ||
		!sameShape(w, dw) || (db != nil && len(db) != w.Shape[0]) {
		panic(fmt.Sprintf("tensor: Conv2dBackward of %v by %v (dy %v, dw %v, db %d)", x.Shape, w.Shape, dy.Shape, dw.Shape, len(db)))
	}
	n, cin, h, wd := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	cout, kh, kw := w.Shape[0], w.Shape[2], w.Shape[3]
	g := im2col{cin: cin, h: h, w: wd, kh: kh, kw: kw, stride: stride, pad: pad}
	g.ho = (h+pad.Top+pad.Bottom-kh)/stride + 1
	g.wo = (wd+pad.Left+pad.Right-kw)/stride + 1
	if dy.Shape[0] != n || dy.Shape[1] != cout || dy.Shape[2] != g.ho || dy.Shape[3] != g.wo {
		panic(fmt.Sprintf("tensor: Conv2dBackward of %v by %v: dy is %v, want [%d %d %d %d]", x.Shape, w.Shape, dy.Shape, n, cout, g.ho, g.wo))
	}
	k, hw := cin*kh*kw, g.ho*g.wo

	buf := getScratch(k*hw + hw*cout + k*cout)
	defer putScratch(buf)
	col, dyT, dwT := buf[:k*hw], buf[k*hw:k*hw+hw*cout], buf[k*hw+hw*cout:]
	for b := 0; b < n; b++ {
		dyb := dy.Data[b*cout*hw : (b+1)*cout*hw]
		// dWᵀ = col · dyᵀ: (K×HoWo)·(HoWo×Cout).
		g.fill(col, x.Data[b*cin*h*wd:(b+1)*cin*h*wd])
		transpose(dyT, dyb, cout, hw)
		Gemm(k, cout, hw, col, hw, dyT, cout, dwT, cout)
		for o := 0; o < cout; o++ {
			row := dw.Data[o*k : (o+1)*k]
			for p := range row {
				row[p] += dwT[p*cout+o]
			}
		}
		for o := range db {
			var s float64
			for _, v := range dyb[o*hw : (o+1)*hw] {
				s += float64(v)
			}
			db[o] += float32(s)
		}
	}

	if stride == 1 {
		wf := New(cin, cout, kh, kw) // w′[c,o,i,j] = w[o,c,KH-1-i,KW-1-j]
		for o := 0; o < cout; o++ {
			for c := 0; c < cin; c++ {
				src := w.Data[(o*cin+c)*kh*kw : (o*cin+c+1)*kh*kw]
				dst := wf.Data[(c*cout+o)*kh*kw : (c*cout+o+1)*kh*kw]
				for i, v := range src {
					dst[len(dst)-1-i] = v
				}
			}
		}
		return Conv2d(dy, wf, nil, 1, Padding{kh - 1 - pad.Top, kw - 1 - pad.Left, kh - 1 - pad.Bottom, kw - 1 - pad.Right})
	}

	// dcol = Wᵀ · dy: (K×Cout)·(Cout×HoWo), scattered back onto the pixels it
	// was gathered from.
	wt := dwT // Wᵀ, K×Cout
	transpose(wt, w.Data, cout, k)
	dx := New(x.Shape...)
	for b := 0; b < n; b++ {
		Gemm(k, hw, cout, wt, cout, dy.Data[b*cout*hw:(b+1)*cout*hw], hw, col, hw)
		g.scatter(dx.Data[b*cin*h*wd:(b+1)*cin*h*wd], col)
	}
	return dx
}

// im2col describes the im2col matrix of one image [Cin,H,W] for a KH×KW
// kernel: a (Cin·KH·KW)×(Ho·Wo) matrix whose row p = (c,i,j) and column
// q = (y,x) hold img[c, y·s+i-Top, x·s+j-Left], or zero in the padding.
type im2col struct {
	cin, h, w, kh, kw, stride int
	pad                       Padding
	ho, wo                    int
}

// fill writes the im2col matrix of img into dst, row by row.
func (g *im2col) fill(dst, img []float32) {
	hw := g.ho * g.wo
	p := 0
	for c := 0; c < g.cin; c++ {
		for i := 0; i < g.kh; i++ {
			for j := 0; j < g.kw; j++ {
				out := dst[p*hw : (p+1)*hw]
				for y := 0; y < g.ho; y++ {
					o := out[y*g.wo : (y+1)*g.wo]
					iy := y*g.stride + i - g.pad.Top
					if iy < 0 || iy >= g.h {
						clear(o)
						continue
					}
					row := img[(c*g.h+iy)*g.w : (c*g.h+iy+1)*g.w]
					for x := range o {
						if ix := x*g.stride + j - g.pad.Left; ix >= 0 && ix < g.w {
							o[x] = row[ix]
						} else {
							o[x] = 0
						}
					}
				}
				p++
			}
		}
	}
}

// scatter adds each entry of dcol, an im2col-shaped matrix, onto the pixel
// of dimg [Cin,H,W] it was gathered from, in row order.
func (g *im2col) scatter(dimg, dcol []float32) {
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

package tensor

import (
	"fmt"
	"math"
)

// The backward passes of the kernels in ops.go, in the same order. Each takes
// dy = ∂L/∂out and what its forward read, adds parameter gradients into the
// slices it is given, and returns the input gradients. Add needs none: its
// gradient reaches both inputs unchanged. ToTokens and FromTokens are each
// other's backward.

// GroupNormBackward is the backward pass of GroupNorm(x, groups, gamma, beta,
// eps). With x̂ = (x - μ_g)·r, r = 1/sqrt(σ²_g + eps), and M = (C/groups)·H·W
// values per group, it adds
//
//	dgamma[c] += Σ_{n,hw} dy·x̂        dbeta[c] += Σ_{n,hw} dy
//
// and returns, with g = dy·gamma[c] and means over the group,
//
//	dx = r · (g − mean(g) − x̂ · mean(g·x̂))
//
// μ, r and the sums are computed in float64. It panics if the shapes disagree.
func GroupNormBackward(x, dy *Tensor, groups int, gamma []float32, eps float32, dgamma, dbeta []float32) *Tensor {
	if len(x.Shape) < 2 || !sameShape(x, dy) || groups < 1 || x.Shape[1]%groups != 0 || len(gamma) != x.Shape[1] ||
		len(dgamma) != x.Shape[1] || len(dbeta) != x.Shape[1] {
		panic(fmt.Sprintf("tensor: GroupNormBackward of %v (dy %v) in %d groups (gamma %d, dgamma %d, dbeta %d)",
			x.Shape, dy.Shape, groups, len(gamma), len(dgamma), len(dbeta)))
	}
	c := x.Shape[1]
	hw := x.Numel() / (x.Shape[0] * c)
	cg := c / groups
	dx := New(x.Shape...)
	for ng := 0; ng < x.Shape[0]*groups; ng++ {
		src := x.Data[ng*cg*hw : (ng+1)*cg*hw]
		dsrc := dy.Data[ng*cg*hw : (ng+1)*cg*hw]
		dst := dx.Data[ng*cg*hw : (ng+1)*cg*hw]
		m := float64(len(src))
		// μ and r exactly as the forward computes them.
		var sum float64
		for _, v := range src {
			sum += float64(v)
		}
		mean := sum / m
		var ss float64
		for _, v := range src {
			d := float64(v) - mean
			ss += float64(d * d)
		}
		r := 1 / math.Sqrt(ss/m+float64(eps))
		c0 := (ng % groups) * cg
		var sumG, sumGX float64 // Σ g, Σ g·x̂ over the group
		for ch := 0; ch < cg; ch++ {
			gam := float64(gamma[c0+ch])
			var sdy, sdyx float64
			for i, v := range src[ch*hw : (ch+1)*hw] {
				xh := (float64(v) - mean) * r
				d := float64(dsrc[ch*hw+i])
				sdy += d
				sdyx += float64(d * xh)
			}
			dgamma[c0+ch] += float32(sdyx)
			dbeta[c0+ch] += float32(sdy)
			sumG += float64(gam * sdy)
			sumGX += float64(gam * sdyx)
		}
		mG, mGX := sumG/m, sumGX/m
		for ch := 0; ch < cg; ch++ {
			gam := float64(gamma[c0+ch])
			for i, v := range src[ch*hw : (ch+1)*hw] {
				xh := (float64(v) - mean) * r
				g := float64(float64(dsrc[ch*hw+i]) * gam)
				dst[ch*hw+i] = float32(r * (g - mG - float64(xh*mGX)))
			}
		}
	}
	return dx
}

// SiLUBackward is the backward pass of SiLU: with s = sigmoid(x),
//
//	dx = dy · s · (1 + x·(1 − s))
func SiLUBackward(x, dy *Tensor) *Tensor {
	if !sameShape(x, dy) {
		panic(fmt.Sprintf("tensor: SiLUBackward of %v with dy %v", x.Shape, dy.Shape))
	}
	dx := New(x.Shape...)
	for i, v := range x.Data {
		s := 1 / (1 + Exp32(-v))
		dx.Data[i] = float32(dy.Data[i]*s) * (1 + float32(v*(1-s)))
	}
	return dx
}

// LinearBackward is the backward pass of Linear(x, w, bias), x (R,in) with R
// the product of x's leading dimensions. It adds
//
//	dw += dyᵀ · x,  (out,R)·(R,in)        db[o] += Σ_r dy[r,o]   (db nil: no bias)
//
// and returns dx = dy · W, (R,out)·(out,in) -> (R,in), shaped like x.
func LinearBackward(x, w, dy *Tensor, dw *Tensor, db []float32) *Tensor {
	if len(x.Shape) < 1 || len(w.Shape) != 2 || x.Shape[len(x.Shape)-1] != w.Shape[1] || !sameShape(w, dw) ||
		(db != nil && len(db) != w.Shape[0]) || dy.Numel()*w.Shape[1] != x.Numel()*w.Shape[0] {
		panic(fmt.Sprintf("tensor: LinearBackward of %v by %v (dy %v, dw %v, db %d)", x.Shape, w.Shape, dy.Shape, dw.Shape, len(db)))
	}
	in, no := w.Shape[1], w.Shape[0]
	rows := x.Numel() / in
	dx := New(x.Shape...)
	Gemm(rows, in, no, dy.Data, no, w.Data, in, dx.Data, in)

	buf := getScratch(no*rows + no*in)
	defer putScratch(buf)
	dyT, dwB := buf[:no*rows], buf[no*rows:]
	transpose(dyT, dy.Data, rows, no)
	Gemm(no, in, rows, dyT, rows, x.Data, in, dwB, in)
	for i, v := range dwB {
		dw.Data[i] += v
	}
	for o := range db {
		var s float64
		for _, v := range dyT[o*rows : (o+1)*rows] {
			s += float64(v)
		}
		db[o] += float32(s)
	}
	return dx
}

// AttentionBackward is the backward pass of Attention(q, k, v, heads, scale),
// all [B,T,C]. Per image and head, with P = softmax(q kᵀ·scale) recomputed
// as the forward computes it and dO the head's slice of dout:
//
//	dv = Pᵀ·dO                       (T,T)ᵀ·(T,D) -> (T,D)
//	dP = dO·vᵀ                       (T,D)·(D,T) -> (T,T)
//	dS = P ⊙ (dP − rowsum(dP ⊙ P))·scale   (the softmax's backward)
//	dq = dS·k,  dk = dSᵀ·q           (T,T)·(T,D) -> (T,D)
func AttentionBackward(q, k, v, dout *Tensor, heads int, scale float32) (dq, dk, dv *Tensor) {
	if len(q.Shape) != 3 || !sameShape(q, k) || !sameShape(q, v) || !sameShape(q, dout) || heads < 1 || q.Shape[2]%heads != 0 {
		panic(fmt.Sprintf("tensor: AttentionBackward of %v, %v, %v (dout %v) with %d heads", q.Shape, k.Shape, v.Shape, dout.Shape, heads))
	}
	nb, t, c := q.Shape[0], q.Shape[1], q.Shape[2]
	d := c / heads
	dq, dk, dv = New(nb, t, c), New(nb, t, c), New(nb, t, c)
	buf := getScratch(4*t*t + d*t)
	defer putScratch(buf)
	p, pt, dp, ds, hT := buf[:t*t], buf[t*t:2*t*t], buf[2*t*t:3*t*t], buf[3*t*t:4*t*t], buf[4*t*t:]
	for b := 0; b < nb; b++ {
		off := b * t * c
		for h := 0; h < heads; h++ {
			qh, kh, vh, doh := q.Data[off+h*d:], k.Data[off+h*d:], v.Data[off+h*d:], dout.Data[off+h*d:]
			dqh, dkh, dvh := dq.Data[off+h*d:], dk.Data[off+h*d:], dv.Data[off+h*d:]

			// P = softmax(q_h k_hᵀ · scale), row by row.
			transposeStrided(hT, kh, t, d, c)
			Gemm(t, t, d, qh, c, hT, t, p, t)
			for r := 0; r < t; r++ {
				softmaxRow(p[r*t:(r+1)*t], scale)
			}

			// dv_h = Pᵀ dO_h.
			transpose(pt, p, t, t)
			Gemm(t, d, t, pt, t, doh, c, dvh, c)

			// dP = dO_h v_hᵀ; dS = P ⊙ (dP − Σ_j dP⊙P)·scale.
			transposeStrided(hT, vh, t, d, c)
			Gemm(t, t, d, doh, c, hT, t, dp, t)
			for r := 0; r < t; r++ {
				pr, dpr, dsr := p[r*t:(r+1)*t], dp[r*t:(r+1)*t], ds[r*t:(r+1)*t]
				var dot float32
				for j, pv := range pr {
					dot += float32(pv * dpr[j])
				}
				for j, pv := range pr {
					dsr[j] = float32(pv*(dpr[j]-dot)) * scale
				}
			}

			// dq_h = dS k_h; dk_h = dSᵀ q_h.
			Gemm(t, d, t, ds, t, kh, c, dqh, c)
			transpose(pt, ds, t, t)
			Gemm(t, d, t, pt, t, qh, c, dkh, c)
		}
	}
	return dq, dk, dv
}

// transposeStrided writes the r×c block of src (row stride ld) into dst as
// c×r.
func transposeStrided(dst, src []float32, r, c, ld int) {
	for i := 0; i < r; i++ {
		for j, v := range src[i*ld : i*ld+c] {
			dst[j*r+i] = v
		}
	}
}

// Upsample2xBackward is the backward pass of Upsample2x: each input pixel
// receives the sum of the 2x2 block it was copied to,
//
//	dx[n,c,y,x] = dy[n,c,2y,2x] + dy[n,c,2y,2x+1] + dy[n,c,2y+1,2x] + dy[n,c,2y+1,2x+1]
//
// [N,C,2H,2W] -> [N,C,H,W]. It panics unless dy is 4-D with even H and W.
func Upsample2xBackward(dy *Tensor) *Tensor {
	if len(dy.Shape) != 4 || dy.Shape[2]%2 != 0 || dy.Shape[3]%2 != 0 {
		panic(fmt.Sprintf("tensor: Upsample2xBackward of %v", dy.Shape))
	}
	h, w := dy.Shape[2]/2, dy.Shape[3]/2
	dx := New(dy.Shape[0], dy.Shape[1], h, w)
	for p := 0; p < dy.Shape[0]*dy.Shape[1]*h; p++ {
		top := dy.Data[2*p*2*w : (2*p+1)*2*w]
		bottom := dy.Data[(2*p+1)*2*w : (2*p+2)*2*w]
		dst := dx.Data[p*w : (p+1)*w]
		for i := range dst {
			dst[i] = (top[2*i] + top[2*i+1]) + (bottom[2*i] + bottom[2*i+1])
		}
	}
	return dx
}

// ConcatBackward is the backward pass of Concat(a, b) with a holding ca
// channels: it splits dy [N,Ca+Cb,H,W] into da [N,Ca,H,W] and db [N,Cb,H,W].
func ConcatBackward(dy *Tensor, ca int) (da, db *Tensor) {
	if len(dy.Shape) != 4 || ca < 0 || ca > dy.Shape[1] {
		panic(fmt.Sprintf("tensor: ConcatBackward of %v at channel %d", dy.Shape, ca))
	}
	n, hw := dy.Shape[0], dy.Shape[2]*dy.Shape[3]
	cb := dy.Shape[1] - ca
	da, db = New(n, ca, dy.Shape[2], dy.Shape[3]), New(n, cb, dy.Shape[2], dy.Shape[3])
	for i := 0; i < n; i++ {
		img := dy.Data[i*(ca+cb)*hw : (i+1)*(ca+cb)*hw]
		copy(da.Data[i*ca*hw:(i+1)*ca*hw], img[:ca*hw])
		copy(db.Data[i*cb*hw:(i+1)*cb*hw], img[ca*hw:])
	}
	return da, db
}

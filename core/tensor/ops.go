package tensor

import (
	"fmt"
	"math"
	"sync"
)

// GroupNorm normalises x [N,C,...] over each of the groups channel blocks of
// every image, as torch's GroupNorm:
//
//	y[n,c,…] = (x[n,c,…] - μ[n,g]) / sqrt(σ²[n,g] + eps) · gamma[c] + beta[c]
//
// where g = c / (C/groups) and μ, σ² are the mean and biased variance over the
// group's C/groups channels and all spatial positions (accumulated in
// float64, see moments). It panics if C is not a multiple of groups or gamma,
// beta do not have C values.
func GroupNorm(x *Tensor, groups int, gamma, beta []float32, eps float32) *Tensor {
	if len(x.Shape) < 2 || groups < 1 || x.Shape[1]%groups != 0 || len(gamma) != x.Shape[1] || len(beta) != x.Shape[1] {
		panic(fmt.Sprintf("tensor: GroupNorm of %v in %d groups (gamma %d, beta %d)", x.Shape, groups, len(gamma), len(beta)))
	}
	c := x.Shape[1]
	hw := x.Numel() / (x.Shape[0] * c)
	cg := c / groups
	out := New(x.Shape...)
	parallelFor(x.Shape[0]*groups, 6*float64(cg*hw), func(lo, hi int) { groupNorm(out.Data, x.Data, lo, hi, groups, cg, hw, gamma, beta, eps) })
	return out
}

// groupNorm normalises the groups ng in [lo,hi) (group ng%groups of image
// ng/groups) of x into out, each cg channels of hw values.
func groupNorm(out, x []float32, lo, hi, groups, cg, hw int, gamma, beta []float32, eps float32) {
	for ng := lo; ng < hi; ng++ {
		src := x[ng*cg*hw : (ng+1)*cg*hw]
		dst := out[ng*cg*hw : (ng+1)*cg*hw]
		mean, variance := moments(src)
		inv := 1 / math.Sqrt(variance+float64(eps))
		c0 := (ng % groups) * cg
		for ch := 0; ch < cg; ch++ {
			// y = x·a + b with a = gamma/sqrt(σ²+eps), b = beta - μ·a.
			a := float32(inv * float64(gamma[c0+ch]))
			b := float32(float64(beta[c0+ch]) - float64(mean*float64(a)))
			scaleShift(dst[ch*hw:(ch+1)*hw], src[ch*hw:(ch+1)*hw], a, b)
		}
	}
}

// moments returns the mean and the biased variance of x, accumulated in
// float64 as E[x] and E[x²] - E[x]² in four interleaved partial sums.
func moments(x []float32) (mean, variance float64) {
	var s0, s1, s2, s3, q0, q1, q2, q3 float64
	n := len(x)
	for len(x) >= 4 {
		v0, v1, v2, v3 := float64(x[0]), float64(x[1]), float64(x[2]), float64(x[3])
		s0, s1, s2, s3 = s0+v0, s1+v1, s2+v2, s3+v3
		q0 += float64(v0 * v0)
		q1 += float64(v1 * v1)
		q2 += float64(v2 * v2)
		q3 += float64(v3 * v3)
		x = x[4:]
	}
	for _, v := range x {
		s0 += float64(v)
		q0 += float64(float64(v) * float64(v))
	}
	mean = (s0 + s1 + s2 + s3) / float64(n)
	variance = max(0, (q0+q1+q2+q3)/float64(n)-float64(mean*mean))
	return mean, variance
}

// SiLU returns x·sigmoid(x) = x / (1 + e^-x) elementwise, as a new tensor.
func SiLU(x *Tensor) *Tensor {
	out := New(x.Shape...)
	// Natively split over goroutines in blocks of siluBlock values.
	blocks := (len(x.Data) + siluBlock - 1) / siluBlock
	parallelFor(blocks, 40*siluBlock, func(lo, hi int) {
		silu(out.Data[lo*siluBlock:min(hi*siluBlock, len(x.Data))], x.Data[lo*siluBlock:])
	})
	return out
}

const siluBlock = 1024

// SiLUInPlace sets x to SiLU(x), as SiLU computes it, and returns x: for a
// caller that has no further use for x, such as inference, which keeps no
// activations for a backward pass. Each block is computed into a buffer on
// the stack, then copied back.
func SiLUInPlace(x *Tensor) *Tensor {
	blocks := (len(x.Data) + siluBlock - 1) / siluBlock
	parallelFor(blocks, 40*siluBlock, func(lo, hi int) {
		var buf [siluBlock]float32
		for b := lo; b < hi; b++ {
			d := x.Data[b*siluBlock : min((b+1)*siluBlock, len(x.Data))]
			silu(buf[:len(d)], d)
			copy(d, buf[:len(d)])
		}
	})
	return x
}

// siluPasses sets o[i] = x[i] / (1 + e^-x[i]) in three passes: o = -x,
// o = e^o, o = x / (1 + o).
func siluPasses(o, x []float32) {
	x = x[:len(o)]
	for i, v := range x {
		o[i] = -v
	}
	expInto(o, o)
	siluTail(o, x)
}

// scaleShiftScalar sets d[i] = float32(s[i]·a) + b.
func scaleShiftScalar(d, s []float32, a, b float32) {
	s = s[:len(d)]
	for i, v := range s {
		d[i] = float32(v*a) + b
	}
}

// siluTailScalar sets o[i] = x[i] / (1 + o[i]), with o[i] = e^-x[i].
func siluTailScalar(o, x []float32) {
	x = x[:len(o)]
	for i, v := range x {
		o[i] = v / (1 + o[i])
	}
}

// addScalar sets d[i] = a[i] + b[i].
func addScalar(d, a, b []float32) {
	a, b = a[:len(d)], b[:len(d)]
	for i, v := range a {
		d[i] = v + b[i]
	}
}

// Linear is torch's Linear: out = x @ W^T + b, (..., in) -> (..., out), with
// w [out,in] and bias nil or out values. It panics if the sizes disagree.
func Linear(x, w *Tensor, bias []float32) *Tensor {
	return linear(x, w, product{pack: transposedB(w.Data, w.Shape[1])}, bias)
}

// LinearWeights are a linear layer's weights w [out,in] with B = Wᵀ kept
// in the GEMM's packed layout, made on first use, for a model whose weights
// do not change (sampling): the GEMM then reads its panels where they are,
// where Linear gathers them from w a column at a time at every call. The
// products and their order are Linear's, so are the bits.
type LinearWeights struct {
	w    *Tensor
	once sync.Once
	bp   []float32 // strip s of Wᵀ, all in rows: bp[(s·in + p)·nr + j] = w[s·nr+j][p], 0 past out
}

// NewLinearWeights returns w, which must be 2-D, with Wᵀ kept packed.
func NewLinearWeights(w *Tensor) *LinearWeights {
	if len(w.Shape) != 2 {
		panic(fmt.Sprintf("tensor: NewLinearWeights of %v", w.Shape))
	}
	return &LinearWeights{w: w}
}

// Linear is Linear(x, w, bias) for the kept weights.
func (lw *LinearWeights) Linear(x *Tensor, bias []float32) *Tensor {
	no, in := lw.w.Shape[0], lw.w.Shape[1]
	lw.once.Do(func() {
		lw.bp = make([]float32, roundUp(no, nr)*in)
		packBT(lw.bp, lw.w.Data, in, in, no)
	})
	packed := func(p0, kb, j0 int) ([]float32, int) { return lw.bp[(j0/nr*in+p0)*nr:], in * nr }
	return linear(x, lw.w, product{packed: packed}, bias)
}

// linear is Linear with B = Wᵀ given by b's pack or packed (its c unset).
func linear(x, w *Tensor, b product, bias []float32) *Tensor {
	if len(x.Shape) < 1 || len(w.Shape) != 2 || x.Shape[len(x.Shape)-1] != w.Shape[1] ||
		(bias != nil && len(bias) != w.Shape[0]) {
		panic(fmt.Sprintf("tensor: Linear of %v by %v (bias %d)", x.Shape, w.Shape, len(bias)))
	}
	in, no := w.Shape[1], w.Shape[0]
	rows := x.Numel() / in
	shape := append(append([]int(nil), x.Shape[:len(x.Shape)-1]...), no)
	out := New(shape...)
	b.c = out.Data
	gemmAcc(rows, no, in, x.Data, in, []product{b}, no)
	if bias != nil {
		for r := 0; r < rows; r++ {
			o := out.Data[r*no : (r+1)*no]
			for j, bv := range bias {
				o[j] += bv
			}
		}
	}
	return out
}

// AddPerChannel adds v [B,C] to every pixel of x [B,C,H,W] in place,
// x[b,c,:,:] += v[b,c], and returns x: with SIMD through scaleShift, as
// x·1 + v, which is x + v bit for bit. It panics unless the shapes agree.
func AddPerChannel(x, v *Tensor) *Tensor {
	if len(x.Shape) != 4 || len(v.Shape) != 2 || v.Shape[0] != x.Shape[0] || v.Shape[1] != x.Shape[1] {
		panic(fmt.Sprintf("tensor: AddPerChannel of %v to %v", v.Shape, x.Shape))
	}
	hw := x.Shape[2] * x.Shape[3]
	for bc, add := range v.Data {
		p := x.Data[bc*hw : (bc+1)*hw]
		scaleShift(p, p, 1, add)
	}
	return x
}

// Attention is multi-head scaled dot-product attention over q, k, v [B,T,C].
// Head h owns the channels [h·D, (h+1)·D) with D = C/heads, and
//
//	out_h = softmax(q_h k_hᵀ · scale) v_h,  (T,D)·(D,T) -> (T,T), (T,T)·(T,D) -> (T,D)
//
// with the softmax over each row. The caller passes scale, usually D^-0.5.
// It returns [B,T,C] and panics if the shapes differ or C is not a multiple
// of heads.
func Attention(q, k, v *Tensor, heads int, scale float32) *Tensor {
	if len(q.Shape) != 3 || !sameShape(q, k) || !sameShape(q, v) || heads < 1 || q.Shape[2]%heads != 0 {
		panic(fmt.Sprintf("tensor: Attention of %v, %v, %v with %d heads", q.Shape, k.Shape, v.Shape, heads))
	}
	nb, t, c := q.Shape[0], q.Shape[1], q.Shape[2]
	d := c / heads
	out := New(nb, t, c)
	// Natively the (image, head) pairs are split over goroutines.
	parallelFor(nb*heads, float64(t)*float64(t)*(4*float64(d)+30), func(lo, hi int) {
		s := make([]float32, t*t)
		for bh := lo; bh < hi; bh++ {
			off := bh/heads*t*c + bh%heads*d
			qh, kh, vh, oh := q.Data[off:], k.Data[off:], v.Data[off:], out.Data[off:]
			clearRows(s, t, t, t)
			gemmOn(1, t, t, d, qh, c, []product{{pack: transposedB(kh, c), c: s}}, t) // S = q_h k_hᵀ
			for r := 0; r < t; r++ {
				softmaxRow(s[r*t:(r+1)*t], scale)
			}
			clearRows(oh, t, d, c)
			gemmOn(1, t, d, t, s, t, []product{{pack: denseB(vh, c), c: oh}}, c) // out_h = P v_h
		}
	})
	return out
}

// softmaxRow replaces row with softmax(row·scale) = e^(row·scale - max) / Σ e^(…).
func softmaxRow(row []float32, scale float32) {
	mx := float32(row[0] * scale)
	for _, v := range row {
		if v := float32(v * scale); v > mx {
			mx = v
		}
	}
	// v·scale − mx is v·scale + (−mx), bit for bit; and e·inv + 0 is e·inv,
	// since no e is −0: scaleShift does both passes with SIMD.
	scaleShift(row, row, scale, -mx)
	expInto(row, row)
	var sum float32
	for _, e := range row {
		sum += e
	}
	scaleShift(row, row, 1/sum, 0)
}

// Upsample2x is nearest-neighbour upsampling by 2: [N,C,H,W] -> [N,C,2H,2W]
// with out[n,c,y,x] = in[n,c,y/2,x/2]. It panics unless x is 4-D.
func Upsample2x(x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("tensor: Upsample2x of %v", x.Shape))
	}
	h, w := x.Shape[2], x.Shape[3]
	out := New(x.Shape[0], x.Shape[1], 2*h, 2*w)
	for p := 0; p < x.Shape[0]*x.Shape[1]*h; p++ {
		src := x.Data[p*w : (p+1)*w]
		dst := out.Data[2*p*2*w : (2*p+1)*2*w]
		for i, v := range src {
			dst[2*i] = v
			dst[2*i+1] = v
		}
		copy(out.Data[(2*p+1)*2*w:(2*p+2)*2*w], dst)
	}
	return out
}

// Concat joins a [N,Ca,H,W] and b [N,Cb,H,W] along the channels into
// [N,Ca+Cb,H,W]. It panics if N, H or W differ.
func Concat(a, b *Tensor) *Tensor {
	if len(a.Shape) != 4 || len(b.Shape) != 4 || a.Shape[0] != b.Shape[0] || a.Shape[2] != b.Shape[2] || a.Shape[3] != b.Shape[3] {
		panic(fmt.Sprintf("tensor: Concat of %v and %v", a.Shape, b.Shape))
	}
	n, hw := a.Shape[0], a.Shape[2]*a.Shape[3]
	sa, sb := a.Shape[1]*hw, b.Shape[1]*hw
	out := New(n, a.Shape[1]+b.Shape[1], a.Shape[2], a.Shape[3])
	for i := 0; i < n; i++ {
		copy(out.Data[i*(sa+sb):], a.Data[i*sa:(i+1)*sa])
		copy(out.Data[i*(sa+sb)+sa:], b.Data[i*sb:(i+1)*sb])
	}
	return out
}

// Add returns a + b elementwise. It panics if the shapes differ.
func Add(a, b *Tensor) *Tensor {
	if !sameShape(a, b) {
		panic(fmt.Sprintf("tensor: Add of %v and %v", a.Shape, b.Shape))
	}
	out := New(a.Shape...)
	add(out.Data, a.Data, b.Data)
	return out
}

// AddInPlace sets b to a + b elementwise, the sum Add returns, and returns
// b. It panics if the shapes differ.
func AddInPlace(a, b *Tensor) *Tensor {
	if !sameShape(a, b) {
		panic(fmt.Sprintf("tensor: AddInPlace of %v and %v", a.Shape, b.Shape))
	}
	add(b.Data, a.Data, b.Data)
	return b
}

// ToTokens turns an image batch [B,C,H,W] into token rows [B,H·W,C]:
// out[b,y·W+x,c] = in[b,c,y,x]. It panics unless x is 4-D.
func ToTokens(x *Tensor) *Tensor {
	if len(x.Shape) != 4 {
		panic(fmt.Sprintf("tensor: ToTokens of %v", x.Shape))
	}
	nb, c, hw := x.Shape[0], x.Shape[1], x.Shape[2]*x.Shape[3]
	out := New(nb, hw, c)
	for b := 0; b < nb; b++ {
		transpose(out.Data[b*hw*c:(b+1)*hw*c], x.Data[b*hw*c:(b+1)*hw*c], c, hw)
	}
	return out
}

// FromTokens is the inverse of ToTokens: [B,H·W,C] -> [B,C,H,W]. It panics if
// the token count is not h·w.
func FromTokens(x *Tensor, h, w int) *Tensor {
	if len(x.Shape) != 3 || x.Shape[1] != h*w {
		panic(fmt.Sprintf("tensor: FromTokens of %v to %dx%d", x.Shape, h, w))
	}
	nb, c, hw := x.Shape[0], x.Shape[2], h*w
	out := New(nb, c, h, w)
	for b := 0; b < nb; b++ {
		transpose(out.Data[b*hw*c:(b+1)*hw*c], x.Data[b*hw*c:(b+1)*hw*c], hw, c)
	}
	return out
}

// transpose writes the r×c row-major matrix src into dst as c×r.
func transpose(dst, src []float32, r, c int) {
	for i := 0; i < r; i++ {
		row := src[i*c : (i+1)*c]
		for j, v := range row {
			dst[j*r+i] = v
		}
	}
}

func sameShape(a, b *Tensor) bool {
	if len(a.Shape) != len(b.Shape) {
		return false
	}
	for i, d := range a.Shape {
		if b.Shape[i] != d {
			return false
		}
	}
	return true
}

package tensor

import "sync"

// The GEMM is Goto-style. The k dimension is cut into panels of at most kc.
// A is packed once per call, panel by panel, into strips of mr rows; B is
// packed one panel of at most nc columns at a time into strips of nr columns.
// Both are laid out in the order the micro-kernel reads them, and the
// micro-kernel keeps an mr×nr tile of C in registers while it runs down a
// panel. Rows are visited in blocks of mc, so that a block of packed A stays
// in the L2 cache while a strip of B sits in L1.
//
// Determinism: C[i][j] = Σ_panels (Σ_{p in panel} A[i][p]·B[p][j]) where each
// inner sum runs over p in ascending order from 0 and the panels are added to
// C in ascending order. The panel depth depends on k alone, so the bits of
// C[i][j] depend only on row i of A and column j of B: not on m, n, the tile
// a value falls in, the batch, the platform or how the work is split across
// goroutines.
const (
	mr = 4   // rows of the register tile (packA and the kernels are written for 4)
	nr = 8   // columns of the register tile (two 4-lane vectors; the kernels are written for 8)
	kc = 264 // greatest depth of a packed panel (a multiple of 12, see panelDepth)
	mc = 120 // rows in a block of packed A (a multiple of mr)
	nc = 512 // columns of a packed B panel (a multiple of nr)
)

// Gemm computes C = A·B for row-major A (m×k, row stride lda), B (k×n, row
// stride ldb) and C (m×n, row stride ldc). C is overwritten, not accumulated
// into. Products are rounded to float32 before they are added (no fused
// multiply-add), so the result has the same bits natively and under wasm, and
// it does not depend on m, n or the number of goroutines (see above). It
// panics if a slice is too short for its dimensions.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	clearRows(c, m, n, ldc)
	gemmAcc(m, n, k, a, lda, []product{{pack: denseB(b, ldb), c: c}}, ldc)
}

func clearRows(c []float32, m, n, ldc int) {
	for i := 0; i < m; i++ {
		clear(c[i*ldc : i*ldc+n])
	}
}

// packFunc fills bp with the panel B[p0:p0+kb, j0:j0+nb] of a k×n matrix B in
// strips of nr columns, bp[s·nr·kb + p·nr + j] = B[p0+p][j0+s·nr+j], with
// zeros for the columns past nb that complete the last strip.
type packFunc func(bp []float32, p0, kb, j0, nb int)

// product is one right-hand side of gemmAcc: B (k×n, given by its panels)
// and the C (m×n) that A·B is added into. pack copies a panel into the
// GEMM's layout; a B that is held in that layout already gives its panels
// through packed instead, without a copy.
type product struct {
	pack   packFunc
	packed packedFunc
	c      []float32
}

// packedFunc returns the panel B[p0:p0+kb, j0:] of a B held in packFunc's
// layout strip by strip: strip s (columns j0+s·nr … j0+s·nr+nr−1) is
// b[s·stride : s·stride+kb·nr].
type packedFunc func(p0, kb, j0 int) (b []float32, stride int)

// gemmAcc adds A·B_i into C_i for every product i: A is m×k with row stride
// lda, each C_i is m×n with row stride ldc. A is packed once for them all,
// which is how a convolution over a batch shares its packed weights. Natively
// the nr-column strips of all products (or, when there are too few, the
// rows) are split over up to GOMAXPROCS goroutines; the split changes no
// bits.
func gemmAcc(m, n, k int, a []float32, lda int, prods []product, ldc int) {
	w := workers(2 * float64(m) * float64(n) * float64(k) * float64(len(prods)))
	gemmOn(w, m, n, k, a, lda, prods, ldc)
}

// gemmOn is gemmAcc on at most w goroutines: callers that already run
// products in parallel pass 1.
func gemmOn(w, m, n, k int, a []float32, lda int, prods []product, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 || len(prods) == 0 {
		return
	}
	size := roundUp(m, mr) * k
	pa := getBuffer(size)
	defer putBuffer(pa)
	ap := (*pa)[:size]
	packPanels(ap, m, k, a, lda)
	gemmPacked(w, m, n, k, ap, prods, ldc)
}

// packPanels packs A (m×k, row stride lda) into ap, roundUp(m, mr)·k values,
// as gemmPacked reads it: the panels of panelDepth(k) columns in turn, each
// with the rows padded to a multiple of mr in strips of mr rows (packA), so
// that A[i][p] lies at packedIndex(i, p, m, k, panelDepth(k)).
func packPanels(ap []float32, m, k int, a []float32, lda int) {
	depth, mp := panelDepth(k), roundUp(m, mr)
	for p0 := 0; p0 < k; p0 += depth {
		kb := min(depth, k-p0)
		packA(ap[p0*mp:(p0+kb)*mp], a[p0:], lda, m, kb)
	}
}

// packedIndex is the index of A[i][p] in packPanels's layout of an m×k A
// whose panels are depth = panelDepth(k) deep (a caller in a loop works it
// out once): in the panel from p0 = p - p mod depth, of depth kb, strip
// i - i mod mr, row p - p0 of the strip, lane i mod mr.
func packedIndex(i, p, m, k, depth int) int {
	p0 := p / depth * depth
	kb := min(depth, k-p0)
	return p0*roundUp(m, mr) + i/mr*mr*kb + (p-p0)*mr + i%mr
}

// gemmPacked adds A·B_i into C_i for every product i, with A (m×k) given
// packed by packPanels, on at most w goroutines.
func gemmPacked(w, m, n, k int, ap []float32, prods []product, ldc int) {
	if m <= 0 || n <= 0 || k <= 0 || len(prods) == 0 {
		return
	}
	mp := roundUp(m, mr)
	job := gemmJob{m: m, n: n, k: k, depth: panelDepth(k), ap: ap[:mp*k], prods: prods, ldc: ldc}
	strips := (n + nr - 1) / nr
	units := strips * len(prods)
	switch {
	case w > 1 && units >= 2*w:
		parallel(w, func(i int) { job.run(0, m, units*i/w, units*(i+1)/w) })
	case w > 1 && m >= 2*w*mr:
		parallel(w, func(i int) {
			blocks := mp / mr
			job.run(blocks*i/w*mr, min(m, blocks*(i+1)/w*mr), 0, units)
		})
	default:
		job.run(0, m, 0, units)
	}
}

// gemmJob is a gemmAcc call with A packed: ap holds, for each panel p0 in
// turn, the rows 0..m padded to a multiple of mr, in strips of mr rows.
type gemmJob struct {
	m, n, k, depth int
	ap             []float32
	prods          []product
	ldc            int
}

// run computes rows [i0,i1) (i0 a multiple of mr) of the strips [u0,u1),
// where strip u is columns [nr·(u mod s), nr·(u mod s)+nr) of product u/s and
// s is the number of strips per product.
func (g *gemmJob) run(i0, i1, u0, u1 int) {
	pb := panelPool.Get().(*[]float32)
	defer panelPool.Put(pb)
	strips := (g.n + nr - 1) / nr
	mp := roundUp(g.m, mr)
	for u := u0; u < u1; {
		first := u / strips * strips // product u/strips's first strip
		end := min(u1, first+strips)
		prod := g.prods[u/strips]
		j0, j1 := (u-first)*nr, min(g.n, (end-first)*nr)
		u = end
		for jb := j0; jb < j1; jb += nc {
			nb := min(nc, j1-jb)
			for p0 := 0; p0 < g.k; p0 += g.depth {
				kb := min(g.depth, g.k-p0)
				bp, stride := (*pb)[:kb*roundUp(nb, nr)], kb*nr
				if prod.packed != nil {
					bp, stride = prod.packed(p0, kb, jb)
				} else {
					prod.pack(bp, p0, kb, jb, nb)
				}
				ap := g.ap[p0*mp : (p0+kb)*mp]
				for ib := i0; ib < i1; ib += mc {
					mb := min(mc, i1-ib)
					macroKernel(ap[ib*kb:], bp, stride, kb, mb, nb, prod.c[ib*g.ldc+jb:], g.ldc)
				}
			}
		}
	}
}

// panelPool holds buffers for one packed panel of B.
var panelPool = sync.Pool{New: func() any {
	b := make([]float32, kc*nc)
	return &b
}}

// bufferPool holds float32 scratch slices of varying sizes: packed A and
// padded images. getBuffer(n) returns one with room for n values.
var bufferPool sync.Pool

func getBuffer(n int) *[]float32 {
	if p, ok := bufferPool.Get().(*[]float32); ok && cap(*p) >= n {
		return p
	}
	b := make([]float32, n)
	return &b
}

func putBuffer(p *[]float32) { bufferPool.Put(p) }

// panelDepth splits k into the fewest panels of at most kc, of equal depth
// rounded up to a multiple of 12; the last may be shallower. It depends on k
// alone, and it is the rule of every earlier release, whose bits it keeps.
func panelDepth(k int) int {
	panels := (k + kc - 1) / kc
	return min(kc, roundUp((k+panels-1)/panels, 12))
}

func roundUp(x, m int) int { return (x + m - 1) / m * m }

// packA copies the mb×kb block at a (row stride lda) into strips of mr rows:
// ap[s·mr·kb + p·mr + i] = a[(s·mr+i)·lda + p], zero for rows past mb.
func packA(ap, a []float32, lda, mb, kb int) {
	for s := 0; s < mb; s += mr {
		strip := ap[s*kb : (s+mr)*kb]
		if s+mr <= mb {
			r0 := a[s*lda:][:kb]
			r1 := a[(s+1)*lda:][:kb]
			r2 := a[(s+2)*lda:][:kb]
			r3 := a[(s+3)*lda:][:kb]
			for p := range r0 {
				d := strip[p*mr : p*mr+mr]
				d[0], d[1], d[2], d[3] = r0[p], r1[p], r2[p], r3[p]
			}
			continue
		}
		clear(strip)
		for i := 0; i < mb-s; i++ {
			row := a[(s+i)*lda : (s+i)*lda+kb]
			for p, v := range row {
				strip[p*mr+i] = v
			}
		}
	}
}

// denseB packs panels of a row-major B with row stride ldb.
func denseB(b []float32, ldb int) packFunc {
	return func(bp []float32, p0, kb, j0, nb int) { packB(bp, b[p0*ldb+j0:], ldb, kb, nb) }
}

// transposedB packs panels of B from Bᵀ, row-major with row stride ldb.
func transposedB(bt []float32, ldb int) packFunc {
	return func(bp []float32, p0, kb, j0, nb int) { packBT(bp, bt[j0*ldb+p0:], ldb, kb, nb) }
}

// packB copies the kb×nb panel at b (row stride ldb) into strips of nr
// columns: bp[s·nr·kb + p·nr + j] = b[p·ldb + s·nr + j], zero past nb.
func packB(bp, b []float32, ldb, kb, nb int) {
	for s := 0; s < nb; s += nr {
		strip := bp[s*kb : (s+nr)*kb]
		if s+nr <= nb {
			for p := 0; p < kb; p++ {
				row := b[p*ldb+s:]
				copyRow(strip[p*nr:], row, row[nr/2:])
			}
			continue
		}
		clear(strip)
		for p := 0; p < kb; p++ {
			copy(strip[p*nr:p*nr+nb-s], b[p*ldb+s:p*ldb+nb])
		}
	}
}

// packBT packs the same panel from Bᵀ, stored as bt (nb×kb, row stride ldb):
// bp[s·nr·kb + p·nr + j] = bt[(s·nr+j)·ldb + p].
func packBT(bp, bt []float32, ldb, kb, nb int) {
	for s := 0; s < nb; s += nr {
		strip := bp[s*kb : (s+nr)*kb]
		if s+nr > nb {
			clear(strip)
		}
		for j := 0; j < min(nr, nb-s); j++ {
			for p, v := range bt[(s+j)*ldb:][:kb] {
				strip[p*nr+j] = v
			}
		}
	}
}

// macroKernel adds the product of a packed mb×kb block and a packed kb×nb
// panel, whose strips lie stride floats apart in bp, into c (row stride
// ldc), one mr×nr register tile at a time: the whole tiles of a column of
// tiles in one kernel call, partial tiles at the bottom and right edges
// through a scratch tile.
func macroKernel(ap, bp []float32, stride, kb, mb, nb int, c []float32, ldc int) {
	var edge [mr * nr]float32
	for j := 0; j < nb; j += nr {
		bs := bp[j/nr*stride:][:kb*nr]
		i := 0
		if j+nr <= nb && mb >= mr {
			kernel(ap, bs, c[j:], ldc, mb/mr)
			i = mb / mr * mr
		}
		for ; i < mb; i += mr {
			as := ap[i*kb : (i+mr)*kb]
			edge = [mr * nr]float32{}
			kernel(as, bs, edge[:], nr, 1)
			for ii := 0; ii < min(mr, mb-i); ii++ {
				for jj := 0; jj < min(nr, nb-j); jj++ {
					c[(i+ii)*ldc+j+jj] += edge[ii*nr+jj]
				}
			}
		}
	}
}

package tensor

// Winograd F(2×2, 3×3). A 3x3, stride-1 convolution gives each 2×2 block of
// outputs from the 4×4 input tile d_c above it (c the input channel) with 16
// products per channel pair instead of 36:
//
//	Y_o = bias[o] + Aᵀ [ Σ_c U_{o,c} ⊙ V_c ] A,   U_{o,c} = G g_{o,c} Gᵀ,   V_c = Bᵀ d_c B
//
//	Bᵀ = [1  0 -1  0]    G = [1   0   0]    Aᵀ = [1 1  1  0]
//	     [0  1  1  0]        [½   ½   ½]         [0 1 -1 -1]
//	     [0 -1  1  0]        [½  -½   ½]
//	     [0  1  0 -1]        [0   0   1]
//
// For each of the 16 positions ξ of a tile the sum over c is a GEMM,
// M_ξ = U_ξ·V_ξ with U_ξ (Cout×Cin) and V_ξ (Cin×tiles), done by gemmAcc, so
// an output keeps the GEMM's guarantees: its bits depend only on its weights
// and its own tile, not on the batch, the platform or the goroutines. The
// transforms only add, subtract and halve, and each halving is rounded
// explicitly (float32(x*0.5)) so that it cannot be fused into an FMA. The
// transformed weights U_ξ come packed for the GEMM (ConvWeights.
// winogradWeights): made at every call, or once for a run of calls.
//
// The input tiles overlap: tile (ty, tx) reads the padded image's rows
// 2ty..2ty+3 and columns 2tx..2tx+3. Each channel is first copied, padded,
// with its even and odd columns apart (splitChannel), so that entry (i, j)
// of four tiles side by side is four consecutive values, which the SIMD
// transforms load as one vector.

// useWinograd reports whether Conv2d runs a 3x3, stride-1 convolution with
// cin input and cout output channels and an ho×wo output as Winograd. It
// depends on the shape alone, so that an image gives the same bits alone or
// in a batch, natively or under wasm. BenchmarkConvPath measures the rule:
// at 8x8 and above, with 16 or more channels in and out, Winograd is 1.3-2x
// faster natively and under wasm; at 4x4 (16 GEMMs over 4 tiles) it gains
// nothing under wasm, and with the 3 channels of conv_in or conv_out the
// GEMMs are too thin.
func useWinograd(cin, cout, ho, wo int) bool {
	return cin >= 16 && cout >= 16 && ho >= 8 && wo >= 8
}

// winogradConv sets out [N,Cout,Ho,Wo] to the 3x3, stride-1 convolution of
// the n images x [N,Cin,H,W] zero-padded by pad, with weights whose U_ξ u
// holds (packed by weightTiles), plus bias (nil for none).
func winogradConv(out, x []float32, n, cin, h, w int, pad Padding, u []float32, cout int, bias []float32) {
	ho, wo := h+pad.Top+pad.Bottom-2, w+pad.Left+pad.Right-2
	th, tw := (ho+1)/2, (wo+1)/2
	tiles := th * tw
	cols := n * tiles // column b·tiles + t is tile t of image b
	strips := (cols + nr - 1) / nr
	bv := getBuffer(16 * cin * strips * nr)
	defer putBuffer(bv)
	bm := getBuffer(16 * cout * cols)
	defer putBuffer(bm)
	v, m := (*bv)[:16*cin*strips*nr], (*bm)[:16*cout*cols]

	// V_ξ is held as the GEMM packs it (see inputTiles), so that the GEMM
	// reads its panels where they are; the column past cols that completes
	// the last strip is zero.
	if cols%nr != 0 {
		clear(v[(strips-1)*16*cin*nr:])
	}
	// Natively the transforms of the images' channels are split over the
	// goroutines that the GEMMs use; each one is computed alone.
	wk := workers(32 * float64(cout) * float64(cin) * float64(cols))
	split := splitSize(th, tw)
	parallel(wk, func(i int) {
		bs := getBuffer(split)
		defer putBuffer(bs)
		s := (*bs)[:split]
		for bc := n * cin * i / wk; bc < n*cin*(i+1)/wk; bc++ {
			splitChannel(s, x[bc*h*w:(bc+1)*h*w], h, w, pad, tw)
			inputTiles(v, bc/cin*tiles, cin, bc%cin, s, th, tw)
		}
	})
	// M_ξ = U_ξ·V_ξ: m[(o·16+ξ)·cols + q] = M_o[ξ] of column q. Natively
	// the 16 products are split over the goroutines, each computed alone.
	clear(m)
	size := roundUp(cout, mr) * cin // of one packed U_ξ
	parallelFor(16, 2*float64(cout)*float64(cin)*float64(cols), func(lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			packed := func(p0, kb, j0 int) ([]float32, int) {
				return v[((j0/nr*16+xi)*cin+p0)*nr:], 16 * cin * nr
			}
			gemmPacked(1, cout, cols, cin, u[xi*size:(xi+1)*size], []product{{packed: packed, c: m[xi*cols:]}}, 16*cols)
		}
	})
	hw := ho * wo
	parallel(wk, func(i int) {
		for bo := n * cout * i / wk; bo < n*cout*(i+1)/wk; bo++ {
			b, o := bo/cout, bo%cout
			var bv float32
			if bias != nil {
				bv = bias[o]
			}
			outputTiles(out[bo*hw:(bo+1)*hw], ho, wo, m[o*16*cols+b*tiles:], cols, tw, bv)
		}
	})
}

// weightTiles writes entry ξ of U_{o,c} = G g Gᵀ (4×4, row-major) for the
// 3×3 kernels g = w[o,c] of w [Cout,Cin,3,3] and the output channels o in
// [o0,o1) into u, which holds U_0 … U_15 (Cout×Cin each) one after the other,
// each packed by packPanels: U_ξ[o][c] at ξ·roundUp(Cout, mr)·Cin +
// packedIndex(o, c, Cout, Cin, panelDepth(Cin)). The padding rows past Cout
// are left alone.
func weightTiles(u, w []float32, o0, o1, cin, cout int) {
	size, depth := roundUp(cout, mr)*cin, panelDepth(cin)
	for o := o0; o < o1; o++ {
		for c := 0; c < cin; c++ {
			g := w[(o*cin+c)*9 : (o*cin+c+1)*9]
			dst := u[packedIndex(o, c, cout, cin, depth):]
			dst = dst[:15*size+1]
			// G g, a column at a time: r[i][j].
			r00, r10, r20, r30 := gTimes(g[0], g[3], g[6])
			r01, r11, r21, r31 := gTimes(g[1], g[4], g[7])
			r02, r12, r22, r32 := gTimes(g[2], g[5], g[8])
			// (G g) Gᵀ, a row at a time.
			dst[0], dst[size], dst[2*size], dst[3*size] = gTimes(r00, r01, r02)
			dst[4*size], dst[5*size], dst[6*size], dst[7*size] = gTimes(r10, r11, r12)
			dst[8*size], dst[9*size], dst[10*size], dst[11*size] = gTimes(r20, r21, r22)
			dst[12*size], dst[13*size], dst[14*size], dst[15*size] = gTimes(r30, r31, r32)
		}
	}
}

// gTimes returns G·(a, b, c).
func gTimes(a, b, c float32) (float32, float32, float32, float32) {
	return a, float32((a + b + c) * 0.5), float32((a - b + c) * 0.5), c
}

// splitSize is the size of splitChannel's copy of a channel with th×tw
// tiles: 2·th+2 rows, every tile's rows, of 2·(tw+1) values.
func splitSize(th, tw int) int { return (2*th + 2) * 2 * (tw + 1) }

// splitChannel copies the channel image img (h×w), zero-padded by pad, into
// s, splitSize(th, tw) values: row r of the padded image is s[r·2(tw+1):],
// its column 2k at k and its column 2k+1 at tw+1+k, with zeros past the
// padded image, so that every tile lies inside s.
func splitChannel(s, img []float32, h, w int, pad Padding, tw int) {
	half := tw + 1
	clear(s)
	// Source columns 2j and 2j+1 land on padded columns 2j+L and 2j+1+L, L =
	// pad.Left: entry j of the half-rows that start at ea and oa.
	l := pad.Left
	ea, oa := l%2*half+l/2, (l+1)%2*half+(l+1)/2
	rows := s[pad.Top*2*half:]
	splitRows(rows, 2*half, ea, oa, img, w, h)
	if w%2 == 1 {
		for y := 0; y < h; y++ {
			rows[y*2*half+ea+w/2] = img[y*w+w-1]
		}
	}
}

// splitRowsScalar sets, for y < rows and j < w/2, dst[y·ld+ea+j] =
// src[y·w+2j] and dst[y·ld+oa+j] = src[y·w+2j+1].
func splitRowsScalar(dst []float32, ld, ea, oa int, src []float32, w, rows int) {
	pairs := w / 2
	for y := 0; y < rows; y++ {
		row, pair := dst[y*ld:], src[y*w:y*w+2*pairs]
		even, odd := row[ea:ea+pairs], row[oa:oa+pairs]
		for j := range even {
			even[j], odd[j] = pair[2*j], pair[2*j+1]
		}
	}
}

// inputTiles writes V_c = Bᵀ d B for every 4×4 tile d of the padded channel
// image in s (splitChannel's layout), th×tw tiles with top-left corners
// (2ty, 2tx), as columns q0+t, t = ty·tw+tx, of the V_ξ that v holds in the
// GEMM's packed layout: v[((s·16+ξ)·Cin + c)·nr + j] is entry ξ of column
// s·nr+j. Four tiles side by side whose columns start at a multiple of 4
// (so lie in one strip) go through inputQuads: all rows in one call when
// every row is whole quads (the UNet's sizes), else row by row, with the
// tiles before and after a row's quads through inputTile.
func inputTiles(v []float32, q0, cin, c int, s []float32, th, tw int) {
	half := tw + 1
	if q0%4 == 0 && tw%4 == 0 {
		inputQuads(v, cin, c, s, half, 0, q0, tw/4, th)
		return
	}
	ld := cin * nr
	tile := func(rows []float32, q, tx int) {
		inputTile(v[(q/nr*16*cin+c)*nr+q%nr:], ld, rows, half, tx)
	}
	for ty := 0; ty < th; ty++ {
		rows := s[2*ty*2*half : (2*ty+4)*2*half]
		q := q0 + ty*tw
		lead := min((4-q%4)%4, tw) // tiles before the first quad
		quads := (tw - lead) / 4
		for tx := 0; tx < lead; tx++ {
			tile(rows, q+tx, tx)
		}
		if quads > 0 {
			inputQuads(v, cin, c, rows, half, lead, q+lead, quads, 1)
		}
		for tx := lead + 4*quads; tx < tw; tx++ {
			tile(rows, q+tx, tx)
		}
	}
}

// inputQuadsEach is inputQuads one inputQuad at a time.
func inputQuadsEach(v []float32, cin, c int, rows []float32, half, tx, q, n, tileRows int) {
	for j := 0; j < n*tileRows; j++ {
		r, k := j/n, j%n
		qj := q + 4*j
		inputQuad(v[(qj/nr*16*cin+c)*nr+qj%nr:], cin*nr, rows[r*4*half:], half, tx+4*k)
	}
}

// inputTile writes entry ξ of V = Bᵀ d B to dst[ξ·ld] for the tile d at
// column 2tx of rows, the tile's four rows in splitChannel's layout:
// d[i][j] = rows[i·2·half + (j mod 2)·half + tx + j/2].
func inputTile(dst []float32, ld int, rows []float32, half, tx int) {
	rw := 2 * half
	d := func(i, j int) float32 { return rows[i*rw+j%2*half+tx+j/2] }
	dst = dst[:15*ld+1]
	// Bᵀ d, a column at a time: t[i][j].
	t00, t10, t20, t30 := bTTimes(d(0, 0), d(1, 0), d(2, 0), d(3, 0))
	t01, t11, t21, t31 := bTTimes(d(0, 1), d(1, 1), d(2, 1), d(3, 1))
	t02, t12, t22, t32 := bTTimes(d(0, 2), d(1, 2), d(2, 2), d(3, 2))
	t03, t13, t23, t33 := bTTimes(d(0, 3), d(1, 3), d(2, 3), d(3, 3))
	// (Bᵀ d) B, a row at a time.
	dst[0], dst[ld], dst[2*ld], dst[3*ld] = bTTimes(t00, t01, t02, t03)
	dst[4*ld], dst[5*ld], dst[6*ld], dst[7*ld] = bTTimes(t10, t11, t12, t13)
	dst[8*ld], dst[9*ld], dst[10*ld], dst[11*ld] = bTTimes(t20, t21, t22, t23)
	dst[12*ld], dst[13*ld], dst[14*ld], dst[15*ld] = bTTimes(t30, t31, t32, t33)
}

// inputQuadScalar is inputQuad tile by tile.
func inputQuadScalar(dst []float32, ld int, rows []float32, half, tx int) {
	for l := range 4 {
		inputTile(dst[l:], ld, rows, half, tx+l)
	}
}

// bTTimes returns Bᵀ·(a, b, c, d).
func bTTimes(a, b, c, d float32) (float32, float32, float32, float32) {
	return a - c, b + c, c - b, b - d
}

// outputTiles sets every 2×2 block of y (ho×wo), the one at (2ty, 2tx)
// clipped to y, to bias + Aᵀ M A, where M[ξ] = m[ξ·ld + ty·tw+tx]. Groups
// of four whole blocks side by side go through outputQuads: all rows in one
// call when every row is whole groups (the UNet's sizes), else the first
// wo/8 groups of each row of whole blocks, the rest block by block.
func outputTiles(y []float32, ho, wo int, m []float32, ld, tw int, bias float32) {
	if ho%2 == 0 && wo%8 == 0 {
		outputQuads(y, wo, m, ld, bias, wo/8, ho/2)
		return
	}
	for ty := 0; ty < (ho+1)/2; ty++ {
		y0 := 2 * ty
		tx := 0
		if y0+2 <= ho && wo >= 8 {
			outputQuads(y[y0*wo:], wo, m[ty*tw:], ld, bias, wo/8, 1)
			tx = wo / 8 * 4
		}
		for ; tx < tw; tx++ {
			x0, t := 2*tx, ty*tw+tx
			y00, y01, y10, y11 := outputTile(m[t:], ld)
			for i, v := range [2][2]float32{{y00, y01}, {y10, y11}} {
				for j := 0; j < 2 && y0+i < ho && x0+j < wo; j++ {
					y[(y0+i)*wo+x0+j] = bias + v[j]
				}
			}
		}
	}
}

// outputQuadsEach is outputQuads one outputQuad at a time.
func outputQuadsEach(y []float32, wo int, m []float32, ld int, bias float32, n, blockRows int) {
	for j := 0; j < n*blockRows; j++ {
		r, k := j/n, j%n
		outputQuad(y[r*2*wo+8*k:], wo, m[4*j:], ld, bias)
	}
}

// outputTile returns Aᵀ M A, row-major, for M[ξ] = m[ξ·ld].
func outputTile(m []float32, ld int) (y00, y01, y10, y11 float32) {
	src := m[:15*ld+1]
	// Aᵀ M, a column at a time: s[i][j].
	s00, s10 := aTTimes(src[0], src[4*ld], src[8*ld], src[12*ld])
	s01, s11 := aTTimes(src[ld], src[5*ld], src[9*ld], src[13*ld])
	s02, s12 := aTTimes(src[2*ld], src[6*ld], src[10*ld], src[14*ld])
	s03, s13 := aTTimes(src[3*ld], src[7*ld], src[11*ld], src[15*ld])
	// (Aᵀ M) A, a row at a time.
	y00, y01 = aTTimes(s00, s01, s02, s03)
	y10, y11 = aTTimes(s10, s11, s12, s13)
	return y00, y01, y10, y11
}

// outputQuadScalar is outputQuad block by block.
func outputQuadScalar(y []float32, wo int, m []float32, ld int, bias float32) {
	for l := range 4 {
		y00, y01, y10, y11 := outputTile(m[l:], ld)
		r := y[2*l : wo+2*l+2]
		r[0], r[1], r[wo], r[wo+1] = bias+y00, bias+y01, bias+y10, bias+y11
	}
}

// aTTimes returns Aᵀ·(a, b, c, d).
func aTTimes(a, b, c, d float32) (float32, float32) {
	return a + b + c, b - c - d
}

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
// weights are transformed on every call: training updates them in place.

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
// the n padded images in src ([N,Cin,g.h,g.w], every window inside) by w
// [Cout,Cin,3,3], plus bias (nil for none).
func winogradConv(out, src []float32, n int, g *convGeometry, w []float32, cout int, bias []float32) {
	cin := g.cin
	th, tw := (g.ho+1)/2, (g.wo+1)/2
	tiles := th * tw
	cols := n * tiles // column b·tiles + t is tile t of image b
	strips := (cols + nr - 1) / nr
	bu := getBuffer(16 * cout * cin)
	defer putBuffer(bu)
	bv := getBuffer(16 * cin * strips * nr)
	defer putBuffer(bv)
	bm := getBuffer(16 * cout * cols)
	defer putBuffer(bm)
	u, v, m := (*bu)[:16*cout*cin], (*bv)[:16*cin*strips*nr], (*bm)[:16*cout*cols]

	parallelFor(cout, 60*float64(cin), func(lo, hi int) { weightTiles(u, w, lo, hi, cin) })
	// V_ξ is held as the GEMM packs it (see inputTiles), so that packing a
	// panel is a copy; the column past cols that completes the last strip
	// is zero.
	if cols%nr != 0 {
		clear(v[(strips-1)*16*cin*nr:])
	}
	// Natively the transforms of the images' channels are split over the
	// goroutines that the GEMMs use; each one is computed alone.
	wk := workers(32 * float64(cout) * float64(cin) * float64(cols))
	size := g.h * g.w
	parallel(wk, func(i int) {
		for bc := n * cin * i / wk; bc < n*cin*(i+1)/wk; bc++ {
			inputTiles(v, bc/cin*tiles, cin, bc%cin, src[bc*size:(bc+1)*size], g.h, g.w, th, tw)
		}
	})
	// M_ξ = U_ξ·V_ξ: m[(o·16+ξ)·cols + q] = M_o[ξ] of column q. Natively
	// the 16 products are split over the goroutines, each computed alone.
	clear(m)
	parallelFor(16, 2*float64(cout)*float64(cin)*float64(cols), func(lo, hi int) {
		for xi := lo; xi < hi; xi++ {
			pack := func(bp []float32, p0, kb, j0, nb int) {
				for s := 0; s < nb; s += nr {
					from := (((j0+s)/nr*16+xi)*cin + p0) * nr
					copy(bp[s*kb:(s+nr)*kb], v[from:from+kb*nr])
				}
			}
			gemmOn(1, cout, cols, cin, u[xi*cin:], 16*cin, []product{{pack, m[xi*cols:]}}, 16*cols)
		}
	})
	hw := g.ho * g.wo
	parallel(wk, func(i int) {
		for bo := n * cout * i / wk; bo < n*cout*(i+1)/wk; bo++ {
			b, o := bo/cout, bo%cout
			var bv float32
			if bias != nil {
				bv = bias[o]
			}
			outputTiles(out[bo*hw:(bo+1)*hw], g.ho, g.wo, m[o*16*cols+b*tiles:], cols, tw, bv)
		}
	})
}

// weightTiles sets u[(o·16+ξ)·Cin + c] to entry ξ of U_{o,c} = G g Gᵀ (4×4,
// row-major) for the 3×3 kernels g = w[o,c] of w [Cout,Cin,3,3] and the
// output channels o in [o0,o1), so that U_ξ is u[ξ·Cin:] with row stride
// 16·Cin.
func weightTiles(u, w []float32, o0, o1, cin int) {
	for o := o0; o < o1; o++ {
		for c := 0; c < cin; c++ {
			g := w[(o*cin+c)*9 : (o*cin+c+1)*9]
			dst := u[o*16*cin+c : o*16*cin+c+15*cin+1]
			// G g, a column at a time: r[i][j].
			r00, r10, r20, r30 := gTimes(g[0], g[3], g[6])
			r01, r11, r21, r31 := gTimes(g[1], g[4], g[7])
			r02, r12, r22, r32 := gTimes(g[2], g[5], g[8])
			// (G g) Gᵀ, a row at a time.
			dst[0], dst[cin], dst[2*cin], dst[3*cin] = gTimes(r00, r01, r02)
			dst[4*cin], dst[5*cin], dst[6*cin], dst[7*cin] = gTimes(r10, r11, r12)
			dst[8*cin], dst[9*cin], dst[10*cin], dst[11*cin] = gTimes(r20, r21, r22)
			dst[12*cin], dst[13*cin], dst[14*cin], dst[15*cin] = gTimes(r30, r31, r32)
		}
	}
}

// gTimes returns G·(a, b, c).
func gTimes(a, b, c float32) (float32, float32, float32, float32) {
	return a, float32((a + b + c) * 0.5), float32((a - b + c) * 0.5), c
}

// inputTiles writes V_c = Bᵀ d B for every 4×4 tile d of the channel image
// img (h×w, zero past its edges), th×tw tiles with top-left corners (2ty, 2tx),
// as columns q0+t, t = ty·tw+tx, of the V_ξ that v holds in the GEMM's packed
// layout: v[((s·16+ξ)·Cin + c)·nr + j] is entry ξ of column s·nr+j.
func inputTiles(v []float32, q0, cin, c int, img []float32, h, w, th, tw int) {
	for t := 0; t < th*tw; t++ {
		y0, x0 := 2*(t/tw), 2*(t%tw)
		var d [16]float32
		if y0+4 <= h && x0+4 <= w {
			r := img[y0*w+x0 : (y0+3)*w+x0+4]
			d = [16]float32{r[0], r[1], r[2], r[3], r[w], r[w+1], r[w+2], r[w+3],
				r[2*w], r[2*w+1], r[2*w+2], r[2*w+3], r[3*w], r[3*w+1], r[3*w+2], r[3*w+3]}
		} else {
			for i := 0; i < 4 && y0+i < h; i++ {
				for j := 0; j < 4 && x0+j < w; j++ {
					d[4*i+j] = img[(y0+i)*w+x0+j]
				}
			}
		}
		q := q0 + t
		ld := cin * nr
		at := (q/nr*16*cin+c)*nr + q%nr
		dst := v[at : at+15*ld+1]
		// Bᵀ d, a column at a time: t[i][j].
		t00, t10, t20, t30 := bTTimes(d[0], d[4], d[8], d[12])
		t01, t11, t21, t31 := bTTimes(d[1], d[5], d[9], d[13])
		t02, t12, t22, t32 := bTTimes(d[2], d[6], d[10], d[14])
		t03, t13, t23, t33 := bTTimes(d[3], d[7], d[11], d[15])
		// (Bᵀ d) B, a row at a time.
		dst[0], dst[ld], dst[2*ld], dst[3*ld] = bTTimes(t00, t01, t02, t03)
		dst[4*ld], dst[5*ld], dst[6*ld], dst[7*ld] = bTTimes(t10, t11, t12, t13)
		dst[8*ld], dst[9*ld], dst[10*ld], dst[11*ld] = bTTimes(t20, t21, t22, t23)
		dst[12*ld], dst[13*ld], dst[14*ld], dst[15*ld] = bTTimes(t30, t31, t32, t33)
	}
}

// bTTimes returns Bᵀ·(a, b, c, d).
func bTTimes(a, b, c, d float32) (float32, float32, float32, float32) {
	return a - c, b + c, c - b, b - d
}

// outputTiles sets every 2×2 block of y (ho×wo), the one at (2ty, 2tx)
// clipped to y, to bias + Aᵀ M A, where M[ξ] = m[ξ·ld + ty·tw+tx].
func outputTiles(y []float32, ho, wo int, m []float32, ld, tw int, bias float32) {
	for t := 0; t < (ho+1)/2*tw; t++ {
		y0, x0 := 2*(t/tw), 2*(t%tw)
		src := m[t : t+15*ld+1]
		// Aᵀ M, a column at a time: s[i][j].
		s00, s10 := aTTimes(src[0], src[4*ld], src[8*ld], src[12*ld])
		s01, s11 := aTTimes(src[ld], src[5*ld], src[9*ld], src[13*ld])
		s02, s12 := aTTimes(src[2*ld], src[6*ld], src[10*ld], src[14*ld])
		s03, s13 := aTTimes(src[3*ld], src[7*ld], src[11*ld], src[15*ld])
		// (Aᵀ M) A, a row at a time.
		y00, y01 := aTTimes(s00, s01, s02, s03)
		y10, y11 := aTTimes(s10, s11, s12, s13)
		if y0+2 <= ho && x0+2 <= wo {
			r := y[y0*wo+x0 : (y0+1)*wo+x0+2]
			r[0], r[1], r[wo], r[wo+1] = bias+y00, bias+y01, bias+y10, bias+y11
			continue
		}
		for i, v := range [2][2]float32{{y00, y01}, {y10, y11}} {
			for j := 0; j < 2 && y0+i < ho && x0+j < wo; j++ {
				y[(y0+i)*wo+x0+j] = bias + v[j]
			}
		}
	}
}

// aTTimes returns Aᵀ·(a, b, c, d).
func aTTimes(a, b, c, d float32) (float32, float32) {
	return a + b + c, b - c - d
}

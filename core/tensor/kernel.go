package tensor

// The GEMM's micro-kernel comes in two builds that give the same bits: a
// scalar one (kernelScalar, below), always compiled so that tests can compare
// against it, and with GOEXPERIMENT=simd an assembly one (kernelAsm in
// simd_amd64.s and simd_wasm.s) that does the same float32 operations eight
// lanes at a time. kernel picks between them (simd.go, scalar.go).

// kernelTiles is kernelScalar for tiles tiles down c: tile t takes the A
// strip a[t·kb·mr:] and adds into c[t·mr·ldc:], all with the same b.
func kernelTiles(a, b, c []float32, ldc, tiles int) {
	kb := len(b) / nr
	for t := 0; t < tiles; t++ {
		kernelScalar(a[t*kb*mr:], b, c[t*mr*ldc:], ldc)
	}
}

// kernelScalar adds to the mr×nr tile at c (row stride ldc) the product of a
// packed A strip a (kb×mr) and a packed B strip b (kb×nr), kb = len(b)/nr:
//
//	c[i][j] += Σ_p a[p·mr+i]·b[p·nr+j]
//
// Each sum is formed from zero, over p in ascending order, with every product
// rounded to float32, and then added to c. It works through the tile two
// columns at a time, as eight scalar accumulators.
func kernelScalar(a, b, c []float32, ldc int) {
	kb := len(b) / nr
	a = a[:kb*mr]
	for j := 0; j < nr; j += 2 {
		var c00, c01, c10, c11, c20, c21, c30, c31 float32
		for p := 0; p < kb; p++ {
			x := a[p*mr : p*mr+mr : p*mr+mr]
			y := b[p*nr+j : p*nr+j+2 : p*nr+j+2]
			y0, y1 := y[0], y[1]
			c00 += float32(x[0] * y0)
			c01 += float32(x[0] * y1)
			c10 += float32(x[1] * y0)
			c11 += float32(x[1] * y1)
			c20 += float32(x[2] * y0)
			c21 += float32(x[2] * y1)
			c30 += float32(x[3] * y0)
			c31 += float32(x[3] * y1)
		}
		r := c[j : 3*ldc+j+2]
		r[0] += c00
		r[1] += c01
		r[ldc] += c10
		r[ldc+1] += c11
		r[2*ldc] += c20
		r[2*ldc+1] += c21
		r[3*ldc] += c30
		r[3*ldc+1] += c31
	}
}

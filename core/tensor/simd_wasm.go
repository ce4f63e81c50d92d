//go:build goexperiment.simd

package tensor

import "simd/archsimd"

// kernelAsm (simd_wasm.s) adds to each of tiles mr×nr tiles down c (row stride
// ldc) the product of its A strip (kb×mr, one after the other in a) and b
// (kb×nr), kb = len(b)/nr, as kernelTiles does, with the tile in eight 4-lane
// (SIMD128) accumulators, for columns 0-3 and 4-7 of each row: per p it
// broadcasts a[p·mr+i] once, multiplies it by both halves of the row
// b[p·nr:p·nr+8] and adds the rounded products (Mul, then Add: never a fused
// multiply-add), so every lane does what kernelScalar does for its element.
// Eight independent sums hide the add's latency; with the two B vectors and
// the broadcast they fit the 16 vector locals of Go's wasm port. a must hold
// tiles·kb·mr floats, ldc ≥ 0 and c reach (tiles·mr−1)·ldc+nr: kernelSIMD
// checks.
//
// It is WebAssembly for two reasons. There each broadcast is one
// v128.load32_splat, which Go's compiler does not emit: from simd/archsimd it
// is an f32.load and an f32x4.splat, which V8 turns into a load and a
// shuffle, and on x64 the shuffle takes a vector pipe from the multiplies and
// adds. And its loop is a plain wasm loop without bounds checks, where the
// compiled loop paid for Go's block dispatch on every jump back. Against the
// same loop written with simd/archsimd (Node 20, one thread, AMD EPYC) it
// measured 15.7 → 20.1 GFLOP/s at 256³ and 11.3 → 14.0 at the up blocks'
// 64×1024×1728; the same assembly with f32.load and f32x4.splat, 17.9 and
// 12.2.
//
// The loop does one p per pass, not four. Node 20's V8 places a pass's
// loads ahead of its arithmetic, so four p held 24 loaded vectors beside the
// 8 accumulators, and it spilled both to the stack (74 spill and reload
// instructions, read with node --print-wasm-code). One p holds 6, and the
// tile, the loads and one product fit in the 15 vector registers it
// allocates on x64: alone on a 120×kb strip column the kernel went from
// 16.4–18.7 to 21.6–25.7 GFLOP/s (kb = 256). In Chromium 156 the two loops
// ran alike, at 25–39 GFLOP/s.
//
//go:noescape
func kernelAsm(a, b, c []float32, ldc, tiles int)

// siluQuads is amd64's siluQuads (simd_amd64.go) in WebAssembly (siluAsm), for
// len(o) a multiple of 4 and every -x[i] in [expLow, expHigh]: the same
// operations in the same order, with the constants as their float32 bits.
// Compiled from Go, the 25 vector operations per quad went through locals and
// memory around each one.
func siluQuads(o, x []float32) { siluAsm(o, x[:len(o)]) }

//go:noescape
func siluAsm(o, x []float32)

// expQuads is amd64's expQuads in WebAssembly (expAsm), for len(o) a
// multiple of 4 and every x[i] in [expLow, expHigh]: softmax's exp.
func expQuads(o, x []float32) { expAsm(o, x[:len(o)]) }

//go:noescape
func expAsm(o, x []float32)

// scaleShiftQuads is amd64's scaleShiftQuads in WebAssembly (scaleShiftAsm),
// for len(d) a multiple of 4: GroupNorm's affine pass, softmax's shift and
// scale and the time embedding's add, where the compiled loop spent most of
// its time around its one multiply and add.
func scaleShiftQuads(d, s []float32, a, b float32) { scaleShiftAsm(d, s[:len(d)], a, b) }

//go:noescape
func scaleShiftAsm(d, s []float32, a, b float32)

// inRangeQuads is amd64's inRangeQuads in WebAssembly (inRangeAsm), for
// len(s) a multiple of 4: the range check before every SiLU and exp.
func inRangeQuads(s []float32, lo, hi float32) bool { return inRangeAsm(s, lo, hi) }

//go:noescape
func inRangeAsm(s []float32, lo, hi float32) bool

// gatherRows sets row p of a strip, d[p·nr:p·nr+nr], to lo[off[p]:off[p]+4]
// then hi[off[p]:off[p]+4] for every p (im2col's packing of a strip whose
// halves each lie on one output row): gatherAsm, where the compiled loop of
// copyRow calls spent ~5 ns per row on slicing and bounds checks. off
// ascends (convGeometry.taps), so its first and last entries bound the reads.
func gatherRows(d, lo, hi []float32, off []int) {
	if len(off) == 0 {
		return
	}
	first, last := off[0], off[len(off)-1]
	_, _, _ = d[len(off)*nr-1], lo[first], hi[first]
	_, _ = lo[last+nr/2-1], hi[last+nr/2-1]
	gatherAsm(d, lo, hi, off)
}

//go:noescape
func gatherAsm(d, lo, hi []float32, off []int)

// pow2 returns 2^n for n in [-126, 127]: the float32 with exponent n+127.
func pow2(n archsimd.Int32x4) archsimd.Float32x4 {
	return n.Add(archsimd.BroadcastInt32x4(127)).ShiftAllLeft(23).ToBits().BitsToFloat32()
}

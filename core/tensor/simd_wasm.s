//go:build goexperiment.simd

#include "textflag.h"
#include "wasm_asm.h"

// kernelAsm is kernelSIMD's loop (simd.go) written out in WebAssembly: the
// tile in eight 4-lane accumulators V0-V3 (columns 0-3 of rows 0-3) and V4-V7
// (columns 4-7), the row b[p·nr:p·nr+8] in V8 and V9, and per p and row i the
// broadcast of a[p·mr+i] in V10, multiplied by V8 and V9 and the rounded
// products added (Mul, then Add: never fused), in ascending p, so every lane
// does what kernelScalar does for its element. The broadcast is one
// v128.load32_splat, which V8 can compile to a broadcast from memory (a load),
// in place of the f32.load and f32x4.splat that Go's compiler emits (a load
// and a shuffle). One p per pass of the loop; R2 counts the p left. Then the
// next tile: its A strip follows in a (R0 is there already), b is read again
// from R7 and c moves on four rows; R6 counts the tiles left.
//
// The assembler knows the instruction but writes no memory operand (memarg)
// for it, so SPLAT writes one by hand: Block with operand $n is encoded as
// the bytes 0x02, 0x80-n, which read after the opcode are memarg
// {align 2 (4 bytes, the float's), offset 0x80-n}. The assembler counts that
// Block as an open block, which matters only to JMP and CALL (they resolve
// their targets by block depth); this function uses neither, only Br and
// BrIf with constant depths.
//
// The caller checks the bounds: a holds tiles·kb·mr and b kb·nr floats,
// with kb = len(b)/nr, and c reaches (4·tiles−1)·ldc+8.

// SPLAT pushes a[off/4] four times, a at R0; off < 128.
#define SPLAT(off) Get R0; I32WrapI64; V128Load32Splat; Block $(128-(off))

// ROW adds a[off/4]·V8 to C and a[off/4]·V9 to D.
#define ROW(C, D, off) \
	Get C; SPLAT(off); Tee V10; Get V8; F32x4Mul; F32x4Add; Set C; \
	Get D; Get V10; Get V9; F32x4Mul; F32x4Add; Set D

// STEP does one p: a[p·mr:p·mr+4] at R0, b[p·nr:p·nr+8] at R1.
#define STEP \
	Get R1; I32WrapI64; V128Load $0; Set V8; \
	Get R1; I32WrapI64; V128Load $16; Set V9; \
	ROW(V0, V4, 0); \
	ROW(V1, V5, 4); \
	ROW(V2, V6, 8); \
	ROW(V3, V7, 12)

// ADDQUAD adds the lanes of V to the four floats at R. V128Store takes its
// offset only from an operand the assembler does not fill in (it leaves
// V128Store out of its list of one-operand stores), so the address is R's
// alone, offset 0.
#define ADDQUAD(V, R) \
	Get R; I32WrapI64; \
	Get R; I32WrapI64; V128Load $0; Get V; F32x4Add; \
	V128Store

// ROWC adds the tile's row V (columns 0-3), W (columns 4-7) to c at R3 and
// moves R3 on by ldc floats (R4 bytes).
#define ROWC(V, W) \
	ADDQUAD(V, R3); \
	Get R3; I64Const $16; I64Add; Set R5; \
	ADDQUAD(W, R5); \
	Get R3; Get R4; I64Add; Set R3

// func kernelAsm(a, b, c []float32, ldc, tiles int)
TEXT ·kernelAsm(SB), NOSPLIT, $0-88
	I64Load a_base+0(FP)
	Set R0
	I64Load b_base+24(FP)
	Set R7
	I64Load b_len+32(FP)
	I64Const $3
	I64ShrU
	Set R8 // kb
	// c[i·ldc:i·ldc+8] += the tile's row i, R3 at its start, R4 = ldc in bytes.
	I64Load c_base+48(FP)
	Set R3
	BYTES(ldc+72(FP), R4)
	I64Load tiles+80(FP)
	Set R6

	Block
	Loop
	Get R6
	I64Eqz
	BrIf $1
	Get R7
	Set R1
	Get R8
	Set R2 // p runs up while R2 counts down

	V128Const $0, $0
	Set V0
	V128Const $0, $0
	Set V1
	V128Const $0, $0
	Set V2
	V128Const $0, $0
	Set V3
	V128Const $0, $0
	Set V4
	V128Const $0, $0
	Set V5
	V128Const $0, $0
	Set V6
	V128Const $0, $0
	Set V7

	Block
	Loop
		Get R2
		I64Eqz
		BrIf $1
		STEP
		ADDI(R0, 16)
		ADDI(R1, 32)
		SUBI(R2, 1)
		Br $0
	End
	End

	ROWC(V0, V4)
	ROWC(V1, V5)
	ROWC(V2, V6)
	ROWC(V3, V7)
	SUBI(R6, 1)
	Br $0
	End
	End
	RET

// SPLATC pushes the float32 with bits b in all four lanes (b given twice
// over, as a 64-bit half of the vector).
#define SPLATC(b) V128Const $(b), $(b)

// HORNER sets V4 = V4·V3 + c, the c given by SPLATC's bits.
#define HORNER(b) Get V4; Get V3; F32x4Mul; SPLATC(b); F32x4Add; Set V4

// EXPPOLY is expQuad (simd.go) on the four values in V1, up to its last
// multiply: fn = ((V1·log2e) + roundMagic) − roundMagic in V2, r = (V1 −
// fn·ln2Hi) − fn·ln2Lo in V3 and the Horner polynomial p(r) in V4, with
// the constants log2e, roundMagic, ln2Hi, ln2Lo, 1/5040, 1/720, 1/120, 1/24,
// 1/6, 1/2, 1 and 1 as their float32 bits.
#define EXPPOLY \
	Get V1; SPLATC(0x3fb8aa3b3fb8aa3b); F32x4Mul; \
	SPLATC(0x4b4000004b400000); F32x4Add; SPLATC(0x4b4000004b400000); F32x4Sub; Set V2; \
	Get V1; Get V2; SPLATC(0x3f3180003f318000); F32x4Mul; F32x4Sub; \
	Get V2; SPLATC(0xb95e8083b95e8083); F32x4Mul; F32x4Sub; Set V3; \
	SPLATC(0x39500d0139500d01); Set V4; \
	HORNER(0x3ab60b613ab60b61); \
	HORNER(0x3c0888893c088889); \
	HORNER(0x3d2aaaab3d2aaaab); \
	HORNER(0x3e2aaaab3e2aaaab); \
	HORNER(0x3f0000003f000000); \
	HORNER(0x3f8000003f800000); \
	HORNER(0x3f8000003f800000)

// EXPE pushes expQuad's result after EXPPOLY: e = p(r) · 2^fn, 2^fn made
// from the bits (fn + 127) << 23.
#define EXPE \
	Get V4; Get V2; I32x4TruncSatF32x4S; \
	V128Const $0x0000007f0000007f, $0x0000007f0000007f; I32x4Add; \
	I32Const $23; I32x4Shl; F32x4Mul

// func siluAsm(o, x []float32)
//
// Per four values v at R1 (kept in V0): V1 = −v, e = expQuad(V1) (EXPPOLY,
// EXPE), then v / (1 + e) to R0. R2 counts the quads.
TEXT ·siluAsm(SB), NOSPLIT, $0-48
	I64Load o_base+0(FP)
	Set R0
	I64Load x_base+24(FP)
	Set R1
	I64Load o_len+8(FP)
	I64Const $2
	I64ShrU
	Set R2

	Block
	Loop
		Get R2
		I64Eqz
		BrIf $1
		Get R1
		I32WrapI64
		V128Load $0
		Tee V0
		F32x4Neg
		Set V1
		EXPPOLY
		Get R0
		I32WrapI64
		Get V0
		SPLATC(0x3f8000003f800000)
		EXPE
		F32x4Add
		F32x4Div
		V128Store
		ADDI(R0, 16)
		ADDI(R1, 16)
		SUBI(R2, 1)
		Br $0
	End
	End
	RET

// func expAsm(o, x []float32)
//
// Per four values at R1, in V1: expQuad (EXPPOLY, EXPE) to R0. R2 counts
// the quads.
TEXT ·expAsm(SB), NOSPLIT, $0-48
	I64Load o_base+0(FP)
	Set R0
	I64Load x_base+24(FP)
	Set R1
	I64Load o_len+8(FP)
	I64Const $2
	I64ShrU
	Set R2

	Block
	Loop
		Get R2
		I64Eqz
		BrIf $1
		Get R1
		I32WrapI64
		V128Load $0
		Set V1
		EXPPOLY
		Get R0
		I32WrapI64
		EXPE
		V128Store
		ADDI(R0, 16)
		ADDI(R1, 16)
		SUBI(R2, 1)
		Br $0
	End
	End
	RET

// func scaleShiftAsm(d, s []float32, a, b float32)
//
// Per four values at R1: times a (V0), plus b (V1), to R0; R2 counts the
// quads.
TEXT ·scaleShiftAsm(SB), NOSPLIT, $0-56
	I64Load d_base+0(FP)
	Set R0
	I64Load s_base+24(FP)
	Set R1
	I64Load d_len+8(FP)
	I64Const $2
	I64ShrU
	Set R2
	F32Load a+48(FP)
	F32x4Splat
	Set V0
	F32Load b+52(FP)
	F32x4Splat
	Set V1

	Block
	Loop
		Get R2
		I64Eqz
		BrIf $1
		Get R0
		I32WrapI64
		Get R1
		I32WrapI64
		V128Load $0
		Get V0
		F32x4Mul
		Get V1
		F32x4Add
		V128Store
		ADDI(R0, 16)
		ADDI(R1, 16)
		SUBI(R2, 1)
		Br $0
	End
	End
	RET

// func inRangeAsm(s []float32, lo, hi float32) bool
//
// V2 starts as lo ≤ hi in every lane and is and-ed, per four values at R0,
// with v ≥ lo (V0) and v ≤ hi (V1); the result is whether all its lanes
// are still set. R1 counts the quads.
TEXT ·inRangeAsm(SB), NOSPLIT, $0-33
	I64Load s_base+0(FP)
	Set R0
	I64Load s_len+8(FP)
	I64Const $2
	I64ShrU
	Set R1
	F32Load lo+24(FP)
	F32x4Splat
	Set V0
	F32Load hi+28(FP)
	F32x4Splat
	Set V1
	Get V0
	Get V1
	F32x4Le
	Set V2

	Block
	Loop
		Get R1
		I64Eqz
		BrIf $1
		Get R0
		I32WrapI64
		V128Load $0
		Set V3
		Get V2
		Get V3
		Get V0
		F32x4Ge
		V128And
		Get V3
		Get V1
		F32x4Le
		V128And
		Set V2
		ADDI(R0, 16)
		SUBI(R1, 1)
		Br $0
	End
	End
	Get SP
	Get V2
	I32x4AllTrue
	I64ExtendI32U
	I64Store8 ret+32(FP)
	RET

// func gatherAsm(d, lo, hi []float32, off []int)
//
// Per p: R5 = off[p] in bytes (off at R3), the four floats at R1+R5 to d at
// R0 and the four at R2+R5 to R0+16; then R0 moves on nr floats and R3 one
// int. R4 counts the p left.
TEXT ·gatherAsm(SB), NOSPLIT, $0-96
	I64Load d_base+0(FP)
	Set R0
	I64Load lo_base+24(FP)
	Set R1
	I64Load hi_base+48(FP)
	Set R2
	I64Load off_base+72(FP)
	Set R3
	I64Load off_len+80(FP)
	Set R4

	Block
	Loop
		Get R4
		I64Eqz
		BrIf $1
		Get R3
		I32WrapI64
		I64Load $0
		I64Const $2
		I64Shl
		Set R5
		Get R0
		I32WrapI64
		Get R1
		Get R5
		I64Add
		I32WrapI64
		V128Load $0
		V128Store
		Get R0
		I64Const $16
		I64Add
		I32WrapI64
		Get R2
		Get R5
		I64Add
		I32WrapI64
		V128Load $0
		V128Store
		ADDI(R0, 32)
		ADDI(R3, 8)
		SUBI(R4, 1)
		Br $0
	End
	End
	RET

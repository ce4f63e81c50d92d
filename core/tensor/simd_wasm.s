//go:build goexperiment.simd

#include "textflag.h"

// kernelAsm is kernelSIMD's loop (simd.go) written out in WebAssembly:
// the tile in eight 4-lane accumulators V0-V3 (columns 0-3 of rows 0-3) and
// V4-V7 (columns 4-7), the row b[p·nr:p·nr+8] in V8 and V9, and per p and row
// i the broadcast of a[p·mr+i] in V10, multiplied by V8 and V9 and the
// rounded products added (Mul, then Add: never fused), in ascending p, so
// every lane does what kernelScalar does for its element. The broadcast is
// one v128.load32_splat, which V8 can compile to a broadcast from memory (a
// load), in place of the f32.load and f32x4.splat that Go's compiler emits
// (a load and a shuffle). Four p per pass of the first loop, then one per
// pass; R2 counts the p left. Then the next tile: its A strip follows in a
// (R0 is there already), b is read again from R7 and c moves on four rows;
// R6 counts the tiles left.
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

// STEP does one p: a[p·mr:p·mr+4] at R0+aoff, b[p·nr:p·nr+8] at R1+boff.
#define STEP(aoff, boff) \
	Get R1; I32WrapI64; V128Load $(boff); Set V8; \
	Get R1; I32WrapI64; V128Load $(boff+16); Set V9; \
	ROW(V0, V4, aoff); \
	ROW(V1, V5, aoff+4); \
	ROW(V2, V6, aoff+8); \
	ROW(V3, V7, aoff+12)

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
	I64Load ldc+72(FP)
	I64Const $2
	I64Shl
	Set R4
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

	// Four p at a time, then one at a time.
	Block
	Loop
		Get R2
		I64Const $4
		I64LtU
		BrIf $1
		STEP(0, 0)
		STEP(16, 32)
		STEP(32, 64)
		STEP(48, 96)
		Get R0
		I64Const $64
		I64Add
		Set R0
		Get R1
		I64Const $128
		I64Add
		Set R1
		Get R2
		I64Const $4
		I64Sub
		Set R2
		Br $0
	End
	End
	Block
	Loop
		Get R2
		I64Eqz
		BrIf $1
		STEP(0, 0)
		Get R0
		I64Const $16
		I64Add
		Set R0
		Get R1
		I64Const $32
		I64Add
		Set R1
		Get R2
		I64Const $1
		I64Sub
		Set R2
		Br $0
	End
	End

	ROWC(V0, V4)
	ROWC(V1, V5)
	ROWC(V2, V6)
	ROWC(V3, V7)
	Get R6
	I64Const $1
	I64Sub
	Set R6
	Br $0
	End
	End
	RET

//go:build goexperiment.simd

#include "textflag.h"
#include "wasm_asm.h"

// The Winograd transforms of winograd.go on four tiles at a time, operation
// for operation as inputQuadSIMD and outputQuadSIMD (simd.go). V128Store
// takes no offset here (see simd_wasm.s), so every store's address is
// computed; loads take theirs.

// STORE stores the vector that ops leave on the stack at R8 and moves R8 on
// by ld floats (R4 bytes).
#define STORE(ops) \
	Get R8; I32WrapI64; ops; V128Store; \
	Get R8; Get R4; I64Add; Set R8

// ROWV stores row i of V from t0-t3 in V8-V11: t0−t2, t1+t2, t2−t1, t1−t3.
#define ROWV \
	STORE(Get V8; Get V10; F32x4Sub); \
	STORE(Get V9; Get V10; F32x4Add); \
	STORE(Get V10; Get V9; F32x4Sub); \
	STORE(Get V9; Get V11; F32x4Sub)

// LOAD pushes the four floats at R plus off bytes.
#define LOAD(R, off) Get R; I32WrapI64; V128Load $(off)

// ODD pushes the four floats at R plus half (R1 bytes) plus off bytes.
#define ODD(R, off) Get R; Get R1; I64Add; I32WrapI64; V128Load $(off)

// func inputQuadsAsm(dst []float32, ld int, rows []float32, half, strip, parity, n, count int)
//
// R0 points at row 0 of the quad's tiles (rows[4k]), R9-R11 at rows 1-3; R1
// is half and R2 a row (2·half) in bytes. R3 points at the quad's first
// column in dst and R8 walks its 16 entries, ld (R4 bytes) apart. R6 is the
// step from a strip's second quad to the next strip's first, strip−4 floats
// in bytes, R7 the quad's place in its strip (0 first, 1 second), R5 the
// quads left. R12 is n, R13 the quads left in the tile row, R14 the step
// from past a tile row's last quad to the next row's first, 2·(2·half) − 4n
// floats in bytes. V0-V3 hold row 1's d10-d13, V4-V7 row 2's d20-d23.
TEXT ·inputQuadsAsm(SB), NOSPLIT, $0-96
	I64Load dst_base+0(FP)
	Set R3
	BYTES(ld+24(FP), R4)
	I64Load rows_base+32(FP)
	Set R0
	BYTES(half+56(FP), R1)
	Get R1
	I64Const $1
	I64Shl
	Set R2
	I64Load strip+64(FP)
	I64Const $2
	I64Shl
	I64Const $16
	I64Sub
	Set R6
	I64Load parity+72(FP)
	Set R7
	I64Load n+80(FP)
	Tee R12
	Set R13
	Get R2
	I64Const $1
	I64Shl
	Get R12
	I64Const $4
	I64Shl
	I64Sub
	Set R14
	I64Load count+88(FP)
	Set R5

	Block
	Loop
		Get R5
		I64Eqz
		BrIf $1
		Get R0
		Get R2
		I64Add
		Set R9
		Get R9
		Get R2
		I64Add
		Set R10
		Get R10
		Get R2
		I64Add
		Set R11
		LOAD(R9, 0)
		Set V0
		ODD(R9, 0)
		Set V1
		LOAD(R9, 4)
		Set V2
		ODD(R9, 4)
		Set V3
		LOAD(R10, 0)
		Set V4
		ODD(R10, 0)
		Set V5
		LOAD(R10, 4)
		Set V6
		ODD(R10, 4)
		Set V7
		Get R3
		Set R8

		// Row 0: t = d0j − d2j.
		LOAD(R0, 0)
		Get V4
		F32x4Sub
		Set V8
		ODD(R0, 0)
		Get V5
		F32x4Sub
		Set V9
		LOAD(R0, 4)
		Get V6
		F32x4Sub
		Set V10
		ODD(R0, 4)
		Get V7
		F32x4Sub
		Set V11
		ROWV

		// Row 1: t = d1j + d2j.
		Get V0
		Get V4
		F32x4Add
		Set V8
		Get V1
		Get V5
		F32x4Add
		Set V9
		Get V2
		Get V6
		F32x4Add
		Set V10
		Get V3
		Get V7
		F32x4Add
		Set V11
		ROWV

		// Row 2: t = d2j − d1j.
		Get V4
		Get V0
		F32x4Sub
		Set V8
		Get V5
		Get V1
		F32x4Sub
		Set V9
		Get V6
		Get V2
		F32x4Sub
		Set V10
		Get V7
		Get V3
		F32x4Sub
		Set V11
		ROWV

		// Row 3: t = d1j − d3j.
		Get V0
		LOAD(R11, 0)
		F32x4Sub
		Set V8
		Get V1
		ODD(R11, 0)
		F32x4Sub
		Set V9
		Get V2
		LOAD(R11, 4)
		F32x4Sub
		Set V10
		Get V3
		ODD(R11, 4)
		F32x4Sub
		Set V11
		ROWV

		// The next quad: four tiles on in rows, or the next tile row's first
		// after a row's last; in dst four columns on, or to the next strip
		// after a strip's second quad.
		ADDI(R0, 16)
		SUBI(R13, 1)
		Get R13
		I64Eqz
		If
			Get R0
			Get R14
			I64Add
			Set R0
			Get R12
			Set R13
		End
		Get R3
		Get R6
		I64Const $16
		Get R7
		I32WrapI64
		Select
		I64Add
		Set R3
		Get R7
		I64Const $1
		I64Xor
		Set R7
		SUBI(R5, 1)
		Br $0
	End
	End
	RET

// COLUMN sets S0 = (a + b) + c and S1 = (b − c) − d for column j of M, a-d
// its entries j, 4+j, 8+j, 12+j: R6 points at entry j, R5 is 4·ld in bytes.
#define COLUMN(S0, S1) \
	LOAD(R6, 0); Set V8; \
	Get R6; Get R5; I64Add; Set R7; \
	LOAD(R7, 0); Set V9; \
	Get R7; Get R5; I64Add; Set R7; \
	LOAD(R7, 0); Set V10; \
	Get R7; Get R5; I64Add; Set R7; \
	LOAD(R7, 0); Set V11; \
	Get V8; Get V9; F32x4Add; Get V10; F32x4Add; Set S0; \
	Get V9; Get V10; F32x4Sub; Get V11; F32x4Sub; Set S1; \
	Get R6; Get R1; I64Add; Set R6

// BLOCKS sets V8 = bias + ((s0 + s1) + s2) and V9 = bias + ((s1 − s2) − s3),
// a row of the four blocks, from S0-S3.
#define BLOCKS(S0, S1, S2, S3) \
	Get V12; Get S0; Get S1; F32x4Add; Get S2; F32x4Add; F32x4Add; Set V8; \
	Get V12; Get S1; Get S2; F32x4Sub; Get S3; F32x4Sub; F32x4Add; Set V9

// INTERLEAVE stores at R the eight floats V8[0], V9[0], …, V8[3], V9[3]:
// each half is two swizzles (an index of 0xff gives a zero byte) or-ed.
#define INTERLEAVE(R) \
	Get R; I32WrapI64; \
	Get V8; V128Const $0xffffffff03020100, $0xffffffff07060504; I8x16Swizzle; \
	Get V9; V128Const $0x03020100ffffffff, $0x07060504ffffffff; I8x16Swizzle; \
	V128Or; V128Store; \
	Get R; I64Const $16; I64Add; I32WrapI64; \
	Get V8; V128Const $0xffffffff0b0a0908, $0xffffffff0f0e0d0c; I8x16Swizzle; \
	Get V9; V128Const $0x0b0a0908ffffffff, $0x0f0e0d0cffffffff; I8x16Swizzle; \
	V128Or; V128Store

// func outputQuadsAsm(y []float32, wo int, m []float32, ld int, bias float32, n, count int)
//
// R0 points at the quad's M (m[4k:]), R2 at its blocks' top row (y[8k:]);
// R1 is ld and R3 wo in bytes, R4 the groups left, R10 n and R11 the groups
// left in the row of blocks. V0-V3 hold s0j, V4-V7 s1j, V12 the bias.
TEXT ·outputQuadsAsm(SB), NOSPLIT, $0-88
	I64Load y_base+0(FP)
	Set R2
	BYTES(wo+24(FP), R3)
	I64Load m_base+32(FP)
	Set R0
	BYTES(ld+56(FP), R1)
	Get R1
	I64Const $2
	I64Shl
	Set R5
	F32Load bias+64(FP)
	F32x4Splat
	Set V12
	I64Load n+72(FP)
	Tee R10
	Set R11
	I64Load count+80(FP)
	Set R4

	Block
	Loop
		Get R4
		I64Eqz
		BrIf $1
		Get R0
		Set R6
		COLUMN(V0, V4)
		COLUMN(V1, V5)
		COLUMN(V2, V6)
		COLUMN(V3, V7)
		BLOCKS(V0, V1, V2, V3)
		INTERLEAVE(R2)
		BLOCKS(V4, V5, V6, V7)
		Get R2
		Get R3
		I64Add
		Set R9
		INTERLEAVE(R9)
		// The next group: in m four columns on; in y eight on, or past the
		// row's second output row after its last group.
		ADDI(R0, 16)
		ADDI(R2, 32)
		SUBI(R11, 1)
		Get R11
		I64Eqz
		If
			Get R2
			Get R3
			I64Add
			Set R2
			Get R10
			Set R11
		End
		SUBI(R4, 1)
		Br $0
	End
	End
	RET

// func splitRowsAsm(dst []float32, ld, ea, oa int, src []float32, w, rows int)
//
// Per four pairs: the eight floats at R4 in V0 and V1; the even ones are
// V0's lanes 0 and 2 and V1's lanes 0 and 2, to R7, the odd ones lanes 1 and
// 3, to R8. R0 is the row of dst, ld (R1 bytes) apart, R2 and R3 the even
// and odd halves' offsets in bytes; R4 runs through src, row after row. R5
// is the quads of a row, R9 those left in it, R6 the rows left.
TEXT ·splitRowsAsm(SB), NOSPLIT, $0-88
	I64Load dst_base+0(FP)
	Set R0
	BYTES(ld+24(FP), R1)
	BYTES(ea+32(FP), R2)
	BYTES(oa+40(FP), R3)
	I64Load src_base+48(FP)
	Set R4
	I64Load w+72(FP)
	I64Const $3
	I64ShrU
	Set R5
	I64Load rows+80(FP)
	Set R6

	Block
	Loop
		Get R6
		I64Eqz
		BrIf $1
		Get R0
		Get R2
		I64Add
		Set R7
		Get R0
		Get R3
		I64Add
		Set R8
		Get R5
		Set R9
		Block
		Loop
			Get R9
			I64Eqz
			BrIf $1
			LOAD(R4, 0)
			Set V0
			LOAD(R4, 16)
			Set V1
			Get R7
			I32WrapI64
			Get V0
			V128Const $0x0b0a090803020100, $-1
			I8x16Swizzle
			Get V1
			V128Const $-1, $0x0b0a090803020100
			I8x16Swizzle
			V128Or
			V128Store
			Get R8
			I32WrapI64
			Get V0
			V128Const $0x0f0e0d0c07060504, $-1
			I8x16Swizzle
			Get V1
			V128Const $-1, $0x0f0e0d0c07060504
			I8x16Swizzle
			V128Or
			V128Store
			ADDI(R7, 16)
			ADDI(R8, 16)
			ADDI(R4, 32)
			SUBI(R9, 1)
			Br $0
		End
		End
		Get R0
		Get R1
		I64Add
		Set R0
		SUBI(R6, 1)
		Br $0
	End
	End
	RET

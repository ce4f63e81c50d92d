//go:build goexperiment.simd

#include "textflag.h"

// kernelAsm is kernelSIMD's loop (simd.go) written out in AVX: the
// tile in four 8-lane accumulators Y0-Y3 (rows 0-3), the rows
// b[p·nr:p·nr+8] of four p in Y4-Y7, and per p and row i the broadcast of
// a[p·mr+i] in one of Y8-Y15, multiplied by the B row (VMULPS, rounded) and
// the product added to the row's accumulator (VADDPS, rounded): never a
// fused multiply-add (VFMADD*), whose single rounding would give other bits
// than kernelScalar and the wasm kernel. Each accumulator takes its products
// in ascending p, so every lane does what kernelScalar does for its element.
// The broadcast is VBROADCASTSS from memory, a pure load, in place of the
// VMOVSS and register VBROADCASTSS (a shuffle on the vector pipes the
// multiplies and adds need) that Go's compiler emits. Four p per pass of
// the first loop, then one per pass; CX counts the p left. Then the next
// tile: its A strip follows in a (SI is there already), b is read again
// from R10 and c moves on four rows; R12 counts the tiles left.
//
// The caller checks the bounds: a holds tiles·kb·mr and b kb·nr floats,
// with kb = len(b)/nr, and c reaches (4·tiles−1)·ldc+8. Only called where
// useSIMD holds (AVX2).

// STEP does one p: a[p·mr:p·mr+4] at SI+aoff, its B row in B, the four
// broadcasts and products in T0-T3.
#define STEP(B, aoff, T0, T1, T2, T3) \
	VBROADCASTSS (aoff)(SI), T0; \
	VBROADCASTSS (aoff+4)(SI), T1; \
	VBROADCASTSS (aoff+8)(SI), T2; \
	VBROADCASTSS (aoff+12)(SI), T3; \
	VMULPS B, T0, T0; \
	VMULPS B, T1, T1; \
	VMULPS B, T2, T2; \
	VMULPS B, T3, T3; \
	VADDPS T0, Y0, Y0; \
	VADDPS T1, Y1, Y1; \
	VADDPS T2, Y2, Y2; \
	VADDPS T3, Y3, Y3

// ROW adds the accumulator Y to the 8 floats at M, through Y8:
// M = M + Y, c first as in kernelScalar's r[j] += c0j.
#define ROW(M, Y) \
	VMOVUPS M, Y8; \
	VADDPS Y, Y8, Y8; \
	VMOVUPS Y8, M

// func kernelAsm(a, b, c []float32, ldc, tiles int)
TEXT ·kernelAsm(SB), NOSPLIT, $0-88
	MOVQ a_base+0(FP), SI
	MOVQ b_base+24(FP), R10
	MOVQ b_len+32(FP), R11
	SHRQ $3, R11 // kb = len(b)/nr
	MOVQ c_base+48(FP), DX
	MOVQ ldc+72(FP), R8
	SHLQ $2, R8 // row stride in bytes
	LEAQ (R8)(R8*2), R9 // 3 rows
	MOVQ tiles+80(FP), R12
	TESTQ R12, R12
	JEQ   end

tile:
	MOVQ R10, DI
	MOVQ R11, CX
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

	CMPQ CX, $4
	JLT  tail

loop4:
	VMOVUPS 0(DI), Y4
	VMOVUPS 32(DI), Y5
	VMOVUPS 64(DI), Y6
	VMOVUPS 96(DI), Y7
	STEP(Y4, 0, Y8, Y9, Y10, Y11)
	STEP(Y5, 16, Y12, Y13, Y14, Y15)
	STEP(Y6, 32, Y8, Y9, Y10, Y11)
	STEP(Y7, 48, Y12, Y13, Y14, Y15)
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $4, CX
	CMPQ CX, $4
	JGE  loop4

tail:
	TESTQ CX, CX
	JEQ   done

loop1:
	VMOVUPS (DI), Y4
	STEP(Y4, 0, Y8, Y9, Y10, Y11)
	ADDQ $16, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop1

done:
	ROW((DX), Y0)
	ROW((DX)(R8*1), Y1)
	ROW((DX)(R8*2), Y2)
	ROW((DX)(R9*1), Y3)
	LEAQ (DX)(R8*4), DX
	DECQ R12
	JNE  tile

end:
	VZEROUPPER
	RET

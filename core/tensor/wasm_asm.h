// Macros of the WebAssembly assembly files (simd_wasm.s, winograd_wasm.s).

// ADDI adds the constant n to the i64 register R; SUBI subtracts it.
#define ADDI(R, n) Get R; I64Const $(n); I64Add; Set R
#define SUBI(R, n) Get R; I64Const $(n); I64Sub; Set R

// BYTES sets R to the int argument arg times 4: a count of floats in bytes.
#define BYTES(arg, R) I64Load arg; I64Const $2; I64Shl; Set R

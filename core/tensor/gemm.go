package tensor

// Gemm computes C = A·B for row-major A (m×k, row stride lda), B (k×n, row
// stride ldb) and C (m×n, row stride ldc). C is overwritten, not accumulated
// into. Every C[i][j] is summed over p = 0..k-1 in ascending order in float32
// without fused multiply-adds, so the result does not depend on the platform,
// on m or n, or on how the work is split over goroutines.
func Gemm(m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	gemm(false, m, n, k, a, lda, b, ldb, c, ldc)
}

// gemm is Gemm with an optionally transposed B: with transB, b holds Bᵀ
// (n×k, row stride ldb), so that C = A·Bᵀ as in x @ W^T.
func gemm(transB bool, m, n, k int, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for p := 0; p < k; p++ {
				var bv float32
				if transB {
					bv = b[j*ldb+p]
				} else {
					bv = b[p*ldb+j]
				}
				s += float32(a[i*lda+p] * bv)
			}
			c[i*ldc+j] = s
		}
	}
}

package tensor

import (
	"runtime"
	"sync"
)

// minFlopsPerWorker keeps small products on one goroutine, where starting
// others would cost more than it saves.
const minFlopsPerWorker = 1 << 21

// workers is the number of goroutines for a job of the given size: one under
// wasm, which has a single thread (the browser parallelises with workers),
// and natively up to GOMAXPROCS.
func workers(flops float64) int {
	if runtime.GOARCH == "wasm" {
		return 1
	}
	return max(1, min(runtime.GOMAXPROCS(0), int(flops/minFlopsPerWorker)))
}

// parallelFor splits [0,n) into contiguous ranges, one per goroutine, for a
// job whose items cost about cost floating-point operations each, and runs
// f(lo, hi) on each range. Items must be independent, so that the split
// changes no bits.
func parallelFor(n int, cost float64, f func(lo, hi int)) {
	w := min(n, workers(float64(n)*cost))
	if w <= 1 {
		f(0, n)
		return
	}
	parallel(w, func(i int) { f(n*i/w, n*(i+1)/w) })
}

// parallel runs f(0), …, f(w-1) on w goroutines and waits for them.
func parallel(w int, f func(i int)) {
	var wg sync.WaitGroup
	for i := 1; i < w; i++ {
		wg.Go(func() { f(i) })
	}
	f(0)
	wg.Wait()
}

# Chrysalis build, test and benchmark entry points. See README.md.

# Go 1.27.3, fetched by the go command from the module proxy on a machine that
# starts with an older Go (Make 4.3 does not export to $(shell), hence the
# explicit prefix below). simd/archsimd needs GOEXPERIMENT=simd: WebAssembly
# SIMD128 in the browser, SSE/AVX natively.
export GOTOOLCHAIN  := go1.27.3
export GOEXPERIMENT := simd
GO        ?= go
GOROOT    := $(shell GOTOOLCHAIN=$(GOTOOLCHAIN) $(GO) env GOROOT)
WASM_EXEC := $(GOROOT)/lib/wasm/go_js_wasm_exec
# Native builds keep Go's default GOAMD64=v1: with v3 the compiler fuses x*y+z
# into FMA inside math/rand/v2's normal sampler, which wasm never does, and the
# same seed must give the same butterfly in the CLI and in the browser. The
# kernels themselves are FMA-free and bit-identical at any level (checked by
# the v3 test run below); benchmarks use v3.

.PHONY: goldens all test test-native test-wasm test-fuzz test-e2e bench bench-native bench-wasm bench-scalar bench-browser serve wasm

# WebAssembly builds may use the saturating float-to-int and sign-extension
# instructions (in every browser and Node since 2021): ~15% less worker CPU.
export GOWASM := satconv,signext

all: test

# Every test: native, wasm under Node, bounded fuzzing, the browser end-to-end test.
test: test-native test-wasm test-fuzz test-e2e

# The kernel packages run again with GOAMD64=v3 and in the scalar build
# (GOEXPERIMENT empty: no simd/archsimd), which must give the same bits.
KERNEL_PKGS := ./core/tensor ./core/unet ./core/checkpoint
test-native:
	@unformatted=$$($(GOROOT)/bin/gofmt -l cmd core web wasm); \
	if [ -n "$$unformatted" ]; then echo "not gofmt'ed: $$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) test -count=1 ./...
	GOAMD64=v3 $(GO) test -count=1 $(KERNEL_PKGS) ./core/scheduler
	GOEXPERIMENT= $(GO) vet ./core/tensor
	GOEXPERIMENT= $(GO) test -count=1 $(KERNEL_PKGS)

# Vet of every package as the browser builds it (the page, the worker and
# the viewer are js-only, so the native vet never reads them); the core
# packages again under GOOS=js GOARCH=wasm, run by Node, and the kernel
# packages in the scalar build.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) vet ./core/... ./web/... ./wasm/...
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASM_EXEC)" ./core/...
	GOEXPERIMENT= GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASM_EXEC)" $(KERNEL_PKGS)

# A count, not a duration: time-limited fuzzing can fail spuriously with
# "context deadline exceeded" in Go's fuzz coordinator (golang/go#75804, met
# with Go 1.26).
FUZZTIME ?= 500000x
test-fuzz:
	$(GO) test -run=NONE -fuzz=^FuzzConfig$$ -fuzztime=$(FUZZTIME) ./core/unet
	$(GO) test -run=NONE -fuzz=^FuzzConfig$$ -fuzztime=$(FUZZTIME) ./core/scheduler
	$(GO) test -run=NONE -fuzz=^FuzzParse$$ -fuzztime=$(FUZZTIME) ./core/safetensors
	$(GO) test -run=NONE -fuzz=^FuzzLoad$$ -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x ./core/pytorch

# GEMM GFLOP/s and ms per UNet forward with the SIMD kernels (GOEXPERIMENT=simd,
# exported above); bench-scalar prints the same figures without them.
bench: bench-native bench-wasm bench-browser

bench-native:
	GOAMD64=v3 $(GO) run ./cmd/chrysalis bench
	GOAMD64=v3 $(GO) test -run '^$$' -bench TrainStep -benchtime 3x ./core/train

bench-wasm:
	GOOS=js GOARCH=wasm $(GO) build -o bin/chrysalis.wasm ./cmd/chrysalis
	$(WASM_EXEC) bin/chrysalis.wasm bench

bench-scalar:
	GOEXPERIMENT= GOAMD64=v3 $(GO) run ./cmd/chrysalis bench
	GOEXPERIMENT= GOOS=js GOARCH=wasm $(GO) build -o bin/chrysalis-scalar.wasm ./cmd/chrysalis
	$(WASM_EXEC) bin/chrysalis-scalar.wasm bench

# The browser demo's WebAssembly (the page, the sampling worker with SIMD128
# kernels and again with scalar ones for browsers without SIMD, the Ebiten
# viewer) and Go's JavaScript glue, into static/ (build outputs, not
# committed). Only the worker computes much; the page and the viewer are
# built without the experiment so that they load in any browser.
wasm:
	GOOS=js GOARCH=wasm GOEXPERIMENT= $(GO) build -o static/app.wasm ./wasm/app
	GOOS=js GOARCH=wasm $(GO) build -o static/worker.wasm ./wasm/worker
	GOOS=js GOARCH=wasm GOEXPERIMENT= $(GO) build -o static/worker-scalar.wasm ./wasm/worker
	GOOS=js GOARCH=wasm GOEXPERIMENT= $(GO) build -o static/viewer.wasm ./wasm/viewer
	cp $(GOROOT)/lib/wasm/wasm_exec.js static/wasm_exec.js

# The diffusers goldens the tests read, rewritten from the reference outputs
# (see core/golden/testdata/diffusers/README.md). REFERENCE=DIR names them.
REFERENCE ?= ../shared/reference/diffusers
goldens:
	rm -rf core/golden/testdata/diffusers/*/ core/golden/testdata/diffusers/REFERENCE.md
	$(GO) run ./cmd/goldens -from $(REFERENCE) -to core/golden/testdata/diffusers

# The demo with the shipped default model on http://$(ADDR)/.
ADDR ?= 127.0.0.1:8080
serve: wasm
	$(GO) run ./cmd/serve -addr $(ADDR)

# The page in headless Chromium (web/e2e builds its own copy of the wasm files).
test-e2e:
	$(GO) vet -tags e2e ./web/e2e
	$(GO) test -tags e2e -count=1 -timeout 15m ./web/e2e

# Seconds from Run to the final image in headless Chromium (batch 4, DDIM 25
# steps) with 1 and 2 workers, and the workers' wasm memory over 20 runs; then
# the train view's 100 fine-tuning steps at batch 4.
bench-browser:
	$(GO) test -tags e2e -count=1 -timeout 30m -run '^$$' -bench RunToImage -benchtime 20x ./web/e2e
	$(GO) test -tags e2e -count=1 -timeout 30m -run '^$$' -bench FineTune -benchtime 1x ./web/e2e
	$(GO) test -tags e2e -count=1 -timeout 30m -run '^$$' -bench KernelsInChromium -benchtime 1x -v ./web/e2e

# Chrysalis build, test and benchmark entry points. See README.md.
GO        ?= go
GOROOT    := $(shell $(GO) env GOROOT)
WASM_EXEC := $(GOROOT)/lib/wasm/go_js_wasm_exec
export GOAMD64 ?= v3

.PHONY: all test test-native test-wasm test-fuzz bench bench-native bench-wasm serve wasm

all: test

# Every test: native, wasm under Node, bounded fuzzing.
test: test-native test-wasm test-fuzz

test-native:
	$(GO) vet ./...
	$(GO) test -count=1 ./...

# The core packages again under GOOS=js GOARCH=wasm, run by Node.
test-wasm:
	GOOS=js GOARCH=wasm $(GO) test -count=1 -exec="$(WASM_EXEC)" ./core/...

FUZZTIME ?= 15s
test-fuzz:
	$(GO) test -run=NONE -fuzz=^FuzzConfig$$ -fuzztime=$(FUZZTIME) ./core/unet
	$(GO) test -run=NONE -fuzz=^FuzzConfig$$ -fuzztime=$(FUZZTIME) ./core/scheduler
	$(GO) test -run=NONE -fuzz=^FuzzParse$$ -fuzztime=$(FUZZTIME) ./core/safetensors
	$(GO) test -run=NONE -fuzz=^FuzzLoad$$ -fuzztime=$(FUZZTIME) -fuzzminimizetime=100x ./core/pytorch

bench: bench-native bench-wasm

bench-native:
	$(GO) run ./cmd/chrysalis bench

bench-wasm:
	GOOS=js GOARCH=wasm $(GO) build -o bin/chrysalis.wasm ./cmd/chrysalis
	$(WASM_EXEC) bin/chrysalis.wasm bench

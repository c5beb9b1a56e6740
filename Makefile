# stormtest — the commands a newcomer needs. Everything installs from go.mod.
GO      ?= go
BIN     := bin/stormtest
PKGS    := ./...

.PHONY: all build demo test test-short vet fmt-check bench clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/stormtest

## demo: reproduce a Monday-morning metastable outage on the built-in target (~35 s)
demo: build
	./$(BIN) demo --dir out/demo

## test: formatting, vet, and the whole test suite (unit + short end-to-end runs on loopback).
## The end-to-end runs (demo package) go without the race detector: it slows the generator
## several times over, and a lagging generator would change the experiment it measures.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 10m $$($(GO) list $(PKGS) | grep -v /demo$$)
	$(GO) test -count=1 -timeout 10m ./demo/

## test-short: unit tests only, no real-time runs against the built-in target
test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## bench: the Go benchmarks (recorder, decoder, analyzer)
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

clean:
	rm -rf bin out

# stormtest — the commands a newcomer needs. Everything installs from go.mod.
GO      ?= go
BIN     := bin/stormtest
PKGS    := ./...

.PHONY: all build demo test test-scenarios test-short vet fmt-check bench bench-memory clean

all: build

build:
	$(GO) build -o $(BIN) ./cmd/stormtest

## demo: reproduce both outages on the built-in target: the Monday-morning retry storm (~35 s)
## and the fleet's restart loop after a database outage (~45 s)
demo: build
	./$(BIN) demo --dir out/demo
	./$(BIN) demo --incident tray --dir out/demo-tray

## test: formatting, vet, and the whole test suite: unit tests with the race detector, then the
## end-to-end runs on loopback (the demo, each labelled scenario with one seed, the capacity
## search) without it,
## two at a time: the race detector or more runs at once would slow the generator, and a
## lagging generator changes the experiment it measures.
test: fmt-check vet
	$(GO) test -race -count=1 -timeout 10m $$($(GO) list $(PKGS) | grep -v -e /demo$$ -e /scenarios$$ -e /capacity$$)
	$(GO) test -p 1 -parallel 2 -count=1 -timeout 15m ./demo/ ./scenarios/ ./capacity/

## test-scenarios: the full labelled scenario suite, every scenario with seeds 1, 2 and 3
## (two runs at a time, ~6 min on 2 cores). CI runs SEEDS=2,3, as make test ran seed 1.
SEEDS ?= 1,2,3
test-scenarios:
	STORMTEST_SEEDS=$(SEEDS) $(GO) test -p 1 -parallel 2 -count=1 -timeout 30m -run TestSuite -v ./scenarios/

## test-short: unit tests only, no real-time runs against the built-in target
test-short:
	$(GO) test -short -count=1 $(PKGS)

vet:
	$(GO) vet $(PKGS)

fmt-check:
	@out=$$(gofmt -l .); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

## bench: the Go benchmarks (recorder, decoder, analyzer, scheduler, consumer, analyze end to
## end), then stormtest vs plain vegeta at max rate on loopback: 5 alternating runs of 4 s per
## generator and target, medians and ratios (~2.5 min in all). BENCH_ARGS passes flags to
## bench/compare, e.g. BENCH_ARGS='-runs 9 -duration 10s' or BENCH_ARGS='-pacing'.
BENCH_ARGS ?=
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./bench/compare $(BENCH_ARGS)
	$(MAKE) bench-memory

## bench-memory: analyze, export and report over synthetic 1 M and 10 M attempt files, on one
## core: peak RSS must not grow with the run (target ≤ 64 MiB) and analyze must read ≥ 5 M
## attempts/s. Needs ~130 MB in $(BENCH_TMP).
BENCH_TMP ?= out/bench-memory
bench-memory: build
	mkdir -p $(BENCH_TMP)
	$(GO) run ./bench/genresults -n 1000000 -out $(BENCH_TMP)/1m.st
	$(GO) run ./bench/genresults -n 10000000 -out $(BENCH_TMP)/10m.st
	@for n in 1m 10m; do \
	  GOMAXPROCS=1 /usr/bin/time -f "analyze $$n: %e s, peak RSS %M KB" ./$(BIN) analyze $(BENCH_TMP)/$$n.st > /dev/null; \
	  GOMAXPROCS=1 /usr/bin/time -f "report  $$n: %e s, peak RSS %M KB" sh -c "./$(BIN) report -o $(BENCH_TMP)/$$n.html $(BENCH_TMP)/$$n.st 2>/dev/null"; \
	  GOMAXPROCS=1 /usr/bin/time -f "export  $$n: %e s, peak RSS %M KB" sh -c "./$(BIN) export --format vegeta-csv --out $(BENCH_TMP)/$$n.csv $(BENCH_TMP)/$$n.st 2>/dev/null"; \
	done
	rm -rf $(BENCH_TMP)

clean:
	rm -rf bin out

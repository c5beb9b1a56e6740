# stormtest — the commands a newcomer needs. Everything installs from go.mod.
GO      ?= go
BIN     := bin/stormtest
PKGS    := ./...

.PHONY: all build demo test test-scenarios test-short vet fmt-check bench bench-memory fuzz soak clean

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

## bench: the Go benchmarks (recorder, decoder, analyzer, scheduler, consumer, each engine end
## to end, analyze end to end), then stormtest's two engines against wrk, bombardier, hey and
## vegeta at max rate on loopback, against nginx and a minimal Go server: 3 rotating rounds of
## 5 s per generator and target, medians and ratios (~4 min; it installs wrk and nginx with
## apt-get, bombardier and hey with go install, when missing). BENCH_ARGS passes flags to
## bench/compare, e.g. BENCH_ARGS='-runs 5 -duration 8s' or BENCH_ARGS='-pacing'.
BENCH_ARGS ?=
bench: build
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	$(GO) run ./bench/compare $(BENCH_ARGS)
	$(MAKE) bench-memory

## bench-memory: analyze, export and report over synthetic 1 M and 10 M attempt files, on one
## core: peak RSS must not grow with the run (target ≤ 64 MiB) and analyze must read ≥ 5 M
## attempts/s. Then one 5 M attempt file against the 8 shards of a run of 8 × 5 M (analyze and
## export merge them k-way, streaming): merging must use no more memory than one file.
## Needs ~700 MB in $(BENCH_TMP).
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
	rm -f $(BENCH_TMP)/*.st $(BENCH_TMP)/*.csv $(BENCH_TMP)/*.html
	$(GO) build -o $(BENCH_TMP)/genresults ./bench/genresults
	$(BENCH_TMP)/genresults -n 5000000 -out $(BENCH_TMP)/5m.st
	mkdir -p $(BENCH_TMP)/shards
	@for i in 0 1 2 3 4 5 6 7; do $(BENCH_TMP)/genresults -n 5000000 -shard $$i/8 -out $(BENCH_TMP)/shards/s$$i.st || exit 1; done
	GOMAXPROCS=1 /usr/bin/time -f "analyze 5m, one file:    %e s, peak RSS %M KB" ./$(BIN) analyze $(BENCH_TMP)/5m.st > /dev/null
	GOMAXPROCS=1 /usr/bin/time -f "analyze 8 shards x 5m:   %e s, peak RSS %M KB" ./$(BIN) analyze $(BENCH_TMP)/shards > /dev/null
	rm -rf $(BENCH_TMP)

## fuzz: every fuzz target, one after another, each for FUZZTIME (e.g. make fuzz FUZZTIME=30s).
## A finding is written under the package's testdata/fuzz/FuzzX/ and fails the run: commit
## it with the fix, and it is a regression test of every plain `go test` from then on.
## FUZZ_PARALLEL bounds the workers of each (default: one per core).
FUZZTIME ?= 30s
FUZZ_PARALLEL ?= $(shell nproc 2>/dev/null || echo 2)
FUZZ_TARGETS := ./profiles:FuzzParse ./gate:FuzzParse ./results:FuzzReader ./hlog:FuzzRoundTrip \
	./attack:FuzzTargetsFile ./internal/envvar:FuzzExpand
fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; fn=$${t##*:}; echo "== $$fn in $$pkg for $(FUZZTIME)"; \
	  $(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -parallel $(FUZZ_PARALLEL) $$pkg; \
	done

## soak: one long attack at 2 k attempts/s with retries against the built-in service (in a
## child process, resets in 2 % of requests so retries fire), printing RSS, goroutines, open
## files and generator lag every minute, then "verdict: flat" (within 10 % after warm-up) or
## "growing" (exit 1). SOAK sets the length: make soak SOAK=5m. SOAK_ARGS passes more flags
## to bench/soak (-rate, -every, -warmup, -keep, -engine).
SOAK ?= 60m
SOAK_ARGS ?=
soak:
	$(GO) run ./bench/soak -duration $(SOAK) $(SOAK_ARGS)

clean:
	rm -rf bin out

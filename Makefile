# Quire - one binary. `make run` serves on the embedded SQLite default;
# `make test` installs what the tests need and runs every test.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
# nomsgpack leaves gin's MessagePack binding (never used) out: 6 MB smaller.
TAGS := nomsgpack
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test test-go e2e lint bench bench-1m soak deps fuzz clean

run:
	$(GO) run -ldflags "$(LDFLAGS)" . serve

build:
	CGO_ENABLED=0 $(GO) build -tags $(TAGS) -trimpath -ldflags "$(LDFLAGS)" -o bin/quire .

# deps installs Chromium (apt) and the pinned npm packages when missing.
deps:
	bash scripts/test-deps.sh

# test: lint, every Go test (unit, handler, store on SQLite and PostgreSQL,
# e2e in Chromium) with the race detector, then the @directus/sdk test.
test: deps lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...
	$(MAKE) fuzz
	bash scripts/sdk-test.sh

e2e: deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -v -timeout 10m ./e2e/...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# fuzz: every fuzz target for FUZZTIME each (the total stays under 40 s in
# CI). A failing input is saved under the package's testdata/fuzz and from
# then on runs as a regression seed in every go test.
FUZZTIME ?= 5s
fuzz:
	$(GO) test -run='^$$' -fuzz='^FuzzPostForm$$' -fuzztime=$(FUZZTIME) ./handlers/
	$(GO) test -run='^$$' -fuzz='^FuzzSessionCookie$$' -fuzztime=$(FUZZTIME) ./handlers/
	$(GO) test -run='^$$' -fuzz='^FuzzParseToken$$' -fuzztime=$(FUZZTIME) ./session/
	$(GO) test -run='^$$' -fuzz='^FuzzRender$$' -fuzztime=$(FUZZTIME) ./content/

# soak: SOAK_DURATION (default 10 minutes) of mixed read, write and sign-in
# traffic against the real binary over loopback. Fails on any error answer
# or error log entry, or when threads, open files or memory grow after
# warm-up; prints the figures. `make test` runs the same test for 8 s.
SOAK_DURATION ?= 10m
soak:
	SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -run='^TestSoak$$' -v -timeout=3h ./reliability/

# bench: seed 10,000 posts, load the release binary with wrk, print the
# table and write bench/results/<date>.md (about 5 minutes).
bench:
	bash bench/run.sh

# bench-1m: the same on 1,000,000 posts, with the read scenarios also run
# on 10,000 posts in the same run for the ratios (seeding takes minutes).
bench-1m:
	BENCH_POSTS=1000000 bash bench/run.sh

clean:
	rm -rf bin

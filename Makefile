# Quire - one binary. `make run` serves on the embedded SQLite default;
# `make test` installs what the tests need and runs every test.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
GO ?= go
export CGO_ENABLED ?= 0

.PHONY: run build test test-go e2e lint bench bench-1m soak deps fuzz clean

run:
	$(GO) run -ldflags "$(LDFLAGS)" . serve

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)" -o bin/quire .

# deps installs Chromium (apt) and the pinned npm packages when missing.
deps:
	bash scripts/test-deps.sh

# test: lint, every Go test (unit, handler, store on SQLite and PostgreSQL,
# e2e in Chromium) with the race detector, then the @directus/sdk test.
test: deps lint
	CGO_ENABLED=1 $(GO) test -race -count=1 -timeout 15m ./...

e2e: deps
	CGO_ENABLED=1 $(GO) test -race -count=1 -v -timeout 10m ./e2e/...

lint:
	$(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

fuzz:
	$(GO) test -run=^$$ -fuzz=FuzzRender -fuzztime=20s ./content/

bench:
	bash bench/run.sh

clean:
	rm -rf bin

# manifest-push — build, test, demo, benchmark.
GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin/manifest-push
FUZZTIME ?= 30s
BENCHFLAGS ?=

.PHONY: all build test test-deps test-unit test-integration vet staticcheck fmt-check tidy-check demo playground bench fuzz image release clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/manifest-push

# test runs every test: the product's unit tests and the integration module's
# tests against the embedded distribution registry, all with the race detector.
# test-deps first: the programs the tests run are installed (as root, with
# apt-get) or make stops at once with the command to run.
test: test-deps fmt-check tidy-check vet staticcheck test-unit test-integration

test-deps:
	@GO='$(GO)' ./scripts/test-deps.sh

test-unit:
	$(GO) test -race -count=1 ./...

# The self-image test packs and reads back about 140 MB of executables per
# platform (manifest-push, the credential helpers and cosign): under the race
# detector, gzip and the registry make that minutes; it has no concurrency
# of its own to check, so it runs without -race. So does the unequal-speeds
# test (eight jobs, four copying 64 MiB layers, fifteen times): the
# concurrency it checks is between manifest-push processes, and under the
# race detector the in-process registries would starve the package's other
# timing tests.
test-integration:
	cd integration && $(GO) test -race -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/internal/selfimage$$')
	cd integration && $(GO) test -count=1 -timeout 30m ./internal/selfimage
	cd integration && $(GO) test -count=1 -timeout 30m -run '^TestConcurrentAppendsUnequalSpeeds$$' -v ./e2e

vet:
	$(GO) vet ./...
	cd integration && $(GO) vet ./...

# staticcheck runs the pinned staticcheck on both modules (go run builds it
# once into the Go build cache).
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2
staticcheck:
	$(GO) run $(STATICCHECK) ./...
	cd integration && $(GO) run $(STATICCHECK) ./...

# tidy-check fails when go mod tidy would change any module's go.mod or go.sum
# (the product, the integration tests, the image's credential helpers and
# its signer).
tidy-check:
	$(GO) mod tidy -diff
	cd integration && $(GO) mod tidy -diff
	cd credhelpers && $(GO) mod tidy -diff
	cd signers && $(GO) mod tidy -diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

# demo runs the helloarch story end to end on an embedded registry
# (scripts/demo.sh: compiles it, saying so, then runs it).
demo:
	@GO='$(GO)' ./scripts/demo.sh

# playground runs the demo, then keeps its registry up with the demo's
# images, printing the commands to try against it, until Ctrl-C.
playground:
	@GO='$(GO)' DEMO_CMD=playground ./scripts/demo.sh

# bench measures round trips, requests, writes and memory through a delaying
# proxy (BENCHFLAGS, e.g. "-delay 20ms -sizes 8,32 -runs 5 -trace -check").
bench:
	cd integration && $(GO) run ./cmd/bench $(BENCHFLAGS)

fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzLoad -fuzztime=$(FUZZTIME) ./spec
	$(GO) test -run='^$$' -fuzz=FuzzExpand -fuzztime=$(FUZZTIME) ./spec
	$(GO) test -run='^$$' -fuzz=FuzzFromArgs -fuzztime=$(FUZZTIME) ./spec
	$(GO) test -run='^$$' -fuzz=FuzzParse -fuzztime=$(FUZZTIME) ./platform

# image builds manifest-push for five linux platforms, packs one image each
# and publishes them as one index with manifest-push itself (REGISTRY=host:port,
# plain HTTP, anonymous; without REGISTRY it rehearses on an embedded registry).
# The version stamped is $(VERSION), as for make build; a release v1.2.3 is
# tagged 1.2.3, 1.2, 1 and latest, anything else only as itself.
image:
	cd integration && $(GO) run ./cmd/selfimage -registry '$(REGISTRY)' -version '$(VERSION)'

# release builds the static release binaries for every supported platform
# into $(DIST), named manifest-push_<version>_<os>_<arch>[.exe], with
# SHA256SUMS: VERSION=vMAJOR.MINOR.PATCH[-PRERELEASE] is required. The same
# source and Go toolchain give the same bytes (see scripts/release.sh).
DIST ?= dist
release:
	./scripts/release.sh '$(VERSION)' '$(DIST)'

clean:
	rm -rf bin dist

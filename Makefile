# circleci-ecr-oidc — build, test and demo targets.
# `make demo` and `make test` are the whole set-up on a fresh machine: they
# build the tool and, if moto_server (the AWS emulator) is missing, install it.

BINARY      := bin/circleci-ecr-oidc
# Build metadata that --version prints, stamped as the release build
# (.goreleaser.yaml) stamps it: the version without its "v" (from the latest
# tag, e.g. 0.1.0-3-gabc1234-dirty; "dev" before the first tag), the full
# commit (with -dirty when files differ from it), and the build time in UTC.
VERSION     := $(or $(patsubst v%,%,$(shell git describe --tags --dirty 2>/dev/null)),dev)
COMMIT      := $(or $(shell c=$$(git rev-parse HEAD 2>/dev/null) && { git diff --quiet HEAD -- 2>/dev/null || c=$$c-dirty; echo $$c; }),unknown)
DATE        := $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
MODULE      := github.com/circleci-ecr-oidc/circleci-ecr-oidc
LDFLAGS     := -s -w -X $(MODULE)/internal/buildinfo.version=$(VERSION) -X $(MODULE)/internal/buildinfo.commit=$(COMMIT) -X $(MODULE)/internal/buildinfo.date=$(DATE)
GO          ?= go
# Each fuzz target runs this long in `make test`; `make fuzz` runs longer.
FUZZTIME    ?= 5s
LONGFUZZ    ?= 2m

.PHONY: all build test check-tidy unit fuzz-short fuzz bench lint vuln demo docs golden clean moto \
	release-check release-snapshot release

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BINARY) ./cmd/circleci-ecr-oidc

# moto_server is the emulator the integration tests and the demo run against.
moto:
	@command -v moto_server >/dev/null 2>&1 || { \
		echo "moto_server not found; installing moto[server] with pip" >&2; \
		python3 -m pip install --user 'moto[server]' >&2 && \
		command -v moto_server >/dev/null 2>&1 || { echo "moto_server still not on PATH (add ~/.local/bin to PATH)" >&2; exit 1; }; }

test: moto check-tidy unit fuzz-short

# check-tidy fails, printing the difference, when go.mod or go.sum is not what
# `go mod tidy` would write; run `go mod tidy` and commit the result.
check-tidy:
	@$(GO) mod tidy -diff || { echo "go.mod is not tidy: run 'go mod tidy' and commit go.mod and go.sum" >&2; exit 1; }

# Everything runs under the race detector: the executor, the observers and
# the fakes are concurrent, and the command tests run the commands in this
# process (runCmd), so the detector sees the command code too; the few that
# need a real process run the built binary.
unit:
	$(GO) vet ./...
	$(GO) test -count=1 -race -timeout 9m ./...

# fuzz-short runs every fuzz target briefly, as CI does.
fuzz-short:
	@./scripts/fuzz.sh $(FUZZTIME)

fuzz:
	@./scripts/fuzz.sh $(LONGFUZZ)

# bench compares the tool with the AWS CLI script and Terraform against moto
# behind a 100 ms latency proxy and prints the tables docs/performance.md
# quotes; it measures the binary `make build` just made.
bench: moto build
	CIRCLECI_ECR_OIDC_BINARY=$(CURDIR)/$(BINARY) $(GO) test -run '^$$' -bench . -benchtime 1x -count 1 -timeout 30m ./bench/

# The linters and govulncheck are pinned in their own module file,
# tools/go.mod, so that their few hundred modules stay out of the product's
# go.mod; `go tool -modfile` runs them on the product's packages.
TOOL        := $(GO) tool -modfile=tools/go.mod

lint:
	$(TOOL) golangci-lint run ./...
	$(TOOL) staticcheck ./...
	@cd tools && $(GO) mod tidy -diff || { echo "tools/go.mod is not tidy: run 'go mod tidy' in tools/ and commit the result" >&2; exit 1; }

vuln:
	$(TOOL) govulncheck ./...

demo: moto build
	@./scripts/demo.sh $(BINARY)

# docs regenerates the command reference from the cobra command tree; a test
# fails when the committed reference is out of date.
docs:
	$(GO) run ./cmd/circleci-ecr-oidc gen-docs docs/reference

# golden rewrites the golden files (testdata) of every package whose tests
# use internal/golden; review the diff before committing it.
golden:
	$(GO) test -count=1 $$($(GO) list -f '{{.ImportPath}} {{join .TestImports " "}} {{join .XTestImports " "}}' ./... | awk '$$1 !~ /internal\/golden$$/ && /internal\/golden/ {print $$1}') -update

# The release build (.goreleaser.yaml). GoReleaser is pinned here and run
# with `go run`, so it is no dependency of the product's go.mod; the first
# run compiles it, which takes minutes. None of these is part of `make test`.
GORELEASER  := $(GO) run github.com/goreleaser/goreleaser/v2@v2.15.1

# release-check validates .goreleaser.yaml, failing on deprecated settings too.
release-check:
	$(GORELEASER) check

# release-snapshot builds every archive, package, the cask and checksums.txt
# into dist/ from the current commit, publishing nothing.
release-snapshot:
	$(GORELEASER) release --snapshot --clean

# release publishes the tagged commit: run it on a clean checkout of a tag
# vX.Y.Z whose CHANGELOG.md section exists, with GITHUB_TOKEN set (with write
# access to this repository and to the Homebrew tap). See CONTRIBUTING.md.
release:
	$(GORELEASER) release --clean

clean:
	rm -rf bin dist build
	$(GO) clean -testcache

# Parley. `make run` starts a node on the embedded store; `make test` runs
# every test (Go with -race, the ConnectyCube SDK under Node, slixmpp),
# installing what it needs first.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X github.com/parley-chat/parley/xmpp.Version=$(VERSION)

.PHONY: build run test test-go test-clients deps bench bench-compare fuzz lint clean

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o bin/parley ./cmd/parley

run: build
	./bin/parley serve --data ./data

deps:
	bash scripts/deps.sh

test: build deps
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1)
	$(GO) test -race -count=1 ./...
	PARLEY_BIN=$(CURDIR)/bin/parley $(GO) test -count=1 -tags clients ./tests/clients/...

bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...

# Parley and Prosody side by side on this machine (about 5 minutes).
bench-compare: build
	bash bench/peers/compare.sh

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParse -fuzztime 60s ./xmpp/wire

lint:
	$(GO) vet ./...
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || (gofmt -l $$(git ls-files '*.go'); exit 1)

clean:
	rm -rf bin

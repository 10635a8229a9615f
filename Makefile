# The verbs a newcomer sees: make run, make test, make gen. Everything they need
# is installed by the targets themselves from package-lock.json.
SHELL := /bin/bash
.DEFAULT_GOAL := help

NODE_MODULES := node_modules/.package-lock.json
GENERATOR := generator/dist/cli.js

.PHONY: help install run test-services kafka-broker go-tools gen gen-check spec-diff lint build test bench bench-tools
.PHONY: sdks-build sdk-tools

help:
	@echo "make run        start the runtime on the embedded in-memory default (CONFIG=file for another)"
	@echo "make gen        compile spec/ into generated/ and docs/api/"
	@echo "make gen-check  fail when generated/ is stale"
	@echo "make spec-diff  compare spec/ with the protos of the published layotto package"
	@echo "make test       install what the tests need and run every test"
	@echo "make bench      measure the hot path against the direct backends (results: bench/RESULTS.md)"

# npm ci only when the lock file changed since the last install.
$(NODE_MODULES): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

install: $(NODE_MODULES)

$(GENERATOR): $(NODE_MODULES) $(shell find generator/src -name '*.ts') generator/tsconfig.json tsconfig.base.json
	npx tsc -b generator

gen: $(GENERATOR) sdk-tools
	node $(GENERATOR) gen

gen-check: $(GENERATOR) sdk-tools
	node $(GENERATOR) check

# The code generators the SDKs need besides protobuf-es: protoc-gen-go and
# protoc-gen-go-grpc (pinned in generator/go-plugins/go.mod) from the Go module
# proxy into .cache/go/bin, and gofmt, so Go is installed when missing; and a
# Python venv in .cache/python/venv with grpcio-tools and mypy from PyPI
# (pinned in generator/python-tools/requirements.txt).
PYTHON_VENV := .cache/python/venv
sdk-tools: $(PYTHON_VENV)/.installed
	@command -v go >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go; }
	@cd generator/go-plugins && GOBIN=$(CURDIR)/.cache/go/bin GOFLAGS=-mod=mod go install tool

$(PYTHON_VENV)/.installed: generator/python-tools/requirements.txt
	@python3 -m venv --help >/dev/null 2>&1 || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq python3 python3-venv; }
	@test -x $(PYTHON_VENV)/bin/python || python3 -m venv $(PYTHON_VENV)
	@$(PYTHON_VENV)/bin/pip install -q --disable-pip-version-check -r generator/python-tools/requirements.txt
	@touch $@

spec-diff: $(GENERATOR)
	node $(GENERATOR) spec-diff

# buf lint over spec/proto, and a type check of every test (jest only transpiles them).
lint: $(NODE_MODULES)
	npx buf lint
	npx tsc -p tsconfig.tests.json

# The runtime on the embedded default config, or CONFIG=<file> (Layotto config.json or Ottavo YAML).
# generated/ is checked in (and make test fails when it is stale), so running needs no
# generator toolchain: Node and npm only. After editing spec/, run make gen first.
CONFIG ?=
run: build
	node runtime-kernel/dist/ottavo.js run $(if $(CONFIG),-c $(CONFIG))

# Backends the tests start themselves on free loopback ports: Redis and etcd from Debian; and
# Debian's chromium, which the browser test drives headless.
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
test-services: kafka-broker go-tools
	@command -v redis-server >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq redis-server; }
	@command -v chromium >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq chromium; }
	@command -v etcd >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq etcd-server; }

# Apache Kafka's broker jars from Maven Central (Java 17 runs them), copied once into .cache/kafka/libs.
kafka-broker:
	@command -v mvn >/dev/null && command -v java >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq maven openjdk-17-jre-headless; }
	@test-support/kafka/fetch-broker.sh >/dev/null

# Go clients the tests run (grpc-go's grpcprobe, grpcurl, grpc_health_probe), pinned in
# test-support/go/go.mod, from the Go module proxy into .cache/go/bin (Go from Debian when missing).
go-tools:
	@command -v go >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go; }
	@cd test-support/go && GOBIN=$(CURDIR)/.cache/go/bin GOFLAGS=-mod=mod go install tool ./grpcprobe

# tsc's output, then the `ottavo` command bundled into one file (dist/ottavo.js), which
# starts in half the time of loading some 400 modules one by one.
build: $(NODE_MODULES)
	npx tsc -b
	node runtime-kernel/scripts/bundle.js

# The SDKs as their users get them (sdks/): the TypeScript SDK's ES module build
# beside the CommonJS one that `build` makes; the Go SDK vetted and built; the
# Python SDK compiled and checked by mypy --strict (its pyproject.toml).
sdks-build: build
	npx tsc -p sdks/typescript/tsconfig.esm.json
	node sdks/typescript/scripts/module-types.js
	cd sdks/go && go vet ./... && go build ./...
	PYTHONPYCACHEPREFIX=$(CURDIR)/.cache/pycache $(PYTHON_VENV)/bin/python -m compileall -q sdks/python/ottavo
	cd sdks/python && MYPY_CACHE_DIR=$(CURDIR)/.cache/mypy $(CURDIR)/$(PYTHON_VENV)/bin/python -m mypy ottavo

test: test-services gen-check lint build sdks-build
	@mkdir -p .cache
	OTTAVO_SKIP_BUILD=1 npx jest --ci --json --outputFile=.cache/jest-results.json

# Load generators that are not in Node: ghz, vegeta and streambench (Go, built into .cache/tools;
# vegeta drives HTTP/1.1 and gRPC over h2c at a fixed rate for the invocation rows) and
# h2load (Debian's nghttp2-client); redis-benchmark comes with redis-server.
GHZ := .cache/tools/bin/ghz
VEGETA := .cache/tools/bin/vegeta
$(GHZ):
	@command -v go >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go; }
	GOBIN=$(abspath .cache/tools/bin) go install github.com/bojand/ghz/cmd/ghz@v0.121.0

$(VEGETA):
	@command -v go >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go; }
	GOBIN=$(abspath .cache/tools/bin) go install github.com/tsenart/vegeta/v12@v12.12.0

# streambench (bench/go): a grpc-go SubscribeTopicEvents client for the streaming rows.
STREAMBENCH := .cache/tools/bin/streambench
$(STREAMBENCH): bench/go/go.mod bench/go/go.sum bench/go/streambench/main.go
	@command -v go >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq golang-go; }
	cd bench/go && GOBIN=$(abspath .cache/tools/bin) go install ./streambench

bench-tools: $(GHZ) $(VEGETA) $(STREAMBENCH)
	@command -v h2load >/dev/null || { $(SUDO) apt-get update -qq && $(SUDO) apt-get install -y -qq nghttp2-client; }

# The hot-path benchmarks (bench/): the runtime against a hand-framed node:http2
# reference and Redis itself, servers on CPU 0 and load generators on CPU 1;
# about 5 minutes (service invocation alone: node bench/dist/invoke-bench.js).
# BENCH_BASELINE=<checkout> adds another build's runtime.
bench: test-services bench-tools build
	node bench/dist/main.js

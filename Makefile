# restoregrad: one command to set up and run the demo, one to run every test.
#   make demo   installs what a fresh Debian 12 machine lacks, builds, and denoises the shipped sample
#   make test   installs, builds, starts a user-mode PulseAudio, and runs the Go and Python tests

SHELL := /bin/bash
GO ?= go
PY ?= /usr/bin/python3
BIN := bin/restoregrad
SAMPLE := testdata/sample-noisy.wav

.PHONY: setup build demo test test-go test-py bench fuzz vet clean

setup:
	@bash scripts/setup.sh

build: setup
	@$(GO) build -o $(BIN) ./cmd/restoregrad

demo: build
	@mkdir -p out
	./$(BIN) enhance $(SAMPLE) -o out/sample-denoised.wav
	@echo "demo: wrote out/sample-denoised.wav (input: $(SAMPLE))"

vet:
	@$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }

test: build vet
	@bash scripts/test.sh

test-go: setup
	@$(GO) test ./...

test-py:
	@$(PY) -m pytest -q models/train/tests

# Benchmarks print figures; they are not tests.
bench: build
	./$(BIN) bench

fuzz:
	$(GO) test -run '^$$' -fuzz=FuzzReader -fuzztime=60s ./dsp/wav/

clean:
	rm -rf bin out

-include models/train/train.mk

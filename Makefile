# restoregrad: one command to set up and run the demo, one to run every test.
#   make demo   installs what a fresh Debian 12 machine lacks, builds, and denoises the shipped sample
#   make test   installs, builds, starts a user-mode PulseAudio, and runs the Go and Python tests

SHELL := /bin/bash
GO ?= go
PY ?= /usr/bin/python3
BIN := bin/restoregrad
PLUGIN := bin/librestoregrad_ladspa.so
SAMPLE := testdata/sample-noisy.wav

.PHONY: setup build demo test test-go test-py bench fuzz vet clean plugin plugin-bench

setup:
	@bash scripts/setup.sh

build: setup
	@$(GO) build -o $(BIN) ./cmd/restoregrad

# The LADSPA plugin (PipeWire filter-chain, EasyEffects, sox, Audacity); see README.
plugin: setup
	@$(GO) build -buildmode=c-shared -o $(PLUGIN) ./cmd/ladspa
	@rm -f $(PLUGIN:.so=.h)
	@echo "plugin: built $(PLUGIN)"

# The plugin's CPU per second of audio and RTF through sox, next to restoregrad enhance.
plugin-bench: build plugin
	@bash scripts/plugin-bench.sh

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
	$(GO) test -run '^$$' -fuzz=FuzzFLAC -fuzztime=60s ./dsp/audiofile/
	$(GO) test -run '^$$' -fuzz=FuzzMP3 -fuzztime=60s ./dsp/audiofile/

clean:
	rm -rf bin out

-include models/train/train.mk

# The Debian package out/restoregrad_<VERSION>_amd64.deb (scripts/build-deb.sh; packaging/).
.PHONY: deb
deb: setup
	@bash scripts/build-deb.sh

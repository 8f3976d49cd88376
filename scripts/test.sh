#!/usr/bin/env bash
# Runs every test: Go (with a user-mode PulseAudio for the audio tests) and the Python
# training pipeline's pytest suite. Exits non-zero when any test fails.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
failed=()
# Everything is also kept in one log, so that the last lines printed (all a CI summary may
# show) can name what failed.
log=$(mktemp /tmp/restoregrad-test.XXXXXX)
exec > >(tee "$log") 2>&1
tee_pid=$!
pulse_started=0
if [ -x scripts/pulse-test-server.sh ]; then
  if eval "$(bash scripts/pulse-test-server.sh start)"; then
    pulse_started=1
  else
    echo "test: could not start PulseAudio; audio tests will skip"
  fi
fi

echo "== go test (packages without audio devices)"
go test -count=1 $(go list ./... | grep -v -E '/stream(/|$)|/cmd/restoregrad$') || { status=1; failed+=("go test"); }

# The audio tests share one PulseAudio server and measure timing: run them one package at a
# time, after the CPU-heavy packages above.
echo "== go test (audio path and CLI, serial)"
go test -count=1 -p 1 ./stream/... ./cmd/restoregrad/ || { status=1; failed+=("go test (audio, CLI)"); }

# The LADSPA plugin inside PipeWire's filter-chain (its own user-mode daemons; skips when
# PipeWire is not installed). The plugin's sox/applyplugin tests ran with cmd/ladspa above.
echo "== LADSPA plugin in PipeWire"
if go build -buildmode=c-shared -o bin/librestoregrad_ladspa.so ./cmd/ladspa; then
  rm -f bin/librestoregrad_ladspa.h
  bash scripts/test-pipewire.sh || { status=1; failed+=("test-pipewire"); }
else
  status=1; failed+=("plugin build")
fi

# virtual-mic on PipeWire's pulse server with WirePlumber (our microphone as the default
# source, two microphones, an unloaded source); skips when PipeWire is not installed.
echo "== virtual-mic on PipeWire"
if go build -o bin/restoregrad ./cmd/restoregrad; then
  bash scripts/test-pipewire-virtualmic.sh || { status=1; failed+=("test-pipewire-virtualmic"); }
else
  status=1; failed+=("build")
fi

# The Debian package: build, lintian, dpkg -i, enhance and the plugin from /usr, dpkg -r
# (skips when not root or without dpkg).
echo "== Debian package"
bash scripts/test-deb.sh || { status=1; failed+=("test-deb"); }

# Batch cleaning as a Slurm job array on a one-node cluster of its own (skips when not root
# or when Slurm cannot start).
echo "== Slurm job array (enhance --shard)"
bash scripts/test-slurm.sh || { status=1; failed+=("test-slurm"); }

if [ -d models/train/tests ] && ls models/train/tests/test_*.py >/dev/null 2>&1; then
  echo "== pytest models/train"
  /usr/bin/python3 -m pytest -q -p no:cacheprovider models/train/tests || { status=1; failed+=("pytest"); }
fi

if [ $pulse_started = 1 ]; then bash scripts/pulse-test-server.sh stop >/dev/null 2>&1 || true; fi
if [ $status != 0 ]; then
  echo "== test: FAILED: ${failed[*]}"
  grep -E -e '--- FAIL|^FAIL|: FAIL|FAILED |Error' "$log" | grep -v '^== test: FAILED' | tail -40
else
  echo "== test: all passed"
fi
exec >&- 2>&-
wait "$tee_pid" 2>/dev/null
rm -f "$log"
exit $status

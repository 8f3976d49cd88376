#!/usr/bin/env bash
# Prints the LADSPA plugin's CPU time per second of audio and its real-time factor through
# sox, next to `restoregrad enhance` on the same file with the same model (make plugin-bench).
# Input: the demo sample repeated to about 61 s, at 16 and 48 kHz. CPU = user + system time
# of the whole process (model load included), RTF = wall time / audio time.
set -euo pipefail
cd "$(dirname "$0")/.."
PLUGIN=${PLUGIN:-bin/librestoregrad_ladspa.so}
BIN=${BIN:-bin/restoregrad}
MODEL=${MODEL:-restoregrad-rt}
REPEAT=${REPEAT:-10}
for tool in sox /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "plugin-bench: $tool is missing"; exit 1; }
done
[ -f "$PLUGIN" ] || { echo "plugin-bench: $PLUGIN missing (make plugin)"; exit 1; }
[ -x "$BIN" ] || { echo "plugin-bench: $BIN missing (make build)"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

files=()
for i in $(seq "$REPEAT"); do files+=(testdata/sample-noisy.wav); done
sox "${files[@]}" -e floating-point -b 32 "$tmp/in-16000.wav"
sox "$tmp/in-16000.wav" -e floating-point -b 32 "$tmp/in-48000.wav" rate -v 48000
secs=$(soxi -D "$tmp/in-16000.wav")

# measure NAME CMD...: one line with wall, CPU, RTF and CPU per audio second.
measure() {
  local name=$1; shift
  if ! /usr/bin/time -f '%e %U %S' -o "$tmp/time" "$@" >"$tmp/log" 2>&1; then
    printf '%-50s failed: %s\n' "$name" "$(tail -1 "$tmp/log")"
    return
  fi
  read -r wall user sys <"$tmp/time"
  awk -v n="$name" -v w="$wall" -v u="$user" -v s="$sys" -v a="$secs" \
    'BEGIN { printf "%-50s %7.2f %7.2f %8.4f %10.4f\n", n, w, u+s, w/a, (u+s)/a }'
}

echo "audio: $secs s per file, model $MODEL, default steps, one ONNX Runtime thread; $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-50s %7s %7s %8s %10s\n' "run" "wall s" "CPU s" "RTF" "CPU s/s"
for rate in 16000 48000; do
  in=$tmp/in-$rate.wav
  measure "sox (no effect), $rate Hz" sox "$in" -e floating-point -b 32 "$tmp/copy.wav"
  measure "sox + plugin restoregrad_mono, $rate Hz" sox "$in" -e floating-point -b 32 "$tmp/plugin.wav" ladspa -l "$PLUGIN" restoregrad_mono
  measure "restoregrad enhance --model $MODEL, $rate Hz" "$BIN" enhance "$in" -o "$tmp/enhance.wav" --model "$MODEL" --threads 1 --quiet
done

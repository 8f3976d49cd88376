#!/usr/bin/env bash
# Soak and hog tests of `restoregrad live` (not part of CI: they take minutes).
#
#   scripts/live-soak.sh idle [DURATION]   # default 10m: the machine as it is
#   scripts/live-soak.sh hog [DURATION]    # default 2m: one busy loop per core at normal priority
#
# Extra arguments after the duration go to `restoregrad live` (e.g. --model passthrough).
# It starts a private user-mode PulseAudio (scripts/pulse-test-server.sh in a fresh
# directory, so other tests on the shared server are not disturbed; with RG_PULSE_DIR set it
# uses, and leaves running, the test server there instead), loops the noisy demo
# sample into the rg_mic sink, runs live from rg_mic.monitor to rg_out with --json-stats,
# and prints: input/output xruns, dropped frames, step changes, bypass time, RSS at start
# and end, the latency live reports, and the measured latency. For that the sample is
# played through a combine sink into both rg_mic and rg_out: the speaker's monitor then
# carries the sample directly and again through live, and the gap between the two
# cross-correlation peaks (last 10 s, numpy) is the microphone-to-speaker latency, as in
# stream's TestLiveLatency.
#
# Whatever else runs on the machine (a training run, say) is part of the measurement.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-idle}
case $mode in
idle) dur=${2:-10m} ;;
hog) dur=${2:-2m} ;;
*)
  echo "usage: $0 idle|hog [DURATION] [live flags...]" >&2
  exit 2
  ;;
esac
shift $(($# >= 2 ? 2 : $#))
PY=${PY:-/usr/bin/python3}

work=$(mktemp -d /tmp/rg-soak.XXXXXX)
own_server=1
if [ -n "${RG_PULSE_DIR:-}" ]; then
  own_server=0
else
  export RG_PULSE_DIR=$work/pulse
fi
pids=()
combine=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "$own_server" = 1 ]; then
    bash scripts/pulse-test-server.sh stop >/dev/null 2>&1 || true
  elif [ -n "$combine" ]; then
    pactl unload-module "$combine" >/dev/null 2>&1 || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

eval "$(bash scripts/pulse-test-server.sh start)"
export XDG_RUNTIME_DIR=$RG_PULSE_DIR/run
# RG_SOAK_RT_SERVER=1 runs every thread of the test server at SCHED_RR 5; by default only
# its I/O threads are real-time and its main thread, which moves the clients' audio to and
# from their sockets, runs at nice -11 and can be held up by CPU hogs.
if [ "${RG_SOAK_RT_SERVER:-0}" = 1 ]; then
  chrt -a -r -p 5 "$(cat "$RG_PULSE_DIR/pulseaudio.pid")" >/dev/null
fi

go build -o "$work/restoregrad" ./cmd/restoregrad
lib=$(ls "$PWD"/.deps/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1 2>/dev/null || true)
export ORT_LIB=${ORT_LIB:-$lib}

# The microphone: the noisy demo sample, looped, also played directly to the speaker.
sox -q testdata/sample-noisy.wav -r 48000 -c 1 -e float -b 32 "$work/noisy48k.wav"
sox -q "$work/noisy48k.wav" -t raw "$work/noisy48k.raw"
combine=$(pactl load-module module-combine-sink sink_name=rg_both slaves=rg_mic,rg_out rate=48000 channels=1 adjust_time=0)
(while :; do paplay -d rg_both "$work/noisy48k.wav" 2>/dev/null || exit 0; done) &
pids+=($!)

if [ "$mode" = hog ]; then
  for _ in $(seq "$(nproc)"); do
    (while :; do :; done) &
    pids+=($!)
  done
fi

echo "soak: $mode for $dur ($(nproc) cores; load before start: $(cut -d' ' -f1-3 /proc/loadavg))"
"$work/restoregrad" live --input rg_mic.monitor --output rg_out --duration "$dur" \
  --json-stats "$work/stats.json" --quiet "$@" 2>"$work/live.log" &
live=$!
pids+=($live)

secs=$("$PY" -c "
import re,sys
s='$dur'; t=0
for v,u in re.findall(r'([0-9.]+)(h|ms|m|s)', s): t+=float(v)*{'h':3600,'m':60,'s':1,'ms':0.001}[u]
print(int(t))")
# Every 5 s: seconds since start, RSS (KiB) and the running counters, for the timeline below
# (is RSS flat after warm-up? when did an xrun happen?).
(
  t0=$(date +%s)
  while kill -0 $live 2>/dev/null; do
    sleep 5
    rss=$(awk '/VmRSS/{print $2}' /proc/$live/status 2>/dev/null) || break
    [ -n "$rss" ] || break
    counts=$("$PY" -c "
import json,sys
try: s=json.load(open(sys.argv[1]))['stream']
except Exception: sys.exit()
print(s['input_xruns'], s['output_xruns'], s['dropped_frames'])" "$work/stats.json" 2>/dev/null || true)
    echo "$(($(date +%s) - t0)) $rss $counts" >>"$work/timeline.txt"
  done
) &
pids+=($!)
# A real-time probe thread beside live: a stall it sees is one of the whole machine (kernel or
# hypervisor), which no priority inside it prevents; an xrun near one is the machine's.
# A second probe records the microphone as another real-time client: a gap in its audio is
# a stall of the sound server, which every client sees at the same moment.
probe=("$PY" scripts/stall-probe.py "$secs" --events "$work/stalls.txt")
server_probe=("$PY" scripts/stall-probe.py "$((secs - 2))" --source rg_mic.monitor --events "$work/server-stalls.txt")
if chrt -f 3 true 2>/dev/null; then
  probe=(chrt -f 3 "${probe[@]}")
  server_probe=(chrt -f 3 "${server_probe[@]}")
fi
echo "${probe[*]}" >"$work/probe.cmd"
"${probe[@]}" >"$work/probe.txt" 2>&1 &
pids+=($!)
"${server_probe[@]}" >"$work/server-probe.txt" 2>&1 &
pids+=($!)
sleep 5
rss_start=$(awk '/VmRSS/{print $2}' /proc/$live/status)
# Record the speaker's monitor over the last 10 s for the latency measurement.
sleep $((secs > 20 ? secs - 17 : 3))
parecord -d rg_out.monitor --raw --format=float32le --rate=48000 --channels=1 "$work/out.raw" &
rec=$!
sleep 10
rss_end=$(awk '/VmRSS/{print $2}' /proc/$live/status 2>/dev/null || echo 0)
kill -INT $rec
wait $rec 2>/dev/null || true
status=0
wait $live || status=$?
cat "$work/live.log"
sleep 1 # the probe ends with live

"$PY" - "$work" "$rss_start" "$rss_end" "$status" <<'EOF'
import json, sys
import numpy as np
work, rss0, rss1, status = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
s = json.load(open(f"{work}/stats.json"))
st, en = s["stream"], s["engine"]
ref = np.fromfile(f"{work}/noisy48k.raw", dtype="<f4")
out = np.fromfile(f"{work}/out.raw", dtype="<f4")
# Cross-correlate the recording with the sample: the strongest peak is one copy, the
# strongest other peak within 500 ms (outside ±5 ms) the other; their gap is the latency.
measured, ratio = float("nan"), 0.0
if len(out) > len(ref):
    m = 1 << int(np.ceil(np.log2(len(out) + len(ref))))
    c = np.abs(np.fft.irfft(np.fft.rfft(out, m) * np.conj(np.fft.rfft(ref, m)), m)[: len(out)])
    first = int(np.argmax(c))
    lo, hi = max(0, first - 24000), min(len(c), first + 24000)
    d = c[lo:hi].copy()
    d[max(0, first - lo - 240): first - lo + 240] = 0
    second = lo + int(np.argmax(d))
    measured, ratio = abs(second - first) / 48.0, c[second] / c[first]
print(f"exit status            {status} ({s.get('stopped_by')})")
print(f"input xruns            {st['input_xruns']}")
print(f"output xruns           {st['output_xruns']}")
print(f"dropped frames         {st['dropped_frames']} ({st['dropped_input_frames']} of input the worker was too far behind on)")
print(f"latency shed           {st['trimmed_frames']} silent frames left out, {st['shed_samples'] / 48000:.1f} s played fast; extra cushion now {st['extra_cushion_ms']:.0f} ms")
print(f"cushion kept           {st.get('stretched_samples', 0) / 48000:.1f} s played up to 0.5% slow (an output clock faster than the input's; 2% while growing a busy machine's margin)")
print(f"busy machine margin    {st.get('busy_cushion_ms', 0):.0f} ms now, {st.get('padded_frames', 0)} silent frames doubled to grow it")
print(f"step changes           {en['step_changes']} (steps now {en['steps']})")
print(f"bypass time            {en['bypass_ms'] / 1000:.1f} s ({en['bypass_entries']} entries)")
print(f"p99 frame load         {en['p99_load']:.2f} (max {en['max_load']:.2f})")
print(f"RSS start / end        {rss0 / 1024:.1f} / {rss1 / 1024:.1f} MiB")
# The timeline: RSS after the warm-up against the end, and when each xrun or drop happened.
# Warm-up is the first 90 s: Go's heap fills to its 16 MB goal once (a collection every
# ~30 s at 1 MB live; GODEBUG=gctrace=1 shows them), ONNX Runtime's arenas settle.
rows = []
try:
    for line in open(f"{work}/timeline.txt"):
        f = line.split()
        if len(f) == 5:
            rows.append([int(v) for v in f])
except FileNotFoundError:
    pass
if rows:
    late = [r for r in rows if r[0] >= 90] or rows
    kib = [r[1] for r in late]
    span = (late[-1][0] - late[0][0]) / 60
    slope = (kib[-1] - kib[0]) / 1024 / span if span > 0 else 0.0
    print(f"RSS after 90 s         {kib[0] / 1024:.1f} MiB, max {max(kib) / 1024:.1f}, end {kib[-1] / 1024:.1f} "
          f"({slope:+.2f} MiB/min from 90 s to the end; {len(rows)} samples, every 5 s)")
    events, prev = [], [0, 0, 0]
    for r in rows:
        for k, name in enumerate(("input xrun", "output xrun", "dropped frame")):
            if r[2 + k] > prev[k]:
                events.append(f"{r[0]} s: {r[2 + k] - prev[k]} {name}(s)")
        prev = r[2:]
    print(f"events (5 s grain)     {'; '.join(events) if events else 'none'}")
print(f"latency reported       {s['estimated_latency_ms']:.1f} ms (mean over the run)")
if ratio >= 0.5:
    print(f"latency measured       {measured:.1f} ms (cross-correlation over the last 10 s; second peak {ratio:.2f} of the first)")
else:
    print(f"latency measured       n/a (the second cross-correlation peak is only {ratio:.2f} of the first)")
print(f"scheduling             {st.get('realtime')}")
# Where the reported latency comes from: its parts, averaged over the run (--json-stats
# mean_latency_parts; docs/live-internals.md#latency names each).
parts = st.get("mean_latency_parts")
if parts:
    names = [k for k in parts if k != "total_ms"]
    print("latency parts (mean)   " + ", ".join(f"{k[:-3].replace('_', ' ')} {parts[k]:.1f}" for k in names) + f" = {parts['total_ms']:.1f} ms")


def stall_report(label: str, summary: str, events: str, who: str, over: str) -> None:
    """Prints a probe's summary line and its events over 20 ms (scripts/stall-probe.py)."""
    try:
        line = open(f"{work}/{summary}").read().strip()
        stalls = [e.split() for e in open(f"{work}/{events}")]
    except FileNotFoundError:
        line, stalls = "n/a", []
    print(f"{label:<23}{line} ({who})")
    if stalls:
        print(f"{over:<23}" + "; ".join(f"{float(t):.0f} s: {float(ms):.0f} ms" for t, ms in stalls))


stall_report("machine stalls", "probe.txt", "stalls.txt",
             "SCHED_FIFO 3" if "chrt" in open(f"{work}/probe.cmd").read() else "normal priority", "stalls over 20 ms")
stall_report("sound server stalls", "server-probe.txt", "server-stalls.txt",
             "another client recording rg_mic.monitor", "server over 20 ms")
EOF

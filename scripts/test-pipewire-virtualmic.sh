#!/usr/bin/env bash
# virtual-mic on PipeWire's pulse server (user mode, no sound card): its own XDG_RUNTIME_DIR,
# D-Bus session bus, pipewire daemon with module-protocol-pulse, and WirePlumber; a virtual
# "real_mic" source and a "speakers" sink. Checks, as a user meets them (issue 24):
#   1. virtual-mic records real_mic and says it is ready;
#   2. with our microphone made the default source (pactl set-default-source, or WirePlumber
#      on its own), virtual-mic started again still records real_mic;
#   3. a second virtual-mic with --name "Other Mic" runs beside it, with its own devices;
#   4. `pactl unload-module` of the remap source: it is loaded again within 3 s;
#   5. SIGTERM: both exit 0 and leave no module behind.
# Skips (exit 0) when PipeWire, WirePlumber, D-Bus or pactl are missing.
set -uo pipefail
cd "$(dirname "$0")/.."
for tool in pipewire wireplumber dbus-daemon pactl; do
  command -v "$tool" >/dev/null || { echo "test-pipewire-virtualmic: SKIP ($tool not installed)"; exit 0; }
done
ls /usr/lib/*/pipewire-0.3/libpipewire-module-protocol-pulse.so >/dev/null 2>&1 ||
  { echo "test-pipewire-virtualmic: SKIP (no libpipewire-module-protocol-pulse)"; exit 0; }
BIN=${BIN:-bin/restoregrad}
[ -x "$BIN" ] || { echo "test-pipewire-virtualmic: FAIL: $BIN missing (make build)"; exit 1; }
BIN=$(realpath "$BIN")

T=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
  [ -f "$T/dbus.pid" ] && kill "$(cat "$T/dbus.pid")" 2>/dev/null
  rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "test-pipewire-virtualmic: FAIL: $*"; for f in "$T"/vm*.log; do echo "== $f"; cat "$f"; done; exit 1; }
mkdir -p "$T/run" "$T/config/pipewire" "$T/state"
export XDG_RUNTIME_DIR=$T/run PIPEWIRE_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config XDG_STATE_HOME=$T/state
export DBUS_SESSION_BUS_ADDRESS=unix:path=$T/run/bus
unset PULSE_SERVER PULSE_RUNTIME_PATH PULSE_COOKIE ALSA_CONFIG_PATH ORT_LIB

cat >"$T/config/pipewire/pipewire.conf" <<'CONF'
context.properties = { core.daemon = true core.name = pipewire-0 default.clock.rate = 48000 support.dbus = false }
context.spa-libs = {
    audio.convert.* = audioconvert/libspa-audioconvert
    support.*       = support/libspa-support
}
context.modules = [
    { name = libpipewire-module-protocol-native }
    { name = libpipewire-module-metadata }
    { name = libpipewire-module-spa-node-factory }
    { name = libpipewire-module-client-node }
    { name = libpipewire-module-access args = { } }
    { name = libpipewire-module-adapter }
    { name = libpipewire-module-link-factory }
    { name = libpipewire-module-protocol-pulse args = { } }
]
context.objects = [
    { factory = spa-node-factory
      args = { factory.name = support.node.driver node.name = Dummy-Driver node.group = pipewire.dummy priority.driver = 20000 } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = real_mic media.class = Audio/Source/Virtual audio.position = [ MONO ] audio.rate = 48000 } }
    { factory = adapter
      args = { factory.name = support.null-audio-sink node.name = speakers media.class = Audio/Sink audio.position = [ MONO ] audio.rate = 48000 } }
]
CONF
dbus-daemon --session --fork --print-pid=1 --address="$DBUS_SESSION_BUS_ADDRESS" >"$T/dbus.pid"
pipewire >"$T/pipewire.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do
  sock=$(ls "$T"/run/pulse/native* 2>/dev/null | head -1)
  [ -n "$sock" ] && break
  sleep 0.1
done
[ -n "$sock" ] || fail "pipewire's pulse server did not start (see $T/pipewire.log)"
export PULSE_SERVER=unix:$sock
wireplumber >"$T/wireplumber.log" 2>&1 & pids+=($!)
sleep 2
pactl info | grep -q 'PipeWire' || fail "pactl does not reach pipewire-pulse"

# wait_for FILE TEXT: up to 15 s for TEXT in FILE.
wait_for() {
  for _ in $(seq 150); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
start() { # start LOG [ARGS...]: a virtual-mic in the background; its pid in $vm
  local log=$1; shift
  "$BIN" virtual-mic --model passthrough --quiet "$@" >"$log" 2>&1 & vm=$!
  pids+=($vm)
}

start "$T/vm1.log"
wait_for "$T/vm1.log" "is ready" || fail "1: the first run did not get ready"
grep -q 'live: real_mic (PulseAudio) →' "$T/vm1.log" || fail "1: the first run does not record real_mic"
echo "test-pipewire-virtualmic: 1 ok (records real_mic)"

pactl set-default-source restoregrad_denoised_mic
pactl info | grep -q 'Default Source: restoregrad_denoised_mic' || fail "2: could not make our microphone the default"
kill "$vm"; wait "$vm" || fail "2: the first run did not exit 0 on SIGTERM"
start "$T/vm2.log"
first=$vm
wait_for "$T/vm2.log" "is ready" || fail "2: with our microphone the default, virtual-mic did not start"
grep -q 'live: real_mic (PulseAudio) →' "$T/vm2.log" || fail "2: with our microphone the default, it does not record real_mic"
echo "test-pipewire-virtualmic: 2 ok (our microphone the default source: real_mic recorded)"

start "$T/vm3.log" --name "Other Mic"
other=$vm
wait_for "$T/vm3.log" "is ready" || fail "3: a second microphone with --name did not start"
pactl list short sources | grep -q 'restoregrad_denoised_mic_other_mic' || fail "3: no source of the second microphone"
pactl list short sources | grep -q 'restoregrad_denoised_mic[[:space:]]' || fail "3: the first microphone's source is gone"
echo "test-pipewire-virtualmic: 3 ok (two microphones side by side)"

idx=$(pactl list short modules | awk '$2 == "module-remap-source" && /source_name=restoregrad_denoised_mic([^_a-z0-9]|$)/ { print $1; exit }')
[ -n "$idx" ] || { pactl list short modules; fail "4: no remap source module of ours"; }
pactl unload-module "$idx"
wait_for "$T/vm2.log" "module-remap-source was unloaded while running; loaded again" || fail "4: no message about the unloaded source"
for _ in $(seq 30); do
  pactl list short sources | grep -q 'restoregrad_denoised_mic[[:space:]]' && break
  sleep 0.1
done
pactl list short sources | grep -q 'restoregrad_denoised_mic[[:space:]]' || fail "4: the source did not come back"
echo "test-pipewire-virtualmic: 4 ok (an unloaded source is loaded again)"

kill "$first" "$other"
wait "$first" || fail "5: exit status after SIGTERM"
wait "$other" || fail "5: exit status of the second after SIGTERM"
left=$(pactl list short modules | grep -c restoregrad)
[ "$left" = 0 ] || fail "5: $left modules left"
echo "test-pipewire-virtualmic: 5 ok (both removed their devices)"
echo "test-pipewire-virtualmic: PASS"

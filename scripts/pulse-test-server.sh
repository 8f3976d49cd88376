#!/usr/bin/env bash
# Runs an isolated user-mode PulseAudio server for tests and CI: no sound card needed.
#
#   scripts/pulse-test-server.sh start   # start (idempotent) and print the env to export
#   scripts/pulse-test-server.sh env     # print the env of a running server
#   scripts/pulse-test-server.sh stop    # stop it and remove its files
#   scripts/pulse-test-server.sh status  # exit 0 when it answers
#
# Typical use:  eval "$(scripts/pulse-test-server.sh start)"
#
# The server has two 48 kHz mono null sinks, rg_mic (play a test signal into it; its
# monitor rg_mic.monitor is the "microphone") and rg_out (the "speaker"; its monitor
# rg_out.monitor reads back what was played). One low-latency pacat stream is kept open on
# each sink, otherwise the null sink idles and stream start-up stalls for seconds.
# PortAudio reaches the server through ALSA's pulse plugin: ALSA_CONFIG_PATH adds a file
# that makes "default" and "pulse" PulseAudio; PULSE_SOURCE / PULSE_SINK pick the devices.
# Nothing in $HOME is touched: all state lives under $RG_PULSE_DIR.
set -euo pipefail

DIR=${RG_PULSE_DIR:-/tmp/restoregrad-pulse-$(id -u)}
RUN=$DIR/run
SOCKET=$DIR/native
PIDFILE=$DIR/pulseaudio.pid
KEEPALIVE_PIDS=$DIR/keepalive.pids
ASOUND=$DIR/asound.conf
LOG=$DIR/pulseaudio.log

server_env() {
  # For pulseaudio and pactl/pacat/parecord and for the ALSA pulse plugin in PortAudio.
  echo "export PULSE_SERVER=unix:$SOCKET"
  echo "export PULSE_RUNTIME_PATH=$RUN"
  echo "export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$ASOUND"
  echo "export PULSE_COOKIE=$DIR/cookie"
  echo "export RG_PULSE_DIR=$DIR"
}

apply_env() {
  export PULSE_SERVER=unix:$SOCKET
  export PULSE_RUNTIME_PATH=$RUN
  export PULSE_STATE_PATH=$DIR/state
  export XDG_RUNTIME_DIR=$RUN
  export XDG_CONFIG_HOME=$DIR/config
  export ALSA_CONFIG_PATH=/usr/share/alsa/alsa.conf:$ASOUND
  export PULSE_COOKIE=$DIR/cookie
  unset PULSE_SINK PULSE_SOURCE
}

running() {
  apply_env
  timeout 3 pactl info >/dev/null 2>&1
}

need() {
  command -v "$1" >/dev/null || { echo "pulse-test-server: $1 is missing (apt-get install pulseaudio pulseaudio-utils libasound2-plugins)" >&2; exit 1; }
}

keepalive_running() {
  [ -f "$KEEPALIVE_PIDS" ] || return 1
  local pid n=0
  while read -r pid; do
    kill -0 "$pid" 2>/dev/null && n=$((n + 1))
  done <"$KEEPALIVE_PIDS"
  [ "$n" -ge 2 ]
}

start_keepalive() {
  local pid
  if [ -f "$KEEPALIVE_PIDS" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$KEEPALIVE_PIDS"
  fi
  : >"$KEEPALIVE_PIDS"
  for sink in rg_mic rg_out; do
    # setsid: the stream must outlive the shell that ran "start".
    setsid pacat -p -d "$sink" --latency-msec=20 --rate=48000 --channels=1 --format=float32le \
      --client-name=rg-keepalive /dev/zero </dev/null >/dev/null 2>&1 &
    echo $! >>"$KEEPALIVE_PIDS"
  done
}

do_start() {
  need pulseaudio
  need pactl
  need pacat
  mkdir -p "$RUN" "$DIR/state" "$DIR/config"
  chmod 700 "$RUN"
  cat >"$ASOUND" <<'EOF'
# Written by scripts/pulse-test-server.sh: ALSA clients (PortAudio) go through PulseAudio.
pcm.!default { type pulse }
ctl.!default { type pulse }
EOF
  if ! running; then
    rm -f "$SOCKET" "$PIDFILE"
    # -n: no default.pa, so no hardware detection; only the modules below.
    # RG_PULSE_LOG_LEVEL=debug shows each underrun in $LOG, with timestamps.
    pulseaudio --daemonize=yes --exit-idle-time=-1 --use-pid-file=no -n --log-target="file:$LOG" \
      ${RG_PULSE_LOG_LEVEL:+--log-level=$RG_PULSE_LOG_LEVEL --log-time=1} \
      --load="module-native-protocol-unix auth-anonymous=1 socket=$SOCKET" \
      --load="module-null-sink sink_name=rg_mic format=float32le rate=48000 channels=1 sink_properties=device.description=rg_mic" \
      --load="module-null-sink sink_name=rg_out format=float32le rate=48000 channels=1 sink_properties=device.description=rg_out" \
      --load="module-always-sink" >/dev/null 2>&1 || true
    for _ in $(seq 50); do
      running && break
      sleep 0.1
    done
    running || { echo "pulse-test-server: server did not start; see $LOG" >&2; exit 1; }
    pgrep -n -f "pulseaudio.*$SOCKET" >"$PIDFILE" 2>/dev/null || true
    pactl set-default-sink rg_out >/dev/null
    pactl set-default-source rg_mic.monitor >/dev/null
  fi
  keepalive_running || start_keepalive
  server_env
}

do_stop() {
  local pid
  if [ -f "$KEEPALIVE_PIDS" ]; then
    while read -r pid; do kill "$pid" 2>/dev/null || true; done <"$KEEPALIVE_PIDS"
    rm -f "$KEEPALIVE_PIDS"
  fi
  if running; then
    # Ask the server to exit; fall back to its pid.
    timeout 3 pactl exit >/dev/null 2>&1 || true
  fi
  if [ -s "$PIDFILE" ]; then
    pid=$(cat "$PIDFILE")
    for _ in $(seq 20); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    kill "$pid" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}

case "${1:-}" in
start) do_start ;;
stop) do_stop ;;
env)
  running || { echo "pulse-test-server: no server at $SOCKET (run: $0 start)" >&2; exit 1; }
  server_env
  ;;
status) running ;;
*)
  echo "usage: $0 start|stop|env|status" >&2
  exit 2
  ;;
esac

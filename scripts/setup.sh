#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build, test, train and run restoregrad.
# Idempotent: quiet when everything is already present.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  portaudio19-dev pkg-config
  pulseaudio pulseaudio-utils libasound2-plugins alsa-utils
  sox ffmpeg espeak-ng
  python3-torch python3-numpy python3-scipy python3-soundfile python3-onnx python3-pytest
  ladspa-sdk  # analyseplugin/applyplugin for the LADSPA plugin's host tests (sox has LADSPA built in)
  pipewire-bin libpipewire-0.3-modules libspa-0.2-modules wireplumber dbus  # the plugin's PipeWire filter-chain test
)
ORT_VERSION=1.30.0
ORT_DIR=.deps/onnxruntime
ORT_LIB_PATH=$ORT_DIR/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO=sudo; fi

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -f "$ORT_LIB_PATH" ]; then
  echo "setup: installing ONNX Runtime $ORT_VERSION (npm onnxruntime-node, CPU) into $ORT_DIR"
  command -v npm >/dev/null || { echo "setup: npm is missing (apt-get install npm)"; exit 1; }
  mkdir -p "$ORT_DIR"
  (cd "$ORT_DIR" && npm install --silent --ignore-scripts --no-audit --no-fund --prefix . "onnxruntime-node@$ORT_VERSION" >/dev/null)
  # Keep only the Linux x64 library; the package ships every platform.
  bin=$ORT_DIR/node_modules/onnxruntime-node/bin/napi-v6
  rm -rf "$bin/darwin" "$bin/win32" "$bin/linux/arm64"
fi
[ -f "$ORT_LIB_PATH" ] || { echo "setup: ONNX Runtime library not found at $ORT_LIB_PATH"; exit 1; }

go mod download

#!/usr/bin/env bash
# Makes testdata/sample-noisy.wav and testdata/sample-clean.wav, the demo's input: two English
# prompts from Debian's asterisk-core-sounds-en-g722 (CC-BY-SA-3.0, Digium), both in the
# validation split of models/train/data.py (never trained on), mixed with synthetic pink noise
# and 100 Hz mains hum at 5 dB SNR. Needs sox and ffmpeg.
set -euo pipefail
cd "$(dirname "$0")/.."
src=/usr/share/asterisk/sounds/en
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
for f in vm-incorrect-mailbox vm-nonumber; do
  ffmpeg -loglevel error -y -i "$src/$f.g722" -ar 16000 -ac 1 -c:a pcm_s16le "$tmp/$f.wav"
done
sox "$tmp/vm-incorrect-mailbox.wav" "$tmp/vm-nonumber.wav" -b 16 "$tmp/clean.wav" pad 0.3 0.3 norm -3
len=$(soxi -D "$tmp/clean.wav")
sox -n -r 16000 -c 1 -b 16 "$tmp/pink.wav" synth "$len" pinknoise
sox -n -r 16000 -c 1 -b 16 "$tmp/hum.wav" synth "$len" sine 100 vol 0.3
sox -m "$tmp/pink.wav" "$tmp/hum.wav" "$tmp/noise.wav"
# Scale the noise to 5 dB below the speech's RMS.
rs=$(sox "$tmp/clean.wav" -n stat 2>&1 | awk '/RMS     amplitude/{print $3}')
rn=$(sox "$tmp/noise.wav" -n stat 2>&1 | awk '/RMS     amplitude/{print $3}')
g=$(awk -v s="$rs" -v n="$rn" 'BEGIN{print s/n/10^(5/20)}')
sox -m "$tmp/clean.wav" -v "$g" "$tmp/noise.wav" -b 16 testdata/sample-noisy.wav
cp "$tmp/clean.wav" testdata/sample-clean.wav
soxi testdata/sample-noisy.wav | grep -E 'Duration|Sample Rate'

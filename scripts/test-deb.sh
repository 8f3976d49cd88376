#!/usr/bin/env bash
# Tests the Debian package (scripts/build-deb.sh) on this machine, as root: builds it,
# checks it with lintian (no errors), installs it with dpkg -i, runs the installed
# `restoregrad enhance` on the sample from a folder outside the checkout and the plugin from
# /usr/lib/ladspa through sox, both without ORT_LIB or LADSPA_PATH, then removes it with
# dpkg -r and checks that /usr, /etc and /opt hold the same paths as before. Skips (exit 0)
# when not root, without dpkg, or when a restoregrad package is installed already (it would
# be replaced and then removed).
set -uo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
say() { echo "test-deb: $*"; }

[ "$(id -u)" = 0 ] || { say "SKIP (not root: dpkg -i needs root)"; exit 0; }
command -v dpkg >/dev/null && command -v dpkg-deb >/dev/null || { say "SKIP (no dpkg: not a Debian system)"; exit 0; }
if dpkg-query -W -f='${Status}' restoregrad 2>/dev/null | grep -q ' installed$'; then
  say "SKIP (a restoregrad package is installed already; dpkg -r restoregrad to run this test)"
  exit 0
fi
for tool in lintian sox; do
  command -v $tool >/dev/null || {
    say "installing $tool"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $tool >/dev/null ||
      { say "FAIL: could not install $tool"; exit 1; }
  }
done

start=$SECONDS
DEB_COMPRESSION=gzip bash scripts/build-deb.sh || { say "FAIL: build-deb.sh"; exit 1; }
VERSION=$(tr -d ' \n' <VERSION)
DEB=$REPO/out/restoregrad_${VERSION}_amd64.deb

status=0
fail() { say "FAIL: $*"; status=1; }

# lintian: no errors (warnings and overridden tags, listed in packaging/lintian-overrides, pass).
lintian --fail-on error "$DEB" >"$REPO/out/lintian.txt" 2>&1 ||
  fail "lintian reports errors: $(grep '^E:' "$REPO/out/lintian.txt" | tr '\n' ' ')"
say "lintian: $(grep -c '^E:' "$REPO/out/lintian.txt") errors, $(grep -c '^W:' "$REPO/out/lintian.txt") warnings"

# Python caches (__pycache__) that other processes may write meanwhile are not ours.
snapshot() { find /usr /etc /opt -xdev 2>/dev/null | grep -v /__pycache__ | LC_ALL=C sort; }
T=$(mktemp -d)
installed=0
cleanup() {
  if [ $installed = 1 ]; then dpkg -r restoregrad >/dev/null 2>&1; fi
  rm -rf "$T"
}
trap cleanup EXIT
snapshot >"$T/before.txt"

dpkg -i "$DEB" >"$T/dpkg-i.log" 2>&1 || { cat "$T/dpkg-i.log"; fail "dpkg -i"; exit 1; }
installed=1

# Everything from a folder outside the checkout, with nothing pointing at it.
mkdir "$T/work"
cd "$T/work"
clean=(env -u ORT_LIB -u LADSPA_PATH -u RESTOREGRAD_MODELS PATH=/usr/sbin:/usr/bin:/sbin:/bin)
cp "$REPO/testdata/sample-noisy.wav" noisy.wav

v=$("${clean[@]}" restoregrad --version 2>&1)
[ "$v" = "restoregrad $VERSION" ] || fail "restoregrad --version: '$v', want 'restoregrad $VERSION'"
[ "$("${clean[@]}" which restoregrad)" = /usr/bin/restoregrad ] || fail "restoregrad is not /usr/bin/restoregrad"

t0=$SECONDS
if "${clean[@]}" restoregrad enhance noisy.wav -o clean.wav --quiet >"$T/enhance.log" 2>&1; then
  in=$(soxi -s noisy.wav) out=$(soxi -s clean.wav 2>/dev/null)
  [ "$in" = "$out" ] || fail "enhance: clean.wav has $out samples, noisy.wav $in"
  say "enhance: $(tail -1 "$T/enhance.log") ($((SECONDS - t0)) s)"
else
  cat "$T/enhance.log"; fail "installed restoregrad enhance"
fi

# The plugin from /usr/lib/ladspa. Debian's sox looks for a module only in $LADSPA_PATH,
# so it is named by its path (PipeWire and Audacity search /usr/lib/ladspa themselves).
t0=$SECONDS
if "${clean[@]}" sox noisy.wav plugin.wav ladspa -l /usr/lib/ladspa/librestoregrad_ladspa.so restoregrad_mono >"$T/sox.log" 2>&1; then
  # After its latency (-l), the plugin's output is what enhance writes with the same
  # streaming model (README); sox drops the last few hundred frames.
  "${clean[@]}" restoregrad enhance --model restoregrad-rt noisy.wav -o rt.wav --quiet >/dev/null 2>&1
  sox -m -v 1 plugin.wav -v -1 rt.wav diff.wav
  rms() { sox "$1" -n stat 2>&1 | awk '/RMS +amplitude/ {print $3}'; }
  rms_rt=$(rms rt.wav) rms_diff=$(rms diff.wav)
  awk -v a="$rms_rt" -v d="$rms_diff" 'BEGIN {exit !(a > 0.01 && d < 0.01 * a)}' ||
    fail "sox with the plugin: output differs from enhance --model restoregrad-rt by RMS $rms_diff (signal $rms_rt)"
  say "sox ladspa /usr/lib/ladspa/librestoregrad_ladspa.so restoregrad_mono: RMS $rms_rt, differs from enhance --model restoregrad-rt by RMS $rms_diff ($((SECONDS - t0)) s)"
else
  cat "$T/sox.log"; fail "sox with the installed plugin"
fi
# By module name, as LADSPA hosts that search /usr/lib/ladspa find it.
"${clean[@]}" LADSPA_PATH=/usr/lib/ladspa analyseplugin -l librestoregrad_ladspa 2>&1 | grep -q restoregrad_mono ||
  fail "analyseplugin -l librestoregrad_ladspa (LADSPA_PATH=/usr/lib/ladspa) does not list restoregrad_mono"

# The plugin as PipeWire would check it, the man pages, the user unit.
"${clean[@]}" restoregrad virtual-mic --pipewire-config >"$T/pw.conf" 2>"$T/pw.err" &&
  grep -q '"/usr/lib/ladspa/librestoregrad_ladspa.so"' "$T/pw.conf" ||
  fail "restoregrad virtual-mic --pipewire-config with the installed plugin: $(head -1 "$T/pw.err")"
for c in restoregrad restoregrad-enhance restoregrad-virtual-mic; do
  [ -f /usr/share/man/man1/$c.1.gz ] || fail "no man page $c(1)"
done
[ -f /usr/lib/systemd/user/restoregrad-virtual-mic.service ] || fail "no systemd user unit"
if command -v systemd-analyze >/dev/null; then
  systemd-analyze verify /usr/lib/systemd/user/restoregrad-virtual-mic.service >"$T/verify.log" 2>&1 ||
    fail "systemd-analyze verify: $(cat "$T/verify.log")"
fi

cd "$REPO"
dpkg -r restoregrad >"$T/dpkg-r.log" 2>&1 || { cat "$T/dpkg-r.log"; fail "dpkg -r"; }
installed=0
dpkg-query -W -f='${Status}' restoregrad 2>/dev/null | grep -q "config-files\|installed" && fail "dpkg still lists restoregrad after dpkg -r"
snapshot >"$T/after.txt"
if ! diff -q "$T/before.txt" "$T/after.txt" >/dev/null; then
  fail "dpkg -r left the system changed:"
  diff "$T/before.txt" "$T/after.txt" | head -20
fi
[ $status = 0 ] && say "PASS (dpkg -i, enhance, sox plugin, dpkg -r; $((SECONDS - start)) s)"
exit $status

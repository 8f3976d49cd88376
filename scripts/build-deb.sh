#!/usr/bin/env bash
# Builds the Debian package out/restoregrad_<VERSION>_amd64.deb (make deb) with dpkg-deb:
#   /usr/bin/restoregrad                      the program (version from VERSION, -ldflags)
#   /usr/lib/ladspa/librestoregrad_ladspa.so  the LADSPA plugin, where sox, PipeWire and Audacity look
#   /usr/lib/restoregrad/libonnxruntime.so.1  ONNX Runtime (make setup's CPU build), private: the
#                                             program and the plugin find it relative to themselves
#   /usr/lib/systemd/user/restoregrad-virtual-mic.service   packaging/restoregrad-virtual-mic.service
#   /usr/share/man/man1/restoregrad*.1.gz     from each command's -h text (help2man)
#   /usr/share/doc/restoregrad/               copyright, changelog, the PipeWire filter-chain example
# Depends is computed by dpkg-shlibdeps from the binaries' ELF NEEDED entries (and ONNX
# Runtime's). Needs Go, dpkg-dev and help2man (installed here when missing, as setup.sh does).
# Run `lintian out/restoregrad_*.deb` to check it (scripts/test-deb.sh does).
set -euo pipefail
cd "$(dirname "$0")/.."
umask 022

VERSION=$(tr -d ' \n' <VERSION)
[[ $VERSION =~ ^[0-9][0-9A-Za-z.+~-]*$ ]] || { echo "build-deb: VERSION '$VERSION' is not a Debian version"; exit 1; }
ARCH=amd64
[ "$(dpkg --print-architecture 2>/dev/null)" = "$ARCH" ] || { echo "build-deb: builds $ARCH packages only (this is $(dpkg --print-architecture 2>/dev/null || uname -m))"; exit 1; }
ORT=.deps/onnxruntime/node_modules/onnxruntime-node/bin/napi-v6/linux/x64/libonnxruntime.so.1
[ -f "$ORT" ] || { echo "build-deb: $ORT missing (make setup)"; exit 1; }

need=()
command -v dpkg-shlibdeps >/dev/null || need+=(dpkg-dev)
command -v help2man >/dev/null || need+=(help2man)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  echo "build-deb: installing ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# Dates (man pages, changelog) from the last commit, so that a rebuild gives the same files.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
PKG=restoregrad_${VERSION}_${ARCH}
ROOT=out/deb/$PKG
DEB=out/$PKG.deb
rm -rf "$ROOT" "$DEB"
mkdir -p "$ROOT/DEBIAN" "$ROOT/usr/bin" "$ROOT/usr/lib/ladspa" "$ROOT/usr/lib/restoregrad" \
  "$ROOT/usr/lib/systemd/user" "$ROOT/usr/share/man/man1" "$ROOT/usr/share/doc/restoregrad/examples"

echo "build-deb: building restoregrad $VERSION"
# Debian's hardening flags for the C parts and the link (bindnow, relro), a position-
# independent executable, no build-path or toolchain notes.
flag() { DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"; }
export CGO_CFLAGS="$(flag CFLAGS)" CGO_CPPFLAGS="$(flag CPPFLAGS)" CGO_LDFLAGS="$(flag LDFLAGS)"
go build -buildmode=pie -ldflags "-s -w -X main.version=$VERSION" -o "$ROOT/usr/bin/restoregrad" ./cmd/restoregrad
go build -buildmode=c-shared -ldflags "-s -w" -o "$ROOT/usr/lib/ladspa/librestoregrad_ladspa.so" ./cmd/ladspa
rm -f "$ROOT/usr/lib/ladspa/librestoregrad_ladspa.h"
objcopy --remove-section=.comment "$ROOT/usr/bin/restoregrad"
objcopy --remove-section=.comment "$ROOT/usr/lib/ladspa/librestoregrad_ladspa.so"
chmod 0644 "$ROOT/usr/lib/ladspa/librestoregrad_ladspa.so"
install -m 0644 "$ORT" "$ROOT/usr/lib/restoregrad/libonnxruntime.so.1"
install -m 0644 packaging/restoregrad-virtual-mic.service "$ROOT/usr/lib/systemd/user/"
install -D -m 0644 packaging/lintian-overrides "$ROOT/usr/share/lintian/overrides/restoregrad"

BIN=$ROOT/usr/bin/restoregrad
"$BIN" --version | grep -qx "restoregrad $VERSION" || { echo "build-deb: $BIN --version is not $VERSION"; exit 1; }

# Help texts as they read on a user's machine: no build paths, no $ORT_LIB.
helpenv=(env -u ORT_LIB -u XDG_DATA_HOME -u RESTOREGRAD_MODELS -u LADSPA_PATH HOME='~')

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# The filter-chain example, made by the program itself (which checks the plugin), with the
# plugin's installed path. virtual-mic's check looks for ONNX Runtime beside the plugin, so
# it is given one there (links in a scratch folder).
mkdir "$T/ladspa"
ln -s "$PWD/$ROOT/usr/lib/ladspa/librestoregrad_ladspa.so" "$PWD/$ROOT/usr/lib/restoregrad/libonnxruntime.so.1" "$T/ladspa/"
"${helpenv[@]}" "$BIN" virtual-mic --pipewire-config --plugin "$T/ladspa/librestoregrad_ladspa.so" |
  sed "s#$T/ladspa/#/usr/lib/ladspa/#g" >"$ROOT/usr/share/doc/restoregrad/examples/restoregrad-denoised-mic.conf"
grep -q '"/usr/lib/ladspa/librestoregrad_ladspa.so"' "$ROOT/usr/share/doc/restoregrad/examples/restoregrad-denoised-mic.conf" ||
  { echo "build-deb: the PipeWire example does not name /usr/lib/ladspa/librestoregrad_ladspa.so"; exit 1; }

# Man pages: help2man over each command's -h, through a wrapper that turns Go's flag list
# into help2man's option layout and marks the examples.
commands=$("${helpenv[@]}" "$BIN" -h 2>&1 | awk '/^Commands:/ {on=1; next} on && /^  [a-z]/ {print $1} on && /^$/ {on=0}')
[ -n "$commands" ] || { echo "build-deb: no commands in restoregrad -h"; exit 1; }
mkwrapper() { # name, command...
  local name=$1; shift
  cat >"$T/$name" <<EOF
#!/usr/bin/env bash
# help2man calls this with --help; print the command's -h text in help2man's layout.
"$(realpath "$BIN")" $* -h 2>&1 | awk '
  /^Flags:\$/ {print "Options:"; next}
  /^Commands:\$/ {print; next}
  /^Examples:\$/ {print; ex=1; next}
  ex && /^  [^ ]/ {sub(/^  /, "  \$ "); print; next}
  /^\$/ {ex=0}
  /^    \t/ {sub(/^    \t/, "                        "); print; next}
  {print}'
EOF
  chmod +x "$T/$name"
}
man1=$ROOT/usr/share/man/man1
seealso=""
for c in $commands; do seealso+="${seealso:+, }restoregrad-$c(1)"; done
for c in $commands; do
  summary=$("${helpenv[@]}" "$BIN" -h 2>&1 | awk -v c="$c" '$1 == c {$1 = ""; sub(/^ +/, ""); print; exit}')
  mkwrapper "restoregrad-$c" "$c"
  others=restoregrad\(1\)
  for o in $commands; do [ "$o" = "$c" ] || others+=", restoregrad-$o(1)"; done
  printf '[SEE ALSO]\n%s\n' "$others" >"$T/$c.h2m"
  "${helpenv[@]}" help2man --no-info --no-discard-stderr --help-option=--help --version-string="$VERSION" \
    --name="$summary" --include="$T/$c.h2m" --output="$man1/restoregrad-$c.1" "$T/restoregrad-$c"
done
mkwrapper restoregrad ""
{
  printf '[DESCRIPTION]\nEach command has its own manual page: %s.\n' "$seealso"
  printf '[FILES]\n.TP\n/usr/lib/restoregrad/libonnxruntime.so.1\nONNX Runtime, found without ORT_LIB.\n'
  printf '.TP\n/usr/lib/ladspa/librestoregrad_ladspa.so\nthe LADSPA plugin (labels restoregrad_mono, restoregrad_stereo).\n'
  printf '.TP\n/usr/lib/systemd/user/restoregrad-virtual-mic.service\nthe virtual microphone at login: systemctl \\-\\-user enable \\-\\-now restoregrad\\-virtual\\-mic\n'
  printf '.TP\n/usr/share/doc/restoregrad/examples/restoregrad-denoised-mic.conf\na PipeWire filter-chain with the plugin (copy it to ~/.config/pipewire/pipewire.conf.d/).\n'
} >"$T/main.h2m"
"${helpenv[@]}" help2man --no-info --no-discard-stderr --help-option=--help --version-string="$VERSION" \
  --name="speech denoiser for files, live audio and calls" --include="$T/main.h2m" --output="$man1/restoregrad.1" "$T/restoregrad"
gzip -9n "$man1"/*.1

# Documentation.
doc=$ROOT/usr/share/doc/restoregrad
install -m 0644 packaging/copyright "$doc/copyright"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
maint=$(sed -n 's/^Maintainer: //p' packaging/control.in)
{
  printf 'restoregrad (%s) unstable; urgency=medium\n\n' "$VERSION"
  printf '  * Built from the restoregrad repository at commit %s.\n\n' "$commit"
  printf ' -- %s  %s\n' "$maint" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n >"$doc/changelog.gz"
gzip -9n <README.md >"$doc/README.md.gz"
chmod 0644 "$doc"/*.gz "$doc/examples"/*

# Depends from the ELF files' NEEDED libraries (dpkg-shlibdeps wants a debian/control).
mkdir -p "$T/src/debian"
printf 'Source: restoregrad\n\nPackage: restoregrad\nArchitecture: %s\n' "$ARCH" >"$T/src/debian/control"
elves=("$ROOT/usr/bin/restoregrad" "$ROOT/usr/lib/ladspa/librestoregrad_ladspa.so" "$ROOT/usr/lib/restoregrad/libonnxruntime.so.1")
here=$PWD
depends=$(cd "$T/src" && dpkg-shlibdeps -O --warnings=1 "${elves[@]/#/-e$here/}" 2>"$T/shlibdeps.err" | sed -n 's/^shlibs:Depends=//p') ||
  { cat "$T/shlibdeps.err"; exit 1; }
[ -n "$depends" ] || { cat "$T/shlibdeps.err"; echo "build-deb: dpkg-shlibdeps found no dependencies"; exit 1; }
size=$(du -sk --apparent-size "$ROOT/usr" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$size/" -e "s/@DEPENDS@/$depends/" packaging/control.in >"$ROOT/DEBIAN/control"
(cd "$ROOT" && find usr -type f -print0 | LC_ALL=C sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/md5sums"

# xz as Debian's own packages; DEB_COMPRESSION=gzip builds in 8 s instead of 55 (the tests).
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-xz}" --build "$ROOT" "$DEB" >/dev/null
echo "build-deb: wrote $DEB ($(du -h "$DEB" | cut -f1); Depends: $depends)"

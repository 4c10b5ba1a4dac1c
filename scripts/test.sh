#!/bin/bash
# `npm test`: installs what the tests need that npm does not bring (Debian
# packages for the FUSE, kexec and LUO end-to-end tests), builds, and runs every
# test: unit tests beside the code (dist/**) and end-to-end tests (test/e2e/**).
# A test that needs something missing fails loudly; nothing is skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(python3 attr util-linux git tar coreutils qemu-system-x86 linux-image-amd64 kexec-tools busybox-static cpio criu
      flex bison libelf-dev bc libssl-dev xz-utils mmdebstrap debian-archive-keyring)
missing=()
for p in "${debs[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "test: installing Debian packages: ${missing[*]}"
  if [ "$(id -u)" != 0 ]; then echo "test: need root to apt-get install ${missing[*]}" >&2; exit 1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

[ -f build/Release/pram_native.node ] || npm run install --silent
npx tsc -p tsconfig.json
# Unit and host end-to-end tests first, two at a time; then the virtual
# machines (kexec of a real kernel, LUO) one after the other, each with the CPU to itself.
vm=(test/e2e/kexec test/e2e/luo test/e2e/systemd)
host=(dist/)
for d in test/e2e/*/; do d=${d%/}; [[ " ${vm[*]} " == *" $d "* ]] || host+=("$d"); done
log=$(mktemp); trap 'rm -f "$log"' EXIT
node --test --test-concurrency=2 "${host[@]}" | tee -a "$log"
for d in "${vm[@]}"; do
  [ -d "$d" ] || { echo "test: $d is missing" >&2; exit 1; }
  node --test --test-concurrency=1 "$d" | tee -a "$log"
done
sum() { grep -E "^# $1 [0-9]+$" "$log" | awk '{s+=$3} END {print s+0}'; }
echo "all: $(sum pass) passed, $(sum fail) failed, $(sum skipped) skipped"
[ "$(sum fail)" = 0 ] && [ "$(sum cancelled)" = 0 ]

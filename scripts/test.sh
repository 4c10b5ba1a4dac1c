#!/bin/bash
# `npm test`: installs what the tests need that npm does not bring (Debian
# packages for the FUSE, kexec and LUO end-to-end tests), builds, and runs every
# test: unit tests beside the code (dist/**) and end-to-end tests (test/e2e/**).
# A test that needs something missing fails loudly; nothing is skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

debs=(python3 util-linux git tar coreutils qemu-system-x86 linux-image-amd64 kexec-tools busybox-static cpio criu
      flex bison libelf-dev bc libssl-dev xz-utils)
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
exec node --test --test-concurrency=2 --test-reporter=spec dist/ test/e2e/

#!/bin/sh
# Builds the guest kernel for pram's LUO end-to-end test, once per fragment.
# Output: $PRAM_LUO_CACHE/<fragment hash>/bzImage (default cache /var/cache/pram-luo), printed
# as the last line. Debian sid's linux-source-7.2 is fetched with private apt directories (the
# system's apt sources are left alone) and unpacked once into $PRAM_LUO_CACHE/src; each
# fragment builds out of tree. A present bzImage is reused: delete its directory to rebuild.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
FRAGMENT="$HERE/kernel.fragment"
CACHE=${PRAM_LUO_CACHE:-/var/cache/pram-luo}
PKG=linux-source-7.2
KEY=$(cat "$FRAGMENT" | sha256sum | cut -c1-16)
OUT="$CACHE/$KEY"
if [ -s "$OUT/bzImage" ]; then echo "$OUT/bzImage"; exit 0; fi
mkdir -p "$CACHE"
# One build at a time: a second caller waits, then finds the bzImage.
exec 9>"$CACHE/.lock"
flock 9
if [ -s "$OUT/bzImage" ]; then echo "$OUT/bzImage"; exit 0; fi

SRC="$CACHE/src/$PKG"
if [ ! -f "$SRC/Makefile" ]; then
  APT="$CACHE/apt"
  mkdir -p "$APT/lists/partial" "$APT/dl"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main' > "$APT/sid.list"
  A="-o Dir::Etc::sourcelist=$APT/sid.list -o Dir::Etc::sourceparts=- -o Dir::State::Lists=$APT/lists"
  echo "fetching $PKG from Debian sid" >&2
  apt-get $A update >&2
  rm -f "$APT/dl"/*.deb
  (cd "$APT/dl" && apt-get $A download "$PKG" >&2)
  rm -rf "$CACHE/deb" "$CACHE/src"; mkdir -p "$CACHE/src"
  dpkg-deb -x "$APT/dl"/${PKG}_*_all.deb "$CACHE/deb"
  tar -C "$CACHE/src" -xJf "$CACHE/deb/usr/src/$PKG.tar.xz"
  rm -rf "$CACHE/deb" "$APT/dl"
fi

for tool in flex bison bc gcc make; do
  command -v $tool >/dev/null || { apt-get install -y flex bison libelf-dev bc libssl-dev gcc make >&2; break; }
done

B="$OUT/build"
rm -rf "$OUT"; mkdir -p "$B"
echo "building $PKG with $FRAGMENT into $OUT (log: $OUT/build.log)" >&2
make -C "$SRC" O="$B" tinyconfig >"$OUT/build.log" 2>&1
(cd "$B" && "$SRC/scripts/kconfig/merge_config.sh" -m -O "$B" "$B/.config" "$FRAGMENT") >>"$OUT/build.log" 2>&1
make -C "$SRC" O="$B" olddefconfig >>"$OUT/build.log" 2>&1
# Every fragment line must survive olddefconfig; a silently dropped option gives a guest that
# boots but lacks LUO or what node needs.
missing=$(grep '^CONFIG_.*=y$' "$FRAGMENT" | while read -r line; do grep -qx "$line" "$B/.config" || echo "$line"; done)
if [ -n "$missing" ]; then echo "kernel config dropped: $missing" >&2; exit 1; fi
make -C "$SRC" O="$B" -j"$(nproc)" bzImage >>"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; exit 1; }
cp "$SRC/include/uapi/linux/liveupdate.h" "$OUT/liveupdate.h"
cp "$B/.config" "$OUT/config"
cp "$B/arch/x86/boot/bzImage" "$OUT/bzImage.tmp" && mv "$OUT/bzImage.tmp" "$OUT/bzImage"
rm -rf "$B"
echo "$OUT/bzImage"

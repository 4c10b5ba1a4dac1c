#!/bin/sh
# Usage: mkinitramfs.sh OUT.img [INIT]   (INIT: default ./init; the systemd test passes its own)
# The LUO test guest's initramfs: a static busybox and ./init, nothing else. node, the
# project, kexec-tools and the kernel image all come from the host over 9p, so this image
# stays a few hundred KiB and the same file serves every boot and every kexec.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${1:?usage: mkinitramfs.sh OUT.img [INIT]}
INIT=${2:-$HERE/init}
BUSYBOX=/bin/busybox
# A dynamic busybox would need the host's libc in the initramfs: insist on busybox-static.
if [ ! -x "$BUSYBOX" ] || ldd "$BUSYBOX" >/dev/null 2>&1; then
  apt-get install -y busybox-static >&2
fi
R=$(mktemp -d)
trap 'rm -rf "$R"' EXIT
mkdir -p "$R/bin" "$R/sbin" "$R/dev" "$R/proc" "$R/sys" "$R/host"
cp "$BUSYBOX" "$R/bin/busybox"
cp "$INIT" "$R/init"
chmod 755 "$R/init" "$R/bin/busybox"
(cd "$R" && find . | cpio -o -H newc --quiet | gzip -1) > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "$OUT"

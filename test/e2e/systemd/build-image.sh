#!/bin/sh
# Builds the root file system of the systemd end-to-end test's guest, once per recipe:
# Debian sid (systemd 262 as PID 1) made by mmdebstrap from Debian's packages, as a
# directory the guest mounts read-only over 9p. Output: $PRAM_SYSTEMD_CACHE/<recipe hash>/root
# (default cache /var/cache/pram-systemd), printed as the last line. The hash covers this
# file, so any change to the recipe builds a new image; a present image is reused (delete
# its directory to rebuild). Node is not in the image: the guest runs the host's node binary
# over 9p (it needs only libc and libstdc++, both here).
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${PRAM_SYSTEMD_CACHE:-/var/cache/pram-systemd}
KEY=$(sha256sum "$HERE/build-image.sh" | cut -c1-16)
OUT="$CACHE/$KEY"
if [ -f "$OUT/root/.pram-image-ok" ]; then echo "$OUT/root"; exit 0; fi
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ -f "$OUT/root/.pram-image-ok" ]; then echo "$OUT/root"; exit 0; fi
command -v mmdebstrap >/dev/null || apt-get install -y --no-install-recommends mmdebstrap >&2
rm -rf "$OUT"; mkdir -p "$OUT"
echo "building the Debian sid image into $OUT (log: $OUT/build.log)" >&2
# sid's Release file may be older than apt accepts by default: Check-Valid-Until off.
# minbase + systemd + kexec-tools + libstdc++6 (for the host's node); no recommends.
# serial-getty and logind would only talk to a console nobody logs into: masked. The empty
# /etc/machine-id mmdebstrap leaves makes systemd use a transient one on the read-only root.
mmdebstrap --variant=minbase --mode=root \
  --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
  --aptopt='Acquire::Check-Valid-Until "false"' \
  --include=systemd,kexec-tools,libstdc++6 \
  --customize-hook='echo pram-sd > "$1/etc/hostname"' \
  --customize-hook='for u in serial-getty@ttyS0.service getty@tty1.service systemd-logind.service systemd-networkd.service systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do ln -sf /dev/null "$1/etc/systemd/system/$u"; done' \
  sid "$OUT/root" http://deb.debian.org/debian >"$OUT/build.log" 2>&1 || { tail -30 "$OUT/build.log" >&2; exit 1; }
chroot "$OUT/root" dpkg-query -W -f='${Version}\n' systemd > "$OUT/systemd-version"
touch "$OUT/root/.pram-image-ok"
echo "$OUT/root"

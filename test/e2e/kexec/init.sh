#!/bin/busybox sh
# /init of the kexec e2e initramfs, in every boot. It only reaches the host's
# root: loads the 9p modules, mounts the host's / read-only over 9p, puts
# fresh /dev /proc /sys and tmpfs on /tmp /run /mnt on top, and switch_roots into it to run
# guest.sh from the checkout (paths in /e2e.env, written by vm.mjs). The test
# itself lives in guest.sh and guest.mjs. A failure here prints a FAIL line
# the host test recognises, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
. /e2e.env

mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev

# Loopback up: criu probes kernel features (TCP repair) over it.
ip link set lo up

BOOT=1
for w in $(cat /proc/cmdline); do case $w in pram_e2e_boot=*) BOOT=${w#*=};; esac; done

die() {
  echo "PRAM-E2E boot $BOOT: FAIL init: $*"
  echo o > /proc/sysrq-trigger
  sleep 10
  exit 1
}

while read -r m; do
  [ -n "$m" ] || continue
  insmod "/modules/$m" || die "insmod $m"
done < /modules/order

# virtio-pci probes asynchronously: the mount succeeds once the tag exists.
n=0
until mount -t 9p -o trans=virtio,version=9p2000.L,ro,cache=loose,msize=512000 hostfs /newroot 2>/dev/null; do
  n=$((n + 1)); [ $n -lt 100 ] || die "9p mount of the host's root failed"
  sleep 0.1
done
[ -x "/newroot$E2E_REPO/test/e2e/kexec/guest.sh" ] || die "no $E2E_REPO/test/e2e/kexec/guest.sh over 9p"

mount -t tmpfs -o mode=755 run /newroot/run || die "tmpfs on /run"
# The checkout may live under the host's /tmp (CI clones it anywhere), which the
# guest's own tmpfs is about to hide: keep the host's /tmp reachable under /run
# and point every path of /e2e.env that was under it there.
mkdir -p /newroot/run/host-tmp && mount --bind /newroot/tmp /newroot/run/host-tmp || die "bind the host's /tmp"
for v in E2E_REPO E2E_WORK E2E_INITRD E2E_KERNEL; do
  eval "p=\${$v:-}"
  case $p in /tmp/*) export "$v=/run/host-tmp/${p#/tmp/}";; esac
done
mount -t tmpfs -o mode=1777 tmp /newroot/tmp || die "tmpfs on /tmp"
mount -t tmpfs -o mode=755 mnt /newroot/mnt || die "tmpfs on /mnt"
mount --move /dev /newroot/dev || die "move /dev"
mount --move /sys /newroot/sys || die "move /sys"
mount --move /proc /newroot/proc || die "move /proc"
echo "PRAM-E2E boot $BOOT: init: host root mounted over 9p, switching root"
exec switch_root /newroot /bin/bash "$E2E_REPO/test/e2e/kexec/guest.sh"

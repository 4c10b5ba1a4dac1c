#!/bin/bash
# PID 1 of every guest boot, after init.sh switched root to the host's tree
# (read-only 9p, fresh /dev /proc /sys /tmp /run). Loads the pmem and FUSE
# modules from the host's module tree, runs guest.mjs (which prints this
# boot's PRAM-E2E line and, when the run goes on, kexecs), and powers off
# when guest.mjs returns: after the last boot, or after a failure.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp TMPDIR=/tmp
export PRAM_E2E_GUEST=1

BOOT=1
for w in $(cat /proc/cmdline); do case $w in pram_e2e_boot=*) BOOT=${w#*=};; esac; done

poweroff_now() {
  sync
  echo o > /proc/sysrq-trigger
  sleep 10
  exit 1   # PID 1 exiting panics; panic=-1 and -no-reboot end QEMU anyway
}

# nd_e820 turns the memmap=!-reserved range into /dev/pmem0; fuse is a module here.
if ! modprobe -a nd_e820 nd_pmem fuse; then
  echo "PRAM-E2E boot $BOOT: FAIL modprobe nd_e820 nd_pmem fuse"
  poweroff_now
fi
n=0
until [ -b /dev/pmem0 ] && [ -c /dev/fuse ]; do
  n=$((n + 1))
  if [ $n -ge 100 ]; then
    echo "PRAM-E2E boot $BOOT: FAIL /dev/pmem0 or /dev/fuse did not appear"
    poweroff_now
  fi
  sleep 0.1
done

cd /tmp
# E2E_GUEST_MJS: another guest program on the same machinery (bench/lib/blackout-guest.mjs).
node "${E2E_GUEST_MJS:-$E2E_REPO/test/e2e/kexec/guest.mjs}" || echo "PRAM-E2E boot $BOOT: FAIL guest.mjs exited $?"
poweroff_now

#!/bin/bash
# Benchmark (not a test): dd into a pram FUSE mount against the same dd into
# tmpfs, in the same run. Targets (issue 4): bs=4k >= 0.5x tmpfs, bs=1M >= 0.4x.
# Usage: bash test/e2e/fuse/dd.bench.sh [ROUNDS]   (root; makes a 3 GiB arena in /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds=${1:-2}
tmp=$(mktemp -d /tmp/pram-ddbench.XXXXXX)
arena=/dev/shm/pram-ddbench-$$.arena
export PRAM_RUN_DIR=$tmp/run
mkdir -p "$tmp/mnt" "$tmp/shm"
mount -t tmpfs -o size=2G tmpfs "$tmp/shm"
cleanup() { node bin/pram.js umount "$tmp/mnt" >/dev/null 2>&1 || umount -l "$tmp/mnt" 2>/dev/null || true
  umount "$tmp/shm" 2>/dev/null || true; rm -rf "$tmp" "$arena"; }
trap cleanup EXIT
node bin/pram.js mount "$tmp/mnt" --arena "$arena" --size 3G >/dev/null
# seconds for one 1 GiB dd
bps() { local TIMEFORMAT=%R; { time dd if=/dev/zero of="$1" bs="$2" count="$3" status=none; } 2>&1; }
for r in $(seq "$rounds"); do
  for spec in 4k:262144 1M:1024; do
    bs=${spec%:*}; n=${spec#*:}
    t_tmpfs=$(bps "$tmp/shm/f" "$bs" "$n"); rm -f "$tmp/shm/f"
    t_pram=$(bps "$tmp/mnt/f" "$bs" "$n"); rm -f "$tmp/mnt/f"
    awk -v bs="$bs" -v a="$t_tmpfs" -v b="$t_pram" 'BEGIN { printf "round %d bs=%-3s tmpfs %6.0f MB/s  pram %6.0f MB/s  ratio %.2f\n", '"$r"', bs, 1073.741824/a, 1073.741824/b, a/b }'
  done
done

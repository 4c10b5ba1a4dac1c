#!/bin/bash
# Benchmark (not a test): fio sequential write and read at 4 KiB and 1 MiB on a
# pram mount served through /dev/fuse and through FUSE over io_uring, same run,
# alternating order per round. Reads drop the page cache first (as bench/lib/fio.js).
# Turns fuse.enable_uring on for the run and puts back what it was.
# Usage: bash test/e2e/fuse/uring.bench.sh [ROUNDS] [MIB]   (root; a 1 GiB arena in /dev/shm)
set -euo pipefail
cd "$(dirname "$0")/../../.."
rounds=${1:-2}
mib=${2:-256}
param=/sys/module/fuse/parameters/enable_uring
tmp=$(mktemp -d /tmp/uring-bench.XXXXXX)
export PRAM_RUN_DIR=$tmp/run
was=$(cat "$param")
mkdir -p "$tmp/off" "$tmp/on"
cleanup() {
  for m in off on; do node bin/pram.js umount "$tmp/$m" >/dev/null 2>&1 || umount -l "$tmp/$m" 2>/dev/null || true; done
  echo "$was" > "$param"; rm -rf "$tmp" /dev/shm/uring-bench-$$-*.pram
}
trap cleanup EXIT
echo Y > "$param"
for m in off on; do
  node bin/pram.js mount "$tmp/$m" --arena "/dev/shm/uring-bench-$$-$m.pram" --size 1G --io-uring "$m" >/dev/null
done
grep -h -o 'requests by .*' "$tmp"/run/*.log
# MB/s of one fio job
run() { # dir rw bs
  local out
  out=$(fio --name=b --directory="$1" --rw="$2" --bs="$3" --size="${mib}M" --ioengine=psync --fallocate=none --output-format=json)
  node -e 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")).jobs[0]; const s=process.argv[1].endsWith("read")?j.read:j.write; console.log((s.io_bytes/(j.job_runtime/1000)/1e6).toFixed(0))' "$2" <<<"$out"
}
printf '%-6s %-6s %-4s %10s %10s %6s\n' round rw bs dev_fuse io_uring ratio
for r in $(seq "$rounds"); do
  for spec in write:4k write:1M read:4k read:1M; do
    rw=${spec%:*}; bs=${spec#*:}
    order="off on"; [ $((r % 2)) -eq 0 ] && order="on off"
    declare -A bw
    for m in $order; do
      rm -f "$tmp/$m"/b.*
      if [ "$rw" = read ]; then
        fio --name=b --directory="$tmp/$m" --rw=write --bs=1M --size="${mib}M" --ioengine=psync --fallocate=none >/dev/null
        sync; echo 3 > /proc/sys/vm/drop_caches
      fi
      bw[$m]=$(run "$tmp/$m" "$rw" "$bs")
    done
    awk -v r="$r" -v rw="$rw" -v bs="$bs" -v a="${bw[off]}" -v b="${bw[on]}" 'BEGIN { printf "%-6d %-6s %-4s %10d %10d %6.2f\n", r, rw, bs, a, b, b/a }'
  done
done

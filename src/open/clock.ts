// The wall clock for file times (ns since the epoch), read in one place for
// the library and the FUSE server; fs/ below only ever gets it injected.
// Sub-millisecond precision comes from the monotonic clock; its offset to the
// wall clock is read once, and reading it late (a busy machine) would put every
// time early, so a time is never before the wall clock's own millisecond.
export function wallClock(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => {
    const precise = base + process.hrtime.bigint();
    const coarse = BigInt(Date.now()) * 1_000_000n;
    return precise > coarse ? precise : coarse;
  };
}

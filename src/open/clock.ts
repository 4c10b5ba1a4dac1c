// The wall clock for file times (ns since the epoch), read in one place for
// the library and the FUSE server; fs/ below only ever gets it injected.
// Sub-millisecond precision comes from the monotonic clock; its offset to the
// wall clock is read once, and reading it late (a busy machine) would put every
// time early, so a time is never before the wall clock's own millisecond.
export function wallClock(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  // A millisecond the precise time already passed: while the wall clock shows it (or an earlier one), the
  // monotonic time is later still, with no BigInt made of it (a write reads the clock; thousands a millisecond).
  let passedMs = -1;
  return () => {
    const precise = base + process.hrtime.bigint();
    const ms = Date.now();
    if (ms <= passedMs) return precise;
    const coarse = BigInt(ms) * 1_000_000n;
    if (precise > coarse) { passedMs = ms; return precise; }
    return coarse;
  };
}

// Counts kept as V8's small integers. A count made from a boxed number (a
// Float64Array's element, arithmetic on one: an integral double) and stored
// in an object turns that field into a boxed double for every object of its
// shape, and each later read of it, passed on, into a heap allocation: the
// space ledger and the allocator's free count made ~90 bytes of garbage per
// write that way (issue 13, event-loop stalls from V8's collections).

/** x as a small integer (a Smi) when it is one in V8's range (31 bits); otherwise x itself. */
export function smallInt(x: number): number {
  return x >= -0x40000000 && x < 0x40000000 && x === Math.trunc(x) ? x | 0 : x;
}

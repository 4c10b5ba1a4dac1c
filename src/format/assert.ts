// Invariant checks. A failed assertion is a bug in pram, never bad input: bad
// input (a damaged image, a malformed parameter) is reported, not asserted.

export class InvariantError extends Error {
  override name = 'InvariantError';
}

export function assert(cond: unknown, what: string): asserts cond {
  if (!cond) throw new InvariantError(`invariant broken: ${what}`);
}

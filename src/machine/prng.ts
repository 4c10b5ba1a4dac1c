// The one source of randomness below cli/: a seeded xoshiro128** generator
// (state seeded by splitmix32 from the seed). Everything the simulated machine
// decides comes from one Prng passed explicitly, so a run reproduces from its seed.
// Not cryptographic; callers that need secrets must look elsewhere.

export class Prng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number | bigint) {
    // Fold a 64-bit seed into 32 bits without losing either half.
    const s = BigInt.asUintN(64, BigInt(seed));
    let x = (Number(s & 0xffffffffn) ^ Math.imul(Number(s >> 32n), 0x9e3779b9)) >>> 0;
    const split = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = split(); this.b = split(); this.c = split(); this.d = split();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // the all-zero state is a fixed point
  }

  /** A uniform 32-bit unsigned integer. */
  next(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a; this.d ^= this.b; this.b ^= this.c; this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** A uniform integer in [0, n), n <= 2^53 (rejection sampling: no modulo bias). */
  below(n: number): number {
    if (!(n >= 1) || !Number.isSafeInteger(n)) throw new RangeError(`Prng.below(${n})`);
    if (n <= 0x100000000) {
      const limit = 0x100000000 - (0x100000000 % n);
      for (;;) { const v = this.next(); if (v < limit) return v % n; }
    }
    for (;;) {
      const v = (this.next() * 0x200000) + (this.next() >>> 11); // 53 bits
      const limit = 2 ** 53 - (2 ** 53 % n);
      if (v < limit) return v % n;
    }
  }

  /** A uniform integer in [lo, hi] (both inclusive). */
  range(lo: number, hi: number): number {
    if (hi < lo) throw new RangeError(`Prng.range(${lo}, ${hi})`);
    return lo + this.below(hi - lo + 1);
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p * 0x100000000;
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next() / 0x100000000;
  }

  bytes(n: number): Buffer {
    const buf = Buffer.allocUnsafe(n);
    this.fill(buf);
    return buf;
  }

  /** Fill with random bytes, four at a time where aligned (fast for 64 MiB files). */
  fill(buf: Uint8Array): Uint8Array {
    const words = buf.byteOffset % 4 === 0 ? Math.floor(buf.length / 4) : 0;
    if (words > 0) {
      const w = new Uint32Array(buf.buffer, buf.byteOffset, words);
      for (let i = 0; i < words; i++) w[i] = this.next();
    }
    for (let i = words * 4; i < buf.length; i++) buf[i] = this.next() & 0xff;
    return buf;
  }

  /** An independent generator derived from this one (for a sub-system that must not shift others' draws). */
  fork(): Prng {
    return new Prng((BigInt(this.next()) << 32n) | BigInt(this.next()));
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

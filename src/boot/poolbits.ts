// The allocator's pool as words of bits (allocator.ts): a bit per page, set = in the pool, and a summary
// with a bit per pool word that has a page, so a search skips 1024 full pages a bit. pfns index words with
// `>>> 5` and are rebuilt by multiplication, never `<<` (which wraps at 2^31).

/** Set bits to compare a bitmap's words with (a view of them per call: no copy). */
const ONES = Buffer.alloc(1 << 16, 0xff);

/**
 * words[from, to) are all set: compared natively, ONES.length bytes at a time (a word at a time in code
 * not yet compiled cost ~0.1 ms a GiB of a lazy mount's data; a full word read as a number boxes it).
 */
export function allOnes(words: Uint32Array, from: number, to: number): boolean {
  for (let at = 4 * from; at < 4 * to; at += ONES.length) {
    const n = Math.min(ONES.length, 4 * to - at);
    if (!ONES.subarray(0, n).equals(Buffer.from(words.buffer, words.byteOffset + at, n))) return false;
  }
  return true;
}

/** First set bit's pfn in words[from, to), word at a time, the summary past empty words. -1 if none. */
export function firstSet(words: Uint32Array, sum: Uint32Array, from: number, to: number): number {
  if (from >= to) return -1;
  let w = from >>> 5;
  let bits = words[w]! & (~0 << (from & 31));
  const lastWord = (to - 1) >>> 5;
  for (;;) {
    if (bits !== 0) {
      const pfn = w * 32 + (31 - Math.clz32(bits & -bits));   // not w << 5: that wraps at pfn 2^31
      return pfn < to ? pfn : -1;
    }
    if (++w > lastWord) return -1;
    bits = words[w]!;
    if (bits === 0) {
      w = nextWord(sum, w, lastWord);
      if (w < 0) return -1;
      bits = words[w]!;
    }
  }
}

/** First word in [w, last] whose summary bit is set (32 words a step). -1 if none. */
function nextWord(sum: Uint32Array, w: number, last: number): number {
  let s = w >>> 5;
  let bits = sum[s]! & (~0 << (w & 31));
  const lastS = last >>> 5;
  for (;;) {
    if (bits !== 0) {
      const found = s * 32 + (31 - Math.clz32(bits & -bits));
      return found <= last ? found : -1;
    }
    if (++s > lastS) return -1;
    bits = sum[s]!;
  }
}

/** The summary of words: bit w set when words[w] has a page. */
export function summaryOf(words: Uint32Array): Uint32Array {
  const sum = new Uint32Array(Math.ceil(words.length / 32));
  for (let w = 0; w < words.length; w++) if (words[w] !== 0) sum[w >>> 5]! |= 1 << (w & 31);
  return sum;
}

/** Word w changed: its summary bit follows. */
export function noteWord(words: Uint32Array, sum: Uint32Array, w: number): void {
  if (words[w] !== 0) sum[w >>> 5]! |= 1 << (w & 31);
  else sum[w >>> 5]! &= ~(1 << (w & 31));
}

export function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
}

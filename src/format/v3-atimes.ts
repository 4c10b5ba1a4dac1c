// ATIMES records (v3 minor 4, docs/FORMAT.md §v3): the atimes a commit batches for nodes whose
// only change is their atime (a read, relatime), read back without an object per entry; and
// ATIMES_PAGES (minor 6): a large batch's entries in pages of their own, which the record names.
import { assert } from './assert.js';
import { crc32c } from './crc.js';
import { u32, u64, ATIMES_FIXED, ATIMES_ENTRY, ATIMES_MAX_ENTRIES, ATIMES_PAGES_FIXED, ATIMES_PAGES_RUN, ATIMES_PAGES_MAX_ENTRIES } from './v3-base.js';

const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * ATIMES (minor 4), read back: entry k says node atimesIno(r, k) got atime times[2k + 1] (ns, unsigned as
 * an INODE's). No object per entry (a session that read a million files writes a million entries): the
 * record's entry bytes as words, a view into the bytes read when they are 8-aligned (a lazy mount's tail).
 */
export interface AtimesRecord {
  n: number;
  /** Entry k: ino low and high words at 4k, 4k + 1; its atime's at 4k + 2, 4k + 3. */
  words: Uint32Array;
  times: BigUint64Array;
  /** Its inos were checked (≥ 1, under 2^53, strictly ascending): always, but in a view a lazy mount checks on first use (checkAtimes). */
  checked: boolean;
}

/** The ino of entry k. */
export const atimesIno = (r: AtimesRecord, k: number): number => r.words[4 * k + 1]! * 2 ** 32 + r.words[4 * k]!;

/** An ATIMES record of inos[k] -> times[k] (k < inos.length), in memory (the codec's reference, tests). */
export function atimesRecord(inos: ArrayLike<number>, times: ArrayLike<bigint>): AtimesRecord {
  const n = inos.length, words = new Uint32Array(4 * n), t = new BigUint64Array(words.buffer);
  for (let k = 0; k < n; k++) { words[4 * k] = inos[k]! % 2 ** 32; words[4 * k + 1] = Math.floor(inos[k]! / 2 ** 32); t[2 * k + 1] = BigInt.asUintN(64, times[k]!); }
  return { n, words, times: t, checked: true };
}

/**
 * An ATIMES payload at b[at, at+length) (crc matched), or what is malformed: n in 1…ATIMES_MAX_ENTRIES
 * filling the payload, reserved 0, and (unless `view`) inos ≥ 1, under 2^53 and strictly ascending. The
 * entries are copied, or with `view` (a lazy mount's tail: its bytes stay, and a million entries are not
 * walked at mount) viewed in place when 8-aligned and checked on first use (checkAtimes).
 */
export function decodeAtimesAt(b: Uint8Array, at: number, length: number, view = false): AtimesRecord | string {
  if (length < ATIMES_FIXED) return `ATIMES payload of ${length} bytes, at least ${ATIMES_FIXED} expected`;
  const n = u32(b, at);
  if (n < 1 || n > ATIMES_MAX_ENTRIES || length !== ATIMES_FIXED + ATIMES_ENTRY * n) return `ATIMES of ${n} entries in ${length} bytes`;
  if (u32(b, at + 4) !== 0) return 'ATIMES reserved field not 0';
  if (!HOST_LE) assert(false, 'a little-endian host');
  const from = b.byteOffset + at + ATIMES_FIXED;
  const bytes = view && from % 8 === 0 ? new Uint8Array(b.buffer, from, ATIMES_ENTRY * n) : Uint8Array.from(b.subarray(at + ATIMES_FIXED, at + length));
  const r: AtimesRecord = { n, words: new Uint32Array(bytes.buffer, bytes.byteOffset, 4 * n), times: new BigUint64Array(bytes.buffer, bytes.byteOffset, 2 * n), checked: false };
  if (view) return r;
  const bad = checkAtimes(r);
  return bad ?? r;
}

/** Checks an ATIMES record's inos (≥ 1, under 2^53, strictly ascending) once: null when they are, else what is wrong. */
export function checkAtimes(r: AtimesRecord): string | null {
  if (r.checked) return null;
  const w = r.words;
  for (let k = 0, prev = 0; k < r.n; k++) {
    const hi = w[4 * k + 1]!, ino = hi * 2 ** 32 + w[4 * k]!;
    if (hi > 0x1fffff || ino <= prev) return `ATIMES entry ${k}: ino ${hi > 0x1fffff ? 'over 2^53' : `${ino} not above ${prev}`}`;
    prev = ino;
  }
  r.checked = true;
  return null;
}

/**
 * ATIMES_PAGES (minor 6), read back: n entries laid out as an ATIMES record's, back to back over the pages of `runs`
 * ((pfn, count) pairs, in order), inos in [lo, hi]; crcs[j] the crc32c of the j-th of those pages (all of it: the
 * last page's bytes after the entries are zeros). The pages are read when first needed (pram/atimespages.ts).
 */
export interface AtimesPagesRecord { n: number; lo: number; hi: number; runs: number[]; crcs: Uint32Array }

/** An ATIMES_PAGES payload at b[at, at+length) (crc matched), or what is malformed (the page size is checked where the pages are read). */
export function decodeAtimesPagesAt(b: Uint8Array, at: number, length: number): AtimesPagesRecord | string {
  if (length < ATIMES_PAGES_FIXED) return `ATIMES_PAGES payload of ${length} bytes, at least ${ATIMES_PAGES_FIXED} expected`;
  const n = u32(b, at), r = u32(b, at + 4), lo = u64(b, at + 8), hi = u64(b, at + 16), p = u32(b, at + 24);
  if (n < 1 || n > ATIMES_PAGES_MAX_ENTRIES || r < 1 || p < 1 || r > p || length !== ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * r + 4 * p) {
    return `ATIMES_PAGES of ${n} entries, ${r} runs, ${p} pages in ${length} bytes`;
  }
  if (u32(b, at + 28) !== 0) return 'ATIMES_PAGES reserved field not 0';
  if (lo === null || hi === null || lo < 1 || hi < lo || hi - lo + 1 < n) return `ATIMES_PAGES inos ${lo}…${hi} for ${n} entries`;
  const runs: number[] = [];
  let pages = 0;
  for (let i = 0; i < r; i++) {
    const pfn = u64(b, at + ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * i), count = u64(b, at + ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * i + 8);
    if (pfn === null || count === null || pfn < 1 || count < 1) return `ATIMES_PAGES run ${i}: pfn ${pfn}, count ${count}`;
    runs.push(pfn, count);
    pages += count;
  }
  if (pages !== p) return `ATIMES_PAGES runs of ${pages} pages, ${p} crcs`;
  const crcs = new Uint32Array(p), c = at + ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * r;
  for (let j = 0; j < p; j++) crcs[j] = u32(b, c + 4 * j);
  return { n, lo, hi, runs, crcs };
}

/**
 * The entries of an ATIMES_PAGES record from its pages' bytes (`bytes`: the pages in order, page j at j·pageSize),
 * less those of each page whose crc does not match (`bad` told of each: its index, its entries, why); or what is
 * malformed (the pages do not hold n entries, the inos not ascending or outside [lo, hi]): then none is used.
 */
export function atimesOfPages(rec: AtimesPagesRecord, bytes: Uint8Array, pageSize: number, bad: (page: number, n: number, why: string) => void): AtimesRecord | string {
  const per = pageSize / ATIMES_ENTRY, pages = rec.crcs.length;
  if (!(pageSize % ATIMES_ENTRY === 0 && Math.ceil(rec.n / per) === pages)) return `ATIMES_PAGES of ${rec.n} entries in ${pages} pages of ${pageSize} bytes`;
  if (bytes.length < pages * pageSize) assert(false, 'the record\'s pages read whole');
  const keep = new Uint8Array(ATIMES_ENTRY * rec.n);
  let kept = 0;
  for (let j = 0; j < pages; j++) {
    const entries = Math.min(per, rec.n - j * per), at = j * pageSize, crc = crc32c(bytes.subarray(at, at + pageSize));
    if (crc !== rec.crcs[j]) { bad(j, entries, `failed crc32c (saved 0x${rec.crcs[j]!.toString(16)}, computed 0x${crc.toString(16)})`); continue; }
    keep.set(bytes.subarray(at, at + ATIMES_ENTRY * entries), ATIMES_ENTRY * kept);
    kept += entries;
  }
  const r: AtimesRecord = { n: kept, words: new Uint32Array(keep.buffer, 0, 4 * kept), times: new BigUint64Array(keep.buffer, 0, 2 * kept), checked: false };
  const why = checkAtimes(r);
  if (why !== null) return why.replace('ATIMES', 'ATIMES_PAGES');
  if (kept > 0 && (atimesIno(r, 0) < rec.lo || atimesIno(r, kept - 1) > rec.hi)) return `ATIMES_PAGES entries of inos ${atimesIno(r, 0)}…${atimesIno(r, kept - 1)}, outside ${rec.lo}…${rec.hi}`;
  return r;
}

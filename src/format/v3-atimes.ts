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
 * ((pfn, count) pairs, in order), inos in [lo, hi]; firsts[j] the ino of page j's first entry (ascending), crcs[j]
 * the crc32c of page j (all of it: the last page's bytes after the entries are zeros). A page is read when first
 * needed (pram/atimespages.ts), and checked on its own: a damaged page costs its entries only.
 */
export interface AtimesPagesRecord { n: number; lo: number; hi: number; runs: number[]; firsts: Float64Array; crcs: Uint32Array }

/** An ATIMES_PAGES payload at b[at, at+length) (crc matched), or what is malformed (the page size is checked where the pages are read: atimesPagesFit). */
export function decodeAtimesPagesAt(b: Uint8Array, at: number, length: number): AtimesPagesRecord | string {
  if (length < ATIMES_PAGES_FIXED) return `ATIMES_PAGES payload of ${length} bytes, at least ${ATIMES_PAGES_FIXED} expected`;
  const n = u32(b, at), r = u32(b, at + 4), lo = u64(b, at + 8), hi = u64(b, at + 16), p = u32(b, at + 24);
  if (n < 1 || n > ATIMES_PAGES_MAX_ENTRIES || r < 1 || p < 1 || r > p || p > n || length !== ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * r + 12 * p) {
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
  if (pages !== p) return `ATIMES_PAGES runs of ${pages} pages, ${p} first inos`;
  const firsts = new Float64Array(p), f = at + ATIMES_PAGES_FIXED + ATIMES_PAGES_RUN * r, c = f + 8 * p;
  let crcs: Uint32Array;
  if (HOST_LE && (b.byteOffset + f) % 4 === 0) {
    // Words in place, no call per page (a mount decodes a read-all session's records cold: 4 096 pages, ~ms by u64 calls).
    const w = new Uint32Array(b.buffer, b.byteOffset + f, 3 * p);
    for (let j = 0; j < p; j++) firsts[j] = w[2 * j + 1]! > 0x1fffff ? -1 : w[2 * j + 1]! * 2 ** 32 + w[2 * j]!;
    crcs = w.slice(2 * p);
  } else {
    crcs = new Uint32Array(p);
    for (let j = 0; j < p; j++) { firsts[j] = u64(b, f + 8 * j) ?? -1; crcs[j] = u32(b, c + 4 * j); }
  }
  for (let j = 0; j < p; j++) {
    const ino = firsts[j]!;
    if (ino < lo || ino > hi || (j === 0 ? ino !== lo : ino <= firsts[j - 1]!)) return `ATIMES_PAGES page ${j}: first ino ${ino < 0 ? 'over 2^53' : ino}`;
  }
  return { n, lo, hi, runs, firsts, crcs };
}

/** Why the record's pages cannot hold its entries at this page size (⌈n / entries a page⌉ pages), or null. */
export function atimesPagesFit(rec: AtimesPagesRecord, pageSize: number): string | null {
  const per = pageSize / ATIMES_ENTRY;
  return pageSize % ATIMES_ENTRY === 0 && Math.ceil(rec.n / per) === rec.crcs.length ? null : `ATIMES_PAGES of ${rec.n} entries in ${rec.crcs.length} pages of ${pageSize} bytes`;
}

/** The entries page j holds (all but the last page: a page's worth). */
export const atimesPageEntries = (rec: AtimesPagesRecord, j: number, pageSize: number): number =>
  Math.min(pageSize / ATIMES_ENTRY, rec.n - j * (pageSize / ATIMES_ENTRY));

/** The page a lookup of `ino` reads: the last whose first ino is at most it (-1: below the record's). */
export function atimesPageOf(rec: AtimesPagesRecord, ino: number): number {
  let lo = 0, hi = rec.firsts.length - 1, at = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    if (rec.firsts[mid]! <= ino) { at = mid; lo = mid + 1; } else hi = mid - 1;
  }
  return at;
}

/**
 * Page j's entries from its bytes (`page`: pageSize bytes, fit checked), or why they cannot be used: its crc
 * fails (damage), or they are not what the record says (inos ascending, the first firsts[j], all below the next
 * page's first, or at most hi for the last page). Copied out of `page`.
 */
export function atimesOfPage(rec: AtimesPagesRecord, j: number, page: Uint8Array): AtimesRecord | string {
  const crc = crc32c(page);
  if (crc !== rec.crcs[j]) return `failed crc32c (saved 0x${rec.crcs[j]!.toString(16)}, computed 0x${crc.toString(16)})`;
  const n = atimesPageEntries(rec, j, page.length), bytes = Uint8Array.from(page.subarray(0, ATIMES_ENTRY * n));
  const r: AtimesRecord = { n, words: new Uint32Array(bytes.buffer, 0, 4 * n), times: new BigUint64Array(bytes.buffer, 0, 2 * n), checked: false };
  const why = checkAtimes(r), first = atimesIno(r, 0), last = atimesIno(r, n - 1);
  const below = j + 1 < rec.firsts.length ? last < rec.firsts[j + 1]! : last <= rec.hi;
  if (why === null && first === rec.firsts[j] && below) return r;
  return `is malformed: ${why ?? `inos ${first}…${last}, not from ${rec.firsts[j]} below ${j + 1 < rec.firsts.length ? rec.firsts[j + 1] : `${rec.hi} + 1`}`}`;
}

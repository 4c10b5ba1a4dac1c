// ATIMES records (v3 minor 4, docs/FORMAT.md §v3): the atimes a commit batches for nodes whose
// only change is their atime (a read, relatime), read back without an object per entry.
import { assert } from './assert.js';
import { u32, ATIMES_FIXED, ATIMES_ENTRY, ATIMES_MAX_ENTRIES } from './v3-base.js';

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

// The two checksums of the on-memory format, with the kernel's conventions:
// Linux crc32_le(seed, …) and crc32c(seed, …) take the seed as the raw register
// and do no final inversion. @node-rs/crc32 computes the standard (inverted)
// CRC, so we invert on the way in and out. Callers never see the library.
// Batches (a mount's verification) go to pram's addon, which spreads them
// over the cores.

import { availableParallelism } from 'node:os';
import { crc32 as libCrc32, crc32c as libCrc32c } from '@node-rs/crc32';
import { crc32cImpl as nativeCrc32cImpl, crc32cFile as nativeCrc32cFile, crc32cMany as nativeCrc32cMany, crc32cRanges as nativeCrc32cRanges, crc32cReadCheck as nativeCrc32cReadCheck, crc32cReadInto as nativeCrc32cReadInto } from '../mem/native.js';

/** Linux crc32_le(seed, buf): reflected poly 0xEDB88320, no final xor. Link pages. */
export function crc32le(buf: Uint8Array, seed = 0): number {
  return (~libCrc32(buf, (~seed) >>> 0)) >>> 0;
}

/** Linux crc32c(seed, buf): reflected poly 0x82F63B78, no final xor. Data, meta and header. */
export function crc32c(buf: Uint8Array, seed = 0): number {
  return (~libCrc32c(buf, (~seed) >>> 0)) >>> 0;
}

// Slice-by-8 tables for crc32cAt: a short record's crc in JS costs less than the
// call into the library plus the view it needs (a log replay checks ~10^6 of them).
const T8 = new Int32Array(256 * 8);
for (let n = 0; n < 256; n++) { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1; T8[n] = c; }
for (let t = 1; t < 8; t++) for (let n = 0; n < 256; n++) T8[t * 256 + n] = (T8[(t - 1) * 256 + n]! >>> 8) ^ T8[T8[(t - 1) * 256 + n]! & 0xff]!;
/** Below this many bytes crc32cAt computes in JS; above, the library's is faster. */
const CRC_JS_MAX = 256;

/** crc32c(seed, buf[off, off+len)) without a view per call (the same value as crc32c of the subarray). */
export function crc32cAt(buf: Uint8Array, off: number, len: number, seed = 0): number {
  if (len > CRC_JS_MAX) return crc32c(buf.subarray(off, off + len), seed);
  let c = seed | 0, i = off;
  const end = off + len;
  for (; i + 8 <= end; i += 8) {
    const a = c ^ (buf[i]! | buf[i + 1]! << 8 | buf[i + 2]! << 16 | buf[i + 3]! << 24);
    c = T8[1792 + (a & 0xff)]! ^ T8[1536 + ((a >>> 8) & 0xff)]! ^ T8[1280 + ((a >>> 16) & 0xff)]! ^ T8[1024 + (a >>> 24)]! ^
      T8[768 + buf[i + 4]!]! ^ T8[512 + buf[i + 5]!]! ^ T8[256 + buf[i + 6]!]! ^ T8[buf[i + 7]!]!;
  }
  for (; i < end; i++) c = T8[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** Bytes below which one thread does a batch: a second thread's start costs more than it saves. */
export const CRC_THREADED_BYTES_MIN = 64 << 20;

/**
 * crc32c of every buffer, as crc32c(buf) gives it, in one native call: on
 * every core (up to 8) when the batch holds at least
 * CRC_THREADED_BYTES_MIN bytes. The buffers must not change during the call.
 */
export function crc32cMany(bufs: readonly Uint8Array[], opts: CrcThreads = {}): Uint32Array {
  const out = new Uint32Array(bufs.length);
  let bytes = 0;
  for (const b of bufs) bytes += b.length;
  nativeCrc32cMany(bufs as Uint8Array[], out, threadsFor(bytes, opts));
  return out;
}

/**
 * crc32c of fd's bytes [offsets[i], offsets[i] + lengths[i]) for every i, read
 * with pread (the pages are not mapped into the process), threaded as crc32cMany.
 * Throws the pread's error (Node's shape) if a read fails or ends early.
 */
export function crc32cFile(fd: number, offsets: Float64Array, lengths: Uint32Array, opts: CrcThreads = {}): Uint32Array {
  const out = new Uint32Array(offsets.length);
  let bytes = 0;
  for (let i = 0; i < lengths.length; i++) bytes += lengths[i]!;
  nativeCrc32cFile(fd, offsets, lengths, out, threadsFor(bytes, opts));
  return out;
}

/**
 * out[i] = crc32c of buf[offsets[i], offsets[i] + lengths[i]) for i < n, as
 * crc32c gives it, in one native call: the pages and runs of one read's copy
 * without a view or a call per page. A range past buf throws a RangeError.
 */
export function crc32cRanges(buf: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void {
  nativeCrc32cRanges(buf, offsets, lengths, n, out);
}

/**
 * Copies fd's bytes [pos, pos + len) into target[at..] with pread and sets
 * out[i] = crc32c of target[at + offsets[i], + lengths[i]) for i < n, each
 * summed while its bytes are still in cache (one call for a read's copy and
 * its first check). Throws the pread's error (Node's shape; EIO when the file
 * ends first).
 */
export function crc32cReadInto(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, out: Uint32Array): void {
  nativeCrc32cReadInto(fd, pos, target, at, len, offsets, lengths, n, out);
}

/**
 * crc32cReadInto's copy, each range checked against its expected sum instead
 * of summed for the caller: returns how many ranges match from the first, g,
 * with out[i] = expected[i] for i < g and out[g] = range g's crc32c when
 * g < n (the copy may stop after range g). Ranges in order, none overlapping
 * (else a RangeError). Neighbouring ranges are summed as one buffer against
 * their expected sums joined the same way (crc being linear), so a read of
 * many lone pages costs one long sum; each range on its own only to find the
 * one that differs.
 */
export function crc32cReadCheck(fd: number, pos: number, target: Uint8Array, at: number, len: number, offsets: Uint32Array, lengths: Uint32Array, n: number, expected: Uint32Array, out: Uint32Array): number {
  return nativeCrc32cReadCheck(fd, pos, target, at, len, offsets, lengths, n, expected, out);
}

/** threads: exactly this many (tests compare 1 with 2); default: every core for a large batch, else one. */
export interface CrcThreads { threads?: number }

function threadsFor(bytes: number, opts: CrcThreads): number {
  if (opts.threads !== undefined) return opts.threads;
  return bytes >= CRC_THREADED_BYTES_MIN ? Math.min(availableParallelism(), 8) : 1;
}

/** Which code sums batches: "fold" (AVX-512 VPCLMULQDQ), "crc32" (SSE4.2) or "table"; PRAM_CRC_NO_FOLD=1 turns folding off. */
export function crc32cImpl(): string {
  return nativeCrc32cImpl();
}

// The two checksums of the on-memory format, with the kernel's conventions:
// Linux crc32_le(seed, …) and crc32c(seed, …) take the seed as the raw register
// and do no final inversion. @node-rs/crc32 computes the standard (inverted)
// CRC, so we invert on the way in and out. Callers never see the library.

import { crc32 as libCrc32, crc32c as libCrc32c } from '@node-rs/crc32';

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

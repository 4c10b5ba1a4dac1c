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

// A bounded reader over one FUSE request. The kernel's input is untrusted: every
// field read checks the bytes left and fails with format/'s typed DecodeError
// (naming the field and offset); the session turns that into an EIO reply, so a
// malformed request never crashes the server nor goes unanswered.
import { ByteReader, DecodeError } from '../format/reader.js';

export { DecodeError };

/** Longest file name pram stores (NAME_MAX); symlink targets go up to PATH_MAX. */
export const NAME_BYTES_MAX = 255;
export const PATH_BYTES_MAX = 4096;
/**
 * Longest name the kernel sends (FUSE_NAME_MAX in fs/fuse/fuse_i.h). Like
 * simple_lookup, FUSE leaves NAME_MAX to the file system: a name of 256..1024
 * bytes is a well-formed request that pram answers ENAMETOOLONG, not EIO.
 */
export const NAME_WIRE_BYTES_MAX = 1024;

/** The high half of 2^53 - 1: a u64 whose high half is at most this is a safe integer. */
export const U64_SAFE_HIGH_MAX = 0x1f_ffff;

export class FuseReader extends ByteReader {
  declare protected readonly buf: Buffer;
  constructor(buf: Buffer, start: number, end: number, dv?: DataView) {
    super(buf, start, end, dv);
  }

  /** A second reader at the same position (for tracing without consuming the handler's input). */
  fork(): FuseReader { return new FuseReader(this.buf, this.pos, this.end, this.dv); }

  /** n bytes as a view into the request buffer (no copy): valid only while the request is handled. */
  override bytes(n: number, field: string): Buffer {
    const at = this.take(n, field);
    return this.buf.subarray(at, at + n);
  }

  /** A NUL-terminated string of at most `max` bytes before the NUL. */
  cstr(field: string, max: number): string {
    const at = this.pos;
    const limit = Math.min(this.end, at + max + 1);
    const nul = this.buf.indexOf(0, at);
    if (nul < 0 || nul >= limit) {
      const kind = limit === this.end && (nul < 0 || nul >= this.end) ? 'short' : 'malformed';
      throw new DecodeError(kind, field, at, kind === 'short' ? 'no NUL before the end' : `longer than ${max} bytes`);
    }
    this.pos = nul + 1;
    // Buffer's decoder: no view made, and a leading U+FEFF is kept (TextDecoder drops it: a name is its bytes).
    return this.buf.toString('utf8', at, nul);
  }

  /** u64 that must fit a JS number, from its two halves: no BigInt made (a node id in every request). */
  override u64(field: string): number {
    const at = this.take(8, field);
    const lo = this.dv.getUint32(at, true), hi = this.dv.getUint32(at + 4, true);
    if (hi > U64_SAFE_HIGH_MAX) {
      throw new DecodeError('overflow', field, at, `0x${this.dv.getBigUint64(at, true).toString(16)} exceeds 2^53-1`);
    }
    return hi * 0x1_0000_0000 + lo;
  }

  /**
   * A path component: 1..NAME_WIRE_BYTES_MAX bytes, no '/'. Whether it fits
   * NAME_MAX is the caller's question (nameTooLong). The kernel never sends
   * '.' or '..' to lookup.
   */
  component(field: string): string {
    const at = this.pos;
    const s = this.cstr(field, NAME_WIRE_BYTES_MAX);
    if (s.length === 0) throw new DecodeError('malformed', field, at, 'empty name');
    if (s.includes('/')) throw new DecodeError('malformed', field, at, "name holds '/'");
    return s;
  }
}

/** A decoded name longer than NAME_MAX (a UTF-16 unit is at most 3 UTF-8 bytes: count only when it could matter). */
export function nameTooLong(name: string): boolean {
  return name.length * 3 > NAME_BYTES_MAX && Buffer.byteLength(name) > NAME_BYTES_MAX;
}

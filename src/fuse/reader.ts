// A bounded reader over one FUSE request. The kernel's input is untrusted: every
// field read checks the bytes left and fails with format/'s typed DecodeError
// (naming the field and offset); the session turns that into an EIO reply, so a
// malformed request never crashes the server nor goes unanswered.
import { DecodeError } from '../format/reader.js';

export { DecodeError };

/** Longest file name FUSE passes (the kernel's NAME_MAX is 255; symlink targets up to PATH_MAX). */
export const NAME_BYTES_MAX = 255;
export const PATH_BYTES_MAX = 4096;

const utf8 = new TextDecoder('utf-8');

export class FuseReader {
  private pos: number;
  private readonly dv: DataView;

  constructor(private readonly buf: Buffer, start: number, private readonly end: number) {
    this.pos = start;
    this.dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.end - this.pos; }

  private take(n: number, field: string): number {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError('short', field, this.pos, `need ${n} bytes, ${this.end - this.pos} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u32(field: string): number { return this.dv.getUint32(this.take(4, field), true); }
  i64big(field: string): bigint { return this.dv.getBigInt64(this.take(8, field), true); }
  u64big(field: string): bigint { return this.dv.getBigUint64(this.take(8, field), true); }

  /** A u64 that must fit a JS number (offsets, sizes, node ids). */
  u64(field: string): number {
    const at = this.pos;
    const v = this.u64big(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DecodeError('overflow', field, at, `0x${v.toString(16)} exceeds 2^53-1`);
    }
    return Number(v);
  }

  skip(n: number, field: string): void { this.take(n, field); }

  /** A second reader at the same position (for tracing without consuming the handler's input). */
  fork(): FuseReader { return new FuseReader(this.buf, this.pos, this.end); }

  /** n bytes as a view into the request buffer (no copy): valid only while the request is handled. */
  bytes(n: number, field: string): Buffer {
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
    return utf8.decode(this.buf.subarray(at, nul));
  }

  /** A path component: 1..255 bytes, no '/'. The kernel never sends '.' or '..' to lookup. */
  name(field: string): string {
    const at = this.pos;
    const s = this.cstr(field, NAME_BYTES_MAX);
    if (s.length === 0) throw new DecodeError('malformed', field, at, 'empty name');
    if (s.includes('/')) throw new DecodeError('malformed', field, at, "name holds '/'");
    return s;
  }
}

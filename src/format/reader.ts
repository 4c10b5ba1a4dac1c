// A bounded reader over untrusted bytes (an image in memory is untrusted input:
// it may be damaged or crafted). Every read checks the remaining length and
// fails with a DecodeError naming the field, its offset and what was wrong.
// The reader throws DecodeError internally; the decode functions of format/
// catch it and return it as a value, so nothing above format/ sees a throw.

export type DecodeErrorKind = 'short' | 'overflow' | 'malformed';

export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    readonly kind: DecodeErrorKind,
    readonly field: string,
    readonly offset: number,
    detail: string,
  ) {
    super(`${field} @${offset}: ${detail}`);
  }
}

export class ByteReader {
  protected pos: number;
  protected readonly dv: DataView;
  /** `dv`: a view over exactly `buf` already made (readers over one message share it: a DataView is not free). */
  constructor(protected readonly buf: Uint8Array, start = 0, protected readonly end = buf.length, dv?: DataView) {
    this.pos = start;
    this.dv = dv ?? new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number { return this.pos; }
  get remaining(): number { return this.end - this.pos; }

  protected take(n: number, field: string): number {
    if (n < 0 || this.pos + n > this.end) {
      throw new DecodeError('short', field, this.pos, `need ${n} bytes, ${this.end - this.pos} left`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(field: string): number { return this.buf[this.take(1, field)]!; }
  u16(field: string): number { return this.dv.getUint16(this.take(2, field), true); }
  u32(field: string): number { return this.dv.getUint32(this.take(4, field), true); }
  i64big(field: string): bigint { return this.dv.getBigInt64(this.take(8, field), true); }

  /** u64 as a bigint (times, raw values that may exceed 2^53). */
  u64big(field: string): bigint { return this.dv.getBigUint64(this.take(8, field), true); }

  /** u64 that must fit a JS number (pfns, sizes, counts): above 2^53 - 1 is an overflow error. */
  u64(field: string): number {
    const at = this.pos;
    const v = this.u64big(field);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new DecodeError('overflow', field, at, `0x${v.toString(16)} exceeds 2^53-1`);
    }
    return Number(v);
  }

  skip(n: number, field: string): void { this.take(n, field); }

  bytes(n: number, field: string): Uint8Array {
    const at = this.take(n, field);
    return this.buf.subarray(at, at + n);
  }

  /** A file name of `len` bytes (len <= max): UTF-8, no '/' or NUL, not '.' or '..', not empty. */
  name(len: number, max: number, field: string): string {
    const at = this.pos;
    if (len > max) throw new DecodeError('malformed', field, at, `length ${len} > ${max}`);
    if (len === 0) throw new DecodeError('malformed', field, at, 'empty name');
    const raw = this.bytes(len, field);
    if (raw.includes(0)) throw new DecodeError('malformed', field, at, 'name holds NUL');
    if (raw.includes(0x2f)) throw new DecodeError('malformed', field, at, "name holds '/'");
    const s = new TextDecoder('utf-8', { fatal: false }).decode(raw);
    if (s === '.' || s === '..') throw new DecodeError('malformed', field, at, `name '${s}' is reserved`);
    return s;
  }

  /** Skip to the next multiple of `align` bytes from the buffer start. */
  align(align: number, field: string): void {
    const pad = (align - (this.pos % align)) % align;
    this.take(pad, field);
  }
}

/** Run a decoder; a DecodeError becomes a value, anything else is a bug and propagates. */
export function decoding<T>(fn: () => T): T | DecodeError {
  try {
    return fn();
  } catch (e) {
    if (e instanceof DecodeError) return e;
    throw e;
  }
}

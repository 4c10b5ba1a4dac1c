// Small replies built in place: one buffer per session, reused by every
// request, holds the out-header and a fixed-size payload (entry, attr, open,
// write counts), so the replies of the hot requests (LOOKUP, GETATTR, CREATE,
// SETATTR, WRITE) allocate nothing: no Buffer, no DataView, no header chunk.
// The encoders write the same bytes as wire.ts's (wire.test.ts and reply.test.ts
// compare them). A reply built here is valid until the next request is handled:
// transports write it at once (a reply held for a pool thread is a READ's,
// whose header is its own: session.frame()).
import { assert } from '../format/assert.js';
import { Size, putAttr, putEntryOut, putU64, type Validity, type WireAttr } from './wire.js';

/** The largest payload built in place: CREATE's entry_out + open_out. */
const PAYLOAD_BYTES_MAX = Size.entryOut + Size.openOut;
assert(PAYLOAD_BYTES_MAX === 144, 'CREATE: fuse_entry_out + fuse_open_out');

export class ReplyBuffer {
  private readonly buf = Buffer.allocUnsafeSlow(Size.outHeader + PAYLOAD_BYTES_MAX);
  private readonly dv = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
  /** The view of header + payload, by payload size (made once each: a subarray is not free). */
  private readonly sized: (Buffer | undefined)[] = [];

  /** Whether `b` was built here (the session fills its header in place). */
  owns(b: Buffer): boolean {
    return b.buffer === this.buf.buffer;
  }

  /** fuse_out_header in place, for the reply of `payload` bytes built here last (or a header-only reply). */
  header(payload: number, error: number, unique: bigint): Buffer {
    const dv = this.dv;
    dv.setUint32(0, Size.outHeader + payload, true);
    dv.setInt32(4, error, true);
    dv.setBigUint64(8, unique, true);
    return this.view(payload);
  }

  /** fuse_entry_out (LOOKUP, MKNOD, MKDIR, SYMLINK, LINK). */
  entry(a: WireAttr, v: Validity): Buffer {
    putEntryOut(this.dv, Size.outHeader, a, v);
    return this.view(Size.entryOut);
  }

  /** The entry_out of a missing name: nodeid 0 with an entry timeout (wire.ts negativeEntryOut). */
  negativeEntry(v: Validity): Buffer {
    const at = Size.outHeader;
    this.buf.fill(0, at, at + Size.entryOut);
    putU64(this.dv, at + 16, v.entrySec);
    return this.view(Size.entryOut);
  }

  /** fuse_attr_out (GETATTR, SETATTR). */
  attr(a: WireAttr, v: Validity): Buffer {
    const at = Size.outHeader;
    putU64(this.dv, at, v.attrSec);
    this.dv.setUint32(at + 8, 0, true);    // attr_valid_nsec
    this.dv.setUint32(at + 12, 0, true);   // dummy
    putAttr(this.dv, at + 16, a);
    return this.view(Size.attrOut);
  }

  /** fuse_open_out (OPEN). */
  open(fh: number, openFlags: number): Buffer {
    putOpenOut(this.dv, Size.outHeader, fh, openFlags);
    return this.view(Size.openOut);
  }

  /** fuse_entry_out + fuse_open_out (CREATE). */
  entryOpen(a: WireAttr, v: Validity, fh: number, openFlags: number): Buffer {
    putEntryOut(this.dv, Size.outHeader, a, v);
    putOpenOut(this.dv, Size.outHeader + Size.entryOut, fh, openFlags);
    return this.view(Size.entryOut + Size.openOut);
  }

  /** fuse_write_out, fuse_getxattr_out: a u32 and padding. */
  u32(n: number): Buffer {
    this.dv.setUint32(Size.outHeader, n >>> 0, true);
    this.dv.setUint32(Size.outHeader + 4, 0, true);
    return this.view(8);
  }

  private view(payload: number): Buffer {
    return this.sized[payload] ??= this.buf.subarray(0, Size.outHeader + payload);
  }
}

function putOpenOut(dv: DataView, at: number, fh: number, openFlags: number): void {
  putU64(dv, at, fh);
  dv.setUint32(at + 8, openFlags >>> 0, true);
  dv.setUint32(at + 12, 0, true);   // padding (backing_id in 7.40)
}

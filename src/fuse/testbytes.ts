// Byte builders for the protocol core's tests: a FUSE request as the kernel
// would write it, fields laid out one call per field so a test reads like the
// struct in linux/fuse.h. Used by *.test.ts only.
import { Size } from './wire.js';

export class Bytes {
  private parts: Buffer[] = [];
  u16(v: number): this { const b = Buffer.alloc(2); b.writeUInt16LE(v); this.parts.push(b); return this; }
  u32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); this.parts.push(b); return this; }
  i32(v: number): this { const b = Buffer.alloc(4); b.writeInt32LE(v); this.parts.push(b); return this; }
  u64(v: number | bigint): this { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(v)); this.parts.push(b); return this; }
  i64(v: number | bigint): this { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(v)); this.parts.push(b); return this; }
  cstr(s: string): this { this.parts.push(Buffer.from(s + '\0', 'utf8')); return this; }
  raw(b: Uint8Array): this { this.parts.push(Buffer.from(b)); return this; }
  zeros(n: number): this { this.parts.push(Buffer.alloc(n)); return this; }
  get length(): number { return this.parts.reduce((n, p) => n + p.length, 0); }
  build(): Buffer { return Buffer.concat(this.parts); }
}

export interface Header { opcode: number; unique?: number; nodeid?: number; uid?: number; gid?: number; pid?: number }

/** fuse_in_header followed by `body`, with len filled in. */
export function request(h: Header, body: Bytes | Buffer = Buffer.alloc(0)): Buffer {
  const b = Buffer.isBuffer(body) ? body : body.build();
  return new Bytes()
    .u32(Size.inHeader + b.length)  // len
    .u32(h.opcode)                  // opcode
    .u64(h.unique ?? 7)             // unique
    .u64(h.nodeid ?? 1)             // nodeid
    .u32(h.uid ?? 1000)             // uid
    .u32(h.gid ?? 1000)             // gid
    .u32(h.pid ?? 4242)             // pid
    .u16(0)                         // total_extlen
    .u16(0)                         // padding
    .raw(b)
    .build();
}

/** A reply split into its out-header fields and payload. */
export function parseReply(chunks: Buffer[] | null): { len: number; error: number; unique: bigint; body: Buffer } {
  if (!chunks) throw new Error('expected a reply, got none');
  const all = Buffer.concat(chunks);
  return { len: all.readUInt32LE(0), error: all.readInt32LE(4), unique: all.readBigUInt64LE(8), body: all.subarray(Size.outHeader) };
}

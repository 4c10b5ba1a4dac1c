// Version 2 extensions of the on-memory format (docs/FORMAT.md §v2): the META
// page tail (ino, parent, owner, times, counts, inline xattrs), NAME pages for
// extra hard links, XATTR pages, EXTENT entries. v1 readers never look at any
// of it: the tail lives after the RFC's 271 bytes (still under the page's
// crc32c), and the new entry types appear only in images that need them.

import { assert } from './assert.js';
import { crc32c } from './crc.js';
import { ByteReader, DecodeError, decoding } from './reader.js';
import { ENTRY_TYPE_MASK, EntryType, FILE_IMAGE_SIZE, NAME_MAX, PAGE_SIZE_MIN } from './v1.js';

export const TAIL_OFFSET = 272;               // first 8-aligned byte after the RFC file image
export const TAIL_MAGIC = 0x78746d70;         // 'pmtx'
export const TAIL_VERSION = 1;
export const TAIL_FIXED_SIZE = 96;            // magic .. tail_crc
export const TAIL_CRC_AT = 92;                // relative to TAIL_OFFSET
export const XATTR_INLINE_AT = TAIL_OFFSET + TAIL_FIXED_SIZE; // 368
export const XATTR_NAME_MAX = 255;
export const XATTR_VALUE_MAX = 65536;         // Linux XATTR_SIZE_MAX
export const XATTR_PAGE_HEADER = 8;           // u32 used, u32 reserved
export const NAME_PAGE_SIZE = 24 + NAME_MAX;  // target, parent, name_len, reserved, name
export const EXTENT_PAGES_MAX = 32;           // a run is checksummed and lost as one unit
export const EXTENT_COUNT_SHIFT = 16;

assert(TAIL_OFFSET >= FILE_IMAGE_SIZE && TAIL_OFFSET % 8 === 0, 'tail after the RFC image, 8-aligned');
assert(XATTR_INLINE_AT < PAGE_SIZE_MIN, 'tail fits the smallest page');
assert(NAME_PAGE_SIZE <= PAGE_SIZE_MIN, 'NAME page fits the smallest page');

export function xattrInlineMax(pageSize: number): number { return pageSize - XATTR_INLINE_AT; }

/** Flags word of an EXTENT entry: type 6, LRU as for DATA, run length in bits 16..31. */
export function extentFlags(count: number, lru: boolean): number {
  assert(count >= 2 && count <= EXTENT_PAGES_MAX, `extent run length ${count}`);
  return (EntryType.Extent | (lru ? 0x100 : 0) | (count << EXTENT_COUNT_SHIFT)) >>> 0;
}
export function entryPages(flags: number): number {
  return (flags & ENTRY_TYPE_MASK) === EntryType.Extent ? flags >>> EXTENT_COUNT_SHIFT : 1;
}

export interface MetaTail {
  ino: number; parent: number; uid: number; gid: number; rdev: number;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint;
  dataPages: number;   // DATA pages the node owns (extents counted in pages)
  nlink: number;       // names of the node: 1 in the page itself + NAME pages
  xattrPages: number;  // XATTR entries that follow the node's entry
  xattrBytes: number;  // length of the whole xattr blob
  xattrInline: Uint8Array | null; // the blob when it fits the tail
}

/** View of the tail of a META/NODE page (offsets relative to the page). */
export class MetaTailView {
  constructor(readonly buf: Buffer) {}
  get magic(): number { return this.buf.readUInt32LE(TAIL_OFFSET + 0); }
  get version(): number { return this.buf.readUInt16LE(TAIL_OFFSET + 4); }
  get fixedSize(): number { return this.buf.readUInt16LE(TAIL_OFFSET + 6); }
  get crc(): number { return this.buf.readUInt32LE(TAIL_OFFSET + TAIL_CRC_AT); }

  computeCrc(inlineBytes: number): number {
    const head = crc32c(this.buf.subarray(TAIL_OFFSET, TAIL_OFFSET + TAIL_CRC_AT));
    return crc32c(this.buf.subarray(XATTR_INLINE_AT, XATTR_INLINE_AT + inlineBytes), head);
  }

  write(t: MetaTail): void {
    const b = this.buf, o = TAIL_OFFSET;
    const inline = t.xattrInline?.length ?? 0;
    assert(inline <= xattrInlineMax(b.length), 'inline xattrs fit');
    b.fill(0, o, b.length);
    b.writeUInt32LE(TAIL_MAGIC, o + 0);            // magic
    b.writeUInt16LE(TAIL_VERSION, o + 4);          // version
    b.writeUInt16LE(TAIL_FIXED_SIZE, o + 6);       // fixed size
    b.writeBigUInt64LE(BigInt(t.ino), o + 8);
    b.writeBigUInt64LE(BigInt(t.parent), o + 16);
    b.writeUInt32LE(t.uid >>> 0, o + 24);
    b.writeUInt32LE(t.gid >>> 0, o + 28);
    b.writeBigUInt64LE(BigInt(t.rdev), o + 32);
    b.writeBigUInt64LE(BigInt.asUintN(64, t.atimeNs), o + 40);
    b.writeBigUInt64LE(BigInt.asUintN(64, t.mtimeNs), o + 48);
    b.writeBigUInt64LE(BigInt.asUintN(64, t.ctimeNs), o + 56);
    b.writeBigUInt64LE(BigInt(t.dataPages), o + 64);
    b.writeUInt32LE(t.nlink >>> 0, o + 72);
    b.writeUInt32LE(t.xattrPages >>> 0, o + 76);
    b.writeUInt32LE(t.xattrBytes >>> 0, o + 80);
    b.writeUInt32LE(inline, o + 84);
    b.writeUInt32LE(0, o + 88);                    // reserved
    if (t.xattrInline) b.set(t.xattrInline, XATTR_INLINE_AT);
    b.writeUInt32LE(this.computeCrc(inline), o + TAIL_CRC_AT);
  }
}

/**
 * Decode the tail of a META/NODE page. null: no tail (an RFC-written page, whose
 * tail bytes are whatever the page held before; only magic + crc tell a tail apart).
 */
export function decodeTail(page: Buffer): MetaTail | null | DecodeError {
  const view = new MetaTailView(page);
  if (view.magic !== TAIL_MAGIC) return null;
  return decoding(() => {
    const r = new ByteReader(page, TAIL_OFFSET + 4);
    const version = r.u16('tail.version');
    if (version !== TAIL_VERSION) throw new DecodeError('malformed', 'tail.version', TAIL_OFFSET + 4, `unknown version ${version}`);
    const fixed = r.u16('tail.fixed_size');
    if (fixed !== TAIL_FIXED_SIZE) throw new DecodeError('malformed', 'tail.fixed_size', TAIL_OFFSET + 6, `${fixed} != ${TAIL_FIXED_SIZE}`);
    const ino = r.u64('tail.ino'), parent = r.u64('tail.parent');
    const uid = r.u32('tail.uid'), gid = r.u32('tail.gid'), rdev = r.u64('tail.rdev');
    const atimeNs = r.u64big('tail.atime'), mtimeNs = r.u64big('tail.mtime'), ctimeNs = r.u64big('tail.ctime');
    const dataPages = r.u64('tail.data_pages');
    const nlink = r.u32('tail.nlink'), xattrPages = r.u32('tail.xattr_pages');
    const xattrBytes = r.u32('tail.xattr_bytes'), inline = r.u32('tail.xattr_inline');
    r.u32('tail.reserved');
    const at = r.offset;
    const crc = r.u32('tail.crc');
    if (inline > xattrInlineMax(page.length)) throw new DecodeError('malformed', 'tail.xattr_inline', TAIL_OFFSET + 84, `${inline} > ${xattrInlineMax(page.length)}`);
    if (inline !== 0 && inline !== xattrBytes) throw new DecodeError('malformed', 'tail.xattr_inline', TAIL_OFFSET + 84, `${inline} != xattr_bytes ${xattrBytes}`);
    const computed = view.computeCrc(inline);
    if (crc !== computed) throw new DecodeError('malformed', 'tail.crc', at, `saved 0x${hex(crc)} computed 0x${hex(computed)}`);
    if (ino === 0) throw new DecodeError('malformed', 'tail.ino', TAIL_OFFSET + 8, 'ino 0');
    const xattrInline = inline > 0 ? r.bytes(inline, 'tail.xattr') : null;
    return { ino, parent, uid, gid, rdev, atimeNs, mtimeNs, ctimeNs, dataPages, nlink, xattrPages, xattrBytes, xattrInline };
  });
}

/**
 * The common case of decodeTail without reader objects: no tail (null), a
 * valid tail, or undefined when anything is off — then decodeTail says what.
 */
export function decodeTailFast(page: Buffer): MetaTail | null | undefined {
  const o = TAIL_OFFSET;
  if (page.readUInt32LE(o) !== TAIL_MAGIC) return null;
  if (page.readUInt16LE(o + 4) !== TAIL_VERSION || page.readUInt16LE(o + 6) !== TAIL_FIXED_SIZE) return undefined;
  const u64 = (at: number) => { const hi = page.readUInt32LE(at + 4); return hi < 0x200000 ? page.readUInt32LE(at) + hi * 4294967296 : -1; };
  const ino = u64(o + 8), parent = u64(o + 16), rdev = u64(o + 32), dataPages = u64(o + 64);
  const xattrBytes = page.readUInt32LE(o + 80), inline = page.readUInt32LE(o + 84);
  if (ino <= 0 || parent < 0 || rdev < 0 || dataPages < 0) return undefined;
  if (inline > xattrInlineMax(page.length) || (inline !== 0 && inline !== xattrBytes)) return undefined;
  const head = crc32c(page.subarray(o, o + TAIL_CRC_AT));
  const crc = inline === 0 ? head : crc32c(page.subarray(XATTR_INLINE_AT, XATTR_INLINE_AT + inline), head);
  if (crc !== page.readUInt32LE(o + TAIL_CRC_AT)) return undefined;
  return {
    ino, parent, uid: page.readUInt32LE(o + 24), gid: page.readUInt32LE(o + 28), rdev,
    atimeNs: page.readBigUInt64LE(o + 40), mtimeNs: page.readBigUInt64LE(o + 48), ctimeNs: page.readBigUInt64LE(o + 56),
    dataPages, nlink: page.readUInt32LE(o + 72), xattrPages: page.readUInt32LE(o + 76), xattrBytes,
    xattrInline: inline > 0 ? page.subarray(XATTR_INLINE_AT, XATTR_INLINE_AT + inline) : null,
  };
}

function hex(v: number): string { return v.toString(16).padStart(8, '0'); }

// ---- xattr blob: records { u8 name_len, u8 0, u16 0, u32 value_len, name, value } ----

export function encodeXattrs(xattrs: readonly [string, Uint8Array][]): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of xattrs) {
    const n = Buffer.from(name, 'utf8');
    assert(n.length >= 1 && n.length <= XATTR_NAME_MAX && value.length <= XATTR_VALUE_MAX, 'xattr bounds');
    const h = Buffer.alloc(8);
    h.writeUInt8(n.length, 0);
    h.writeUInt32LE(value.length, 4);
    parts.push(h, n, Buffer.from(value.buffer, value.byteOffset, value.length));
  }
  return Buffer.concat(parts);
}

export function decodeXattrs(blob: Uint8Array): [string, Uint8Array][] | DecodeError {
  return decoding(() => {
    const r = new ByteReader(blob);
    const out: [string, Uint8Array][] = [];
    while (r.remaining > 0) {
      const at = r.offset;
      const nameLen = r.u8('xattr.name_len');
      r.skip(3, 'xattr.reserved');
      const valueLen = r.u32('xattr.value_len');
      if (nameLen === 0) throw new DecodeError('malformed', 'xattr.name_len', at, 'empty name');
      if (valueLen > XATTR_VALUE_MAX) throw new DecodeError('malformed', 'xattr.value_len', at + 4, `${valueLen} > ${XATTR_VALUE_MAX}`);
      const name = r.bytes(nameLen, 'xattr.name');
      if (name.includes(0)) throw new DecodeError('malformed', 'xattr.name', at + 8, 'name holds NUL');
      out.push([Buffer.from(name).toString('utf8'), Uint8Array.from(r.bytes(valueLen, 'xattr.value'))]);
    }
    return out;
  });
}

// ---- NAME page: an extra hard link { u64 target ino, u64 parent ino, u32 name_len, u32 0, name[255] } ----

export interface ExtraName { target: number; parent: number; name: string }

export function writeNamePage(page: Buffer, n: ExtraName): void {
  const raw = Buffer.from(n.name, 'utf8');
  assert(raw.length >= 1 && raw.length <= NAME_MAX, 'NAME page name fits');
  page.fill(0);
  page.writeBigUInt64LE(BigInt(n.target), 0);   // target ino
  page.writeBigUInt64LE(BigInt(n.parent), 8);   // parent directory ino
  page.writeUInt32LE(raw.length, 16);           // name_len
  raw.copy(page, 24);                           // name (reserved u32 @20 stays 0)
}

export function decodeNamePage(page: Buffer): ExtraName | DecodeError {
  return decoding(() => {
    const r = new ByteReader(page);
    const target = r.u64('name.target'), parent = r.u64('name.parent');
    const len = r.u32('name.name_len');
    r.u32('name.reserved');
    if (target === 0 || parent === 0) throw new DecodeError('malformed', 'name.target', 0, 'ino 0');
    return { target, parent, name: r.name(len, NAME_MAX, 'name.name') };
  });
}

// ---- XATTR page: { u32 used, u32 0, blob slice } ----

export function xattrPagePayload(pageSize: number): number { return pageSize - XATTR_PAGE_HEADER; }

export function decodeXattrPage(page: Buffer): Uint8Array | DecodeError {
  return decoding(() => {
    const r = new ByteReader(page);
    const used = r.u32('xattr_page.used');
    r.u32('xattr_page.reserved');
    if (used > xattrPagePayload(page.length)) throw new DecodeError('malformed', 'xattr_page.used', 0, `${used} > ${xattrPagePayload(page.length)}`);
    return r.bytes(used, 'xattr_page.bytes');
  });
}

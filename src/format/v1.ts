// Version 1 of the on-memory format: exactly the RFC's layout (see
// docs/FORMAT.md §v1). Entry, link page and file image (META) page as views
// over a Buffer, fields in wire order, padding named. Little-endian; the page
// size is a parameter. Decoding untrusted pages lives in decode.ts; this file
// only names the bytes.

import { assert } from './assert.js';
import { crc32c, crc32le } from './crc.js';

export const PRAM_MAGIC = 0x7072616d;          // link page magic ('pram' as a u32)
export const ENTRY_SIZE = 24;                  // u32 flags, u32 csum, u64 pfn, u64 index
export const LINK_HEADER_SIZE = 24;            // magic, csum, len, pad, link_pfn
export const LINK_CSUM_FROM = 8;               // link csum covers bytes 8 .. pageSize-1
export const NAME_MAX = 255;
export const FILE_IMAGE_SIZE = 16 + NAME_MAX;  // 271: size, mode, name_len, name[255]
export const PAGE_SIZE_MIN = 1024;

export const enum EntryType { Meta = 1, Data = 2, Node = 3, Name = 4, Xattr = 5, Extent = 6 }
export const ENTRY_TYPE_MASK = 0xff;
export const ENTRY_LRU = 0x100;               // page was in the page cache (cleared for copies)

/** Entries per link page: (pageSize - 24) / 24; 169 for 4 KiB pages. */
export function linkLenMax(pageSize: number): number {
  return Math.floor((pageSize - LINK_HEADER_SIZE) / ENTRY_SIZE);
}

// Size relationships, checked once at module load (a wrong constant is a bug).
assert(LINK_HEADER_SIZE + linkLenMax(PAGE_SIZE_MIN) * ENTRY_SIZE <= PAGE_SIZE_MIN, 'link page fits');
assert(linkLenMax(4096) === 169, 'RFC: 169 entries per 4 KiB link page');
assert(FILE_IMAGE_SIZE === 271, 'RFC file image is 271 bytes');

/**
 * u64 reads as numbers without a BigInt (hot: two per entry): exact below 2^53;
 * above that the value is only ever used to reject it (it exceeds any page count).
 */
export function getU64(buf: Buffer, off: number): number {
  return buf.readUInt32LE(off) + buf.readUInt32LE(off + 4) * 4294967296;
}
function setU64(buf: Buffer, off: number, v: number): void {
  assert(Number.isSafeInteger(v) && v >= 0, `u64 field value ${v}`);
  buf.writeUInt32LE(v >>> 0, off);
  buf.writeUInt32LE(Math.floor(v / 4294967296), off + 4);
}

/** One 24-byte entry inside a link page. */
export class EntryView {
  constructor(readonly buf: Buffer, readonly off: number) {}
  get flags(): number { return this.buf.readUInt32LE(this.off + 0); }
  set flags(v: number) { this.buf.writeUInt32LE(v >>> 0, this.off + 0); }
  get csum(): number { return this.buf.readUInt32LE(this.off + 4); }
  set csum(v: number) { this.buf.writeUInt32LE(v >>> 0, this.off + 4); }
  get pfn(): number { return getU64(this.buf, this.off + 8); }
  set pfn(v: number) { setU64(this.buf, this.off + 8, v); }
  get pfnBig(): bigint { return this.buf.readBigUInt64LE(this.off + 8); }
  get index(): number { return getU64(this.buf, this.off + 16); }
  set index(v: number) { setU64(this.buf, this.off + 16, v); }
  get indexBig(): bigint { return this.buf.readBigUInt64LE(this.off + 16); }
  get type(): number { return this.flags & ENTRY_TYPE_MASK; }
}

/** A link page: header then up to linkLenMax entries. */
export class LinkPageView {
  constructor(readonly buf: Buffer) {
    assert(buf.length >= PAGE_SIZE_MIN, 'link page view over a whole page');
  }
  get magic(): number { return this.buf.readUInt32LE(0); }
  set magic(v: number) { this.buf.writeUInt32LE(v >>> 0, 0); }
  get csum(): number { return this.buf.readUInt32LE(4); }
  set csum(v: number) { this.buf.writeUInt32LE(v >>> 0, 4); }
  get len(): number { return this.buf.readUInt32LE(8); }
  set len(v: number) { this.buf.writeUInt32LE(v >>> 0, 8); }
  /** v1: padding. v2: low 32 bits of the pfn of the link page after next (skip pointer), 0 if none. */
  get pad(): number { return this.buf.readUInt32LE(12); }
  set pad(v: number) { this.buf.writeUInt32LE(v >>> 0, 12); }
  get linkPfn(): number { return getU64(this.buf, 16); }
  set linkPfn(v: number) { setU64(this.buf, 16, v); }
  get linkPfnBig(): bigint { return this.buf.readBigUInt64LE(16); }
  entry(i: number): EntryView { return new EntryView(this.buf, LINK_HEADER_SIZE + i * ENTRY_SIZE); }
  get lenMax(): number { return linkLenMax(this.buf.length); }

  computeCsum(): number { return crc32le(this.buf.subarray(LINK_CSUM_FROM)); }
  /** Write magic and csum last: the page is complete. */
  seal(): void {
    this.magic = PRAM_MAGIC;
    this.csum = this.computeCsum();
  }
  verify(): boolean { return this.magic === PRAM_MAGIC && this.csum === this.computeCsum(); }
}

/** File image (META) page: the RFC's struct pram_file_image at offset 0. */
export class FileImageView {
  constructor(readonly buf: Buffer) {}
  get size(): number { return getU64(this.buf, 0); }
  set size(v: number) { setU64(this.buf, 0, v); }
  get mode(): number { return this.buf.readUInt32LE(8); }
  set mode(v: number) { this.buf.writeUInt32LE(v >>> 0, 8); }
  get nameLen(): number { return this.buf.readUInt32LE(12); }
  set nameLen(v: number) { this.buf.writeUInt32LE(v >>> 0, 12); }
  get nameBytes(): Buffer { return this.buf.subarray(16, 16 + Math.min(this.nameLen, NAME_MAX)); }
  setName(name: string): void {
    const raw = Buffer.from(name, 'utf8');
    assert(raw.length <= NAME_MAX, 'name fits NAME_MAX');
    this.buf.fill(0, 16, 16 + NAME_MAX);
    raw.copy(this.buf, 16);
    this.nameLen = raw.length;
  }
}

/** Data/meta page checksum: crc32c of the whole page (or run of pages, for extents). */
export function pageCsum(page: Uint8Array): number {
  return crc32c(page);
}

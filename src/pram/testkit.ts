// Test support for the engine's tests (not a test itself): boot a SimRam like
// the machine does (pfn 0 reserved, optional early reservations), save files,
// read them back. Randomness from a seeded local generator (pram/ may not
// import machine/).

import { SimRam } from '../mem/simram.js';
import type { PhysMem } from '../mem/physmem.js';
import { crc32c, crc32le } from '../format/crc.js';
import { BannedRegions } from '../boot/banned.js';
import { Memblock } from '../boot/memblock.js';
import { PageAllocator } from '../boot/allocator.js';
import { Owner, PageFrames } from '../boot/frames.js';
import { Pram } from './pram.js';
import { MemoryHandoff, type Handoff } from './handoff.js';
import { SimplePageMap } from './pagemap.js';
import type { LoadedImage, NodeImage } from './image.js';
import type { ReserveResult } from './types.js';

export const PS = 4096;

export class Rand {
  private s: bigint;
  constructor(seed: number) { this.s = BigInt(seed) & 0xffffffffffffffffn; }
  next(): number {
    this.s = (this.s + 0x9e3779b97f4a7c15n) & 0xffffffffffffffffn;
    let z = this.s;
    z = ((z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n) & 0xffffffffffffffffn;
    z = ((z ^ (z >> 27n)) * 0x94d049bb133111ebn) & 0xffffffffffffffffn;
    return Number((z ^ (z >> 31n)) & 0xffffffffn);
  }
  below(n: number): number { return this.next() % n; }
  bytes(n: number): Buffer {
    const b = Buffer.alloc(n);
    for (let i = 0; i < n; i += 4) { const v = this.next(); for (let k = 0; k < 4 && i + k < n; k++) b[i + k] = (v >>> (8 * k)) & 0xff; }
    return b;
  }
}

export interface Booted {
  pram: Pram; image: LoadedImage; log: string[]; reserved: ReserveResult;
  frames: PageFrames; allocator: PageAllocator; memblock: Memblock; banned: BannedRegions;
}

export interface BootOpts {
  readOnly?: boolean;
  salvage?: boolean; verify?: 'full' | 'lazy'; extents?: boolean;
  early?: [start: number, count: number][];   // early-boot allocations of this boot
  banned?: [start: number, end: number][];    // pram_banned=
}

export function newRam(pages = 512): SimRam { return new SimRam({ pageSize: PS, pageCount: pages }); }

/** One boot: reserve pfn 0 and early allocations, walk the chain, hand the rest to the allocator, load. */
export function boot(mem: SimRam, handoff: Handoff, o: BootOpts = {}): Booted {
  const frames = PageFrames.forMem(mem);
  const banned = new BannedRegions();
  for (const [s, e] of o.banned ?? []) banned.add(s, e);
  const memblock = new Memblock(frames, banned);
  memblock.reserve(0, 1, Owner.Kernel, 'zero page');
  for (const [s, c] of o.early ?? []) memblock.reserve(s, c, Owner.Reserved, 'early');
  const log: string[] = [];
  const reserved = Pram.reserve(mem, memblock, handoff.read()?.headPfn ?? 0, (l) => log.push(l), { salvage: o.salvage });
  const allocator = PageAllocator.fromMemblock(memblock);
  // The v2 chain engine (the v3 log's tests are fs/live.test.ts and fs/damage.test.ts).
  const pram = new Pram(mem, frames, allocator, banned, handoff, { extents: o.extents, log: (l) => log.push(l), live: false });
  const image = pram.load(reserved, { verify: o.verify ?? 'full', readOnly: o.readOnly });
  return { pram, image, log, reserved, frames, allocator, memblock, banned };
}

export function node(ino: number, mode: number, names: NodeImage['names'], extra: Partial<NodeImage> = {}): NodeImage {
  return { ino, mode, uid: 1000, gid: 100, rdev: 0, size: 0, atimeNs: 11n, mtimeNs: 22n, ctimeNs: 33n,
    names, xattrs: [], pages: new SimplePageMap(), ...extra };
}

export const root = (): NodeImage => node(1, 0o40755, []);

/** A regular file in `parent` whose content is written into fresh pages (holes where `holes` says). */
export function file(pram: Pram, mem: SimRam, ino: number, name: string, content: Buffer, parent = 1, holes: number[] = []): NodeImage {
  const n = node(ino, 0o100644, [{ parent, name }], { size: content.length });
  for (let i = 0; i * PS < content.length; i++) {
    if (holes.includes(i)) continue;
    const pfn = pram.allocData();
    if (pfn < 0) throw new Error(`allocData ${pfn}`);
    const page = mem.page(pfn);
    page.fill(0);
    content.copy(page, 0, i * PS, Math.min(content.length, (i + 1) * PS));
    n.pages.set(i, pfn);
  }
  return n;
}

/** The bytes of a loaded node (holes read as zeros); -EIO pages throw. */
export function contentOf(pram: Pram, mem: SimRam, n: NodeImage): Buffer {
  const out = Buffer.alloc(n.size);
  for (const [i, pfn] of n.pages.entries()) {
    const r = pram.readable(pfn);
    if (r < 0) throw new Error(`EIO at page ${i}`);
    mem.page(pfn).copy(out, i * PS, 0, Math.min(PS, n.size - i * PS));
  }
  return out;
}

export function byName(img: LoadedImage, name: string): NodeImage {
  const n = img.nodes.find((x) => x.names.some((m) => m.name === name));
  if (!n) throw new Error(`no node named ${name}`);
  return n;
}

export { MemoryHandoff };

/** A file as the RFC loader restores it: its size and the pages its DATA entries name (holes absent). */
export interface RfcFile { size: number; pages: Map<number, Buffer> }

/**
 * An independent reader with exactly the RFC loader's rules (pram_load_tree):
 * META and DATA entries only, each page checked; it stops at the first unknown
 * type or bad checksum and says so. Pages are copied out; a file is never
 * materialised whole, so sizes past a Buffer's limit read too.
 */
export function rfcRead(mem: PhysMem, head: number): Map<string, RfcFile> | string {
  const ps = mem.pageSize;
  const files = new Map<string, RfcFile>();
  let cur: RfcFile | null = null;
  for (let pfn = head; pfn !== 0;) {
    const page = mem.page(pfn);
    if (page.readUInt32LE(0) !== 0x7072616d || page.readUInt32LE(4) !== crc32le(page.subarray(8))) return `corrupted link ${pfn}`;
    const len = page.readUInt32LE(8);
    for (let i = 0; i < len; i++) {
      const at = 24 + i * 24;
      const flags = page.readUInt32LE(at), csum = page.readUInt32LE(at + 4);
      const epfn = Number(page.readBigUInt64LE(at + 8)), index = Number(page.readBigUInt64LE(at + 16));
      const p = mem.page(epfn);
      if (crc32c(p) !== csum) return `corrupted ${epfn}`;
      if ((flags & 0xff) === 1) {
        const mode = p.readUInt32LE(8), nameLen = p.readUInt32LE(12);
        if ((mode & 0o170000) !== 0o100000 || nameLen > 255) return 'EINVAL meta';
        cur = { size: Number(p.readBigUInt64LE(0)), pages: new Map() };
        files.set(p.toString('utf8', 16, 16 + nameLen), cur);
      } else if ((flags & 0xff) === 2 && cur) cur.pages.set(index, Buffer.from(p.subarray(0, Math.max(0, Math.min(ps, cur.size - index * ps)))));
      else return `EINVAL type ${flags & 0xff}`;
    }
    pfn = Number(page.readBigUInt64LE(16));
  }
  return files;
}

/** rfcRead with every file materialised (holes as zeros). */
export function rfcLoad(mem: PhysMem, head: number): Map<string, Buffer> | string {
  const read = rfcRead(mem, head);
  if (typeof read === 'string') return read;
  const out = new Map<string, Buffer>();
  for (const [name, f] of read) {
    const data = Buffer.alloc(f.size);
    for (const [index, page] of f.pages) page.copy(data, index * mem.pageSize);
    out.set(name, data);
  }
  return out;
}

// A file's bytes shown without a copy of Volume's own: views over its pages
// (pinned for as long as a caller holds them, or valid until the next write),
// and the same range copied whole through the arena's fd. Each answers the
// whole range clipped at EOF or -errno: -EIO when it stops at a damaged page,
// never a short count (FUSE would take one for EOF).
import { EIO } from '../format/errno.js';
import type { PageCache } from './file.js';
import type { Inode } from './inode.js';
import type { VolumeEngine } from './parts.js';
import type { InodeTable } from './table.js';

/** Views over a file's pages (Volume.view): pinned until release(), which is idempotent. */
export interface PageViews { readonly buffers: Buffer[]; readonly bytes: number; release(): void }

/** Views of the whole range, one per physically contiguous run (holes as zeroed buffers); `shown` hears each run of pages. */
export function wholeViews(t: InodeTable, pc: PageCache, node: Inode, offset: number, length: number,
  shown?: (pfn: number, count: number) => void): Buffer[] | number {
  const out: Buffer[] = [];
  const r = node.ops.view(pc, node, offset, length, out, shown);
  if (r < 0) return r;
  if (r < Math.min(length, node.size - offset)) return -EIO;
  t.accessed(node);
  return out;
}

/** wholeViews' pages pinned in the engine until release(); `alive` says whether the engine is still there to unpin. */
export function pinnedViews(t: InodeTable, pc: PageCache, engine: VolumeEngine, node: Inode, offset: number, length: number,
  alive: () => boolean): PageViews | number {
  const pinned: number[] = [];
  const buffers = wholeViews(t, pc, node, offset, length, (pfn, count) => { engine.pin(pfn, count); pinned.push(pfn, count); });
  const unpin = () => { for (let i = 0; i < pinned.length; i += 2) engine.unpin(pinned[i]!, pinned[i + 1]!); };
  if (typeof buffers === 'number') { unpin(); return buffers; }
  let live = true;
  let bytes = 0;
  for (const b of buffers) bytes += b.length;
  return {
    buffers, bytes,
    release: () => {
      if (!live) return;
      live = false;
      if (alive()) unpin();   // else the engine and its memory are gone
    },
  };
}

/** The bytes wholeViews would show, copied into target (through the arena's fd: no page of the mapping touched). */
export function copyWhole(t: InodeTable, pc: PageCache, node: Inode, offset: number, length: number, target: Uint8Array): number {
  const r = node.ops.readInto(pc, node, offset, target, 0, length);
  if (r < 0) return r;
  if (r < Math.min(length, node.size - offset)) return -EIO;
  t.accessed(node);
  return r;
}

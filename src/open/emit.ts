// A pure v1 chain (the RFC's format: link pages, META and DATA entries only)
// of an arena's current image, for an RFC-style loader: `pram save --format v1`
// and `pram kexec --format v1`. The image comes through the volume
// (openVolume -> images()), so whatever the arena holds (a v2 chain, a log)
// can be emitted; the chain writer is pram/save.ts's. The chain goes into free
// pages of the arena; the arena's own checkpoint stays current and untouched,
// and the new chain shares its data pages, so it is valid until the arena is
// next written. An image v1 cannot express, or a damaged one, is refused with
// the first path and why.
import { assert } from '../format/assert.js';
import { EBUSY, EIO, ENOSPC, EOPNOTSUPP } from '../format/errno.js';
import type { NodeImage } from '../pram/image.js';
import { rfcObstacle, writeV1Chain } from '../pram/save.js';
import { errnoError } from './errors.js';
import { openVolume } from './volume.js';

export interface EmittedV1 {
  arena: string;
  /** First link page: the RFC's pram= (0: the image holds no file, an empty chain). */
  headPfn: number;
  /** The arena's own checkpoint, unchanged. */
  generation: number;
  files: number;
  entries: number;
  linkPages: number;
  metaPages: number;
  /** Data pages of the image the chain names (shared, not copied). */
  dataPages: number;
  /** Data pages in banned regions, copied for the chain. */
  copies: number;
}

export interface EmitOptions {
  arena: string;
  /** Boot parameters (pram_banned=: data there is copied); default PRAM_CMDLINE, then /proc/cmdline. */
  cmdline?: string;
  warn?: (line: string) => void;
}

/** Path of a node in an image (its first name), '/' for the root. */
export function imagePath(byIno: ReadonlyMap<number, NodeImage>, node: NodeImage): string {
  const parts: string[] = [];
  for (let n: NodeImage | undefined = node, hops = 0; n && n.ino !== 1 && hops <= byIno.size; hops++) {
    const name = n.names[0];
    if (!name) break;
    parts.unshift(name.name);
    n = byIno.get(name.parent);
  }
  return '/' + parts.join('/');
}

/** Writes the v1 chain and says where it starts; throws a Node-style error naming the arena (and the path in the way). */
export function emitV1(opts: EmitOptions): EmittedV1 {
  const { arena } = opts;
  let opened: ReturnType<typeof openVolume>;
  try {
    opened = openVolume({ arena, cmdline: opts.cmdline, verify: 'full', readOnly: true, warn: opts.warn });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EBUSY') throw e;
    throw errnoError(-EBUSY, 'save', arena, undefined, `arena ${arena} is mounted (its lock is held): run \`pram umount DIR\` first, so the image is final`);
  }
  const { volume } = opened;
  try {
    const pram = volume.pram;
    assert(pram !== undefined, 'a mounted arena has its engine');
    const loss = volume.losses[0];
    if (loss) {
      throw errnoError(-EIO, 'save', arena, undefined, `the image of ${arena} is damaged (${loss.path ?? 'no path'}: ${loss.what}); ` +
        'an RFC loader stops at the first bad page: run `pram check`, then rewrite or remove what it names');
    }
    const nodes = volume.images();
    const obstacle = rfcObstacle(nodes, volume.mem.pageSize);
    if (obstacle) {
      const path = imagePath(new Map(nodes.map((n) => [n.ino, n])), obstacle.node);
      throw errnoError(-EOPNOTSUPP, 'save', arena, undefined, `v1 cannot hold ${path}: ${obstacle.why}`);
    }
    const saved = writeV1Chain(nodes, {
      mem: pram.mem, frames: pram.frames, allocator: pram.allocator, banned: pram.banned,
      verify: (pfn) => { pram.readable(pfn); },
    });
    pram.allocator.releaseHeld();
    if (typeof saved === 'number') {
      throw errnoError(-ENOSPC, 'save', arena, undefined, `no room in ${arena} for a v1 chain of ${nodes.length - 1} files (${pram.allocator.freeCount} free pages)`);
    }
    volume.mem.sync();
    return {
      arena, headPfn: saved.headPfn, generation: pram.stats().generation, files: saved.nodes, entries: saved.entries,
      linkPages: saved.links.length, metaPages: saved.metaPages.length, dataPages: saved.dataPfns.length, copies: saved.copies.length,
    };
  } finally {
    volume.detach();
  }
}

// Where a map's input comes from: a mounted Volume (its engine's page frames,
// banned regions, and the inodes' page maps for pfn -> path), or one boot of
// the simulated machine (the same, plus the kernel's early reservations and
// the kexec range). Read-only: nothing here changes the volume or the machine.
import { Owner } from '../../boot/frames.js';
import type { Volume } from '../../fs/volume.js';
import type { Machine } from '../../machine/machine.js';
import type { NodeImage } from '../../pram/image.js';
import type { MapInput, MapRegion } from './model.js';

const DEPTH_MAX = 4096; // a path deeper than this is a cycle in a damaged image, not a tree

/** Absolute paths of the nodes, from their (parent, name) links; the first name of a hard-linked node. */
export function pathsOf(nodes: readonly NodeImage[]): Map<number, string> {
  const byIno = new Map(nodes.map((n) => [n.ino, n]));
  const memo = new Map<number, string>([[1, '/']]);
  const pathOf = (ino: number): string => {
    const chain: { ino: number; name: string }[] = [];
    let cur = ino;
    while (!memo.has(cur) && chain.length < DEPTH_MAX) {
      const name = byIno.get(cur)?.names[0];
      if (!name) { memo.set(cur, `?ino${cur}`); break; }
      chain.push({ ino: cur, name: name.name });
      cur = name.parent;
    }
    let base = memo.get(cur) ?? `?ino${cur}`;
    for (let i = chain.length - 1; i >= 0; i--) {
      base = base === '/' ? `/${chain[i]!.name}` : `${base}/${chain[i]!.name}`;
      memo.set(chain[i]!.ino, base);
    }
    return memo.get(ino) ?? base;
  };
  return new Map(nodes.map((n) => [n.ino, pathOf(n.ino)]));
}

/** pfn -> index into paths, for every page a node's page map names. */
export function filesOf(nodes: readonly NodeImage[], pageCount: number): { paths: string[]; fileOf: Int32Array } {
  const fileOf = new Int32Array(pageCount).fill(-1);
  const paths: string[] = [];
  const pathByIno = pathsOf(nodes);
  for (const n of nodes) {
    if (n.pages.count === 0) continue;
    const id = paths.length;
    paths.push(pathByIno.get(n.ino)!);
    for (const [, pfn] of n.pages.entries()) if (pfn >= 0 && pfn < pageCount) fileOf[pfn] = id;
  }
  return { paths, fileOf };
}

/** The map of a mounted volume's memory (an arena): owners, banned regions, files. */
export function volumeMapInput(vol: Volume, title?: string): MapInput {
  const pram = vol.pram;
  if (!pram) throw new Error('map: this volume was built without its engine (no page frames to draw)');
  const { pageSize, pageCount } = vol.mem;
  return {
    title, pageSize, pageCount, owners: pram.frames.owner,
    files: filesOf(vol.images(), pageCount),
    banned: vol.banned?.regions() ?? [],
  };
}

/** Early reservations get names people know; the many early allocations share one. */
function reservationName(what: string): string {
  if (/kernel image|initrd|low memory|pfn 0|purgatory|boot params/.test(what)) return what;
  if (/inject/.test(what)) return 'injected reservation';
  return 'early allocations';
}

/**
 * The map of the simulated machine's current boot: the kernel's frames (with
 * the pram chain and data once a volume is mounted on it), its memblock
 * reservations by name, banned regions, and as outlines the kexec target range
 * and the segments the last kexec wrote. `vol` (mounted on this boot, or just
 * unmounted) names the files.
 */
export function bootMapInput(machine: Machine, vol: Volume | null, opts: { kexecRange?: { startBytes: number; endBytes: number } } = {}): MapInput {
  const k = machine.kernel;
  const { pageSize, pageCount } = machine.ram;
  const reservations: MapRegion[] = k.memblock.reservations()
    .filter((r) => r.owner === Owner.Reserved)
    .map((r) => ({ what: reservationName(r.what), start: r.start, pages: r.count }));
  const marks: MapRegion[] = [];
  if (opts.kexecRange) {
    const start = Math.floor(opts.kexecRange.startBytes / pageSize);
    const end = Math.min(pageCount, Math.ceil(opts.kexecRange.endBytes / pageSize));
    if (end > start) marks.push({ what: 'kexec target range', start, pages: end - start });
  }
  for (const s of machine.lastOverwrite) marks.push({ what: 'written by the last kexec', start: s.start, pages: s.pages });
  return {
    title: `simulated machine, boot ${machine.boots} (seed ${machine.options.seed})`,
    pageSize, pageCount, owners: k.frames.owner,
    files: vol ? filesOf(vol.images(), pageCount) : undefined,
    reservations, banned: k.banned.regions(), marks,
  };
}

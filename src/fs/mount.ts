// Mounting boots the memory like a tiny kernel, with the same boot/ and pram/
// code the simulated machine runs: page frames (holes marked), the banned set,
// memblock (pfn 0 reserved: the arena header, never a data page), the boot
// parameters, the reservation of the saved chain, the allocator for everything
// else, then the engine's load. The volume is built from the loaded nodes.
// Opening the arena (and its header checks) is the caller's job (api/, cli/).
// A machine that boots itself (machine/) passes `booted` instead: its early boot
// already reserved the chain and built the allocator, so the mount only loads.
import { PageAllocator } from '../boot/allocator.js';
import { BannedRegions, bannedCapacity } from '../boot/banned.js';
import { Owner, PageFrames } from '../boot/frames.js';
import { Memblock } from '../boot/memblock.js';
import { parseBootParams } from '../boot/params.js';
import { EINVAL, EIO, errnoName } from '../format/errno.js';
import type { PhysMem } from '../mem/physmem.js';
import { SimRam } from '../mem/simram.js';
import { ArenaHeaderHandoff, type Handoff } from '../pram/handoff.js';
import { Pram } from '../pram/pram.js';
import type { ReserveResult } from '../pram/types.js';
import { RadixPageMap } from './pagemap.js';
import { Volume } from './volume.js';

export interface VolumeOptions {
  mem: PhysMem;                      // Arena or SimRam
  handoff: Handoff;                  // where the chain head is published
  cmdline?: string;                  // boot parameters: pram=, pram_banned=
  verify?: 'full' | 'lazy';
  extents?: boolean;
  clock?: () => bigint;              // ns since epoch; injected
  log?: (line: string) => void;
  owner?: { uid: number; gid: number };
  /** The machine's own early boot (kernel image, initrd...) already reserved here; default: a fresh one. */
  memblock?: Memblock;
  /**
   * Arena semantics (default: true for an ArenaHeaderHandoff): keep what verifies
   * (salvage), and refuse to mount — rather than start empty and later overwrite
   * the saved image — when pram= points outside memory or the chain cannot be reserved.
   */
  strict?: boolean;
  /** Leave the memory open at unmount (the simulated machine reboots on the same RAM). */
  keepMemOpen?: boolean;
  /**
   * The simulated machine's early boot, already done (RFC order: the chain was
   * reserved in setup_arch, before the allocator and the kernel's own
   * allocations). The mount then loads `reserved` with this allocator and skips
   * its own boot: cmdline, memblock and strict are not used. Frames and banned
   * regions are memblock's.
   */
  booted?: { memblock: Memblock; allocator: PageAllocator; reserved: ReserveResult };
}

/** A mount that cannot go on; `errno` is negative, the message names the cause. */
export class MountError extends Error {
  override name = 'MountError';
  readonly code: string;
  constructor(readonly errno: number, message: string) {
    super(message);
    this.code = errnoName(errno);
  }
}

/** A deterministic default clock: a counter (api/ and the machine inject real ones). */
function counterClock(): () => bigint {
  let t = 0n;
  return () => (t += 1000n);
}

/**
 * Page frames with the holes marked. Only simulated RAM has holes (PhysMem's
 * contract), listed as ranges: no per-pfn present() scan of a big arena.
 */
function framesFor(mem: PhysMem): PageFrames {
  const frames = new PageFrames(mem.pageCount);
  if (mem instanceof SimRam) for (const h of mem.holes) frames.owner.fill(Owner.Hole, h.start, h.end + 1);
  return frames;
}

export function mountVolume(opts: VolumeOptions): Volume {
  const { mem, handoff } = opts;
  const log = opts.log ?? (() => {});
  if (opts.booted) return loadBooted(opts, opts.booted, log);
  const arena = handoff instanceof ArenaHeaderHandoff;
  const strict = opts.strict ?? arena;
  const memblock = opts.memblock ?? new Memblock(framesFor(mem), new BannedRegions(bannedCapacity(), log));
  const { frames, banned } = memblock;
  // pfn 0 is never a data page: it holds the arena header (the sim keeps it too, so images agree).
  if (frames.owner[0] === Owner.None) memblock.reserve(0, 1, arena ? Owner.Header : Owner.Reserved, arena ? 'arena header' : 'pfn 0');

  const params = parseBootParams(opts.cmdline ?? '', mem.pageSize, log);
  for (const r of params.banned) banned.add(r.start, Math.min(r.end, mem.pageCount - 1));
  // Damaged header slots: reported as losses, or the mount refused when no valid slot is left
  // (an explicit pram= names the chain itself and is the way to mount one anyway).
  const slots = arena ? handoff.slotDamage() : { losses: [], refusal: null };
  if (slots.refusal && params.pramPfn === null) throw new MountError(-EIO, slots.refusal);
  const saved = handoff.read();
  const headPfn = params.pramPfn ?? saved?.headPfn ?? 0;
  const secondPfn = headPfn === saved?.headPfn ? saved.secondPfn : undefined;
  if (strict && headPfn >= mem.pageCount) {
    throw new MountError(-EINVAL, `pram=0x${headPfn.toString(16)} is beyond the memory (${mem.pageCount} pages, last pfn 0x${(mem.pageCount - 1).toString(16)})`);
  }

  const reserved = Pram.reserve(mem, memblock, headPfn, log, { salvage: strict, firstPfn: 1, secondPfn });
  if (strict && reserved.error < 0 && headPfn !== 0) {
    const why = reserved.losses.map((l) => l.what).join('; ');
    throw new MountError(reserved.error, `the saved image at pfn 0x${headPfn.toString(16)} cannot be reserved: ${why || errnoName(reserved.error)}`);
  }
  const allocator = PageAllocator.fromMemblock(memblock);
  const pram = new Pram(mem, frames, allocator, banned, handoff, {
    extents: opts.extents, log, newPageMap: () => new RadixPageMap(),
  });
  const loaded = pram.load(reserved, { verify: opts.verify ?? 'full' });
  // Counted when statfs first asks, not at mount (a scan of every pfn).
  let total = -1;
  const totalPages = () => (total < 0 ? (total = mem.pageCount - memblock.reservedCount() + reserved.pages) : total);
  return new Volume({
    mem,
    engine: pram,
    images: loaded.nodes,
    losses: [...slots.losses, ...loaded.losses],
    clock: opts.clock ?? counterClock(),
    owner: opts.owner ?? { uid: 0, gid: 0 },
    space: () => ({ total: totalPages(), free: allocator.freeCount }),
    close: () => { mem.sync(); if (!opts.keepMemOpen) mem.close(); },
    pram,
    banned,
  });
}

/** Mount on memory a machine booted itself: load what its early boot reserved. */
function loadBooted(opts: VolumeOptions, booted: NonNullable<VolumeOptions['booted']>, log: (line: string) => void): Volume {
  const { mem, handoff } = opts;
  const { memblock, allocator, reserved } = booted;
  const { frames, banned } = memblock;
  let total = reserved.pages;
  for (let pfn = 0; pfn < frames.pageCount; pfn++) if (frames.owner[pfn] === Owner.None) total++;
  const pram = new Pram(mem, frames, allocator, banned, handoff, {
    extents: opts.extents, log, newPageMap: () => new RadixPageMap(),
  });
  const loaded = pram.load(reserved, { verify: opts.verify ?? 'full' });
  return new Volume({
    mem, engine: pram, images: loaded.nodes, losses: loaded.losses,
    clock: opts.clock ?? counterClock(), owner: opts.owner ?? { uid: 0, gid: 0 },
    space: () => ({ total, free: allocator.freeCount }),
    close: () => { mem.sync(); if (!opts.keepMemOpen) mem.close(); },
    pram, banned,
  });
}

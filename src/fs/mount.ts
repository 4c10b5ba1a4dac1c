// Mounting: the engine boots the memory (pram/boot.ts: frames, banned
// regions, the header page, pram_reserve, the allocator — the same function the
// simulated kernel boots with), loads the reserved chain, and this file hands
// the loaded nodes and the engine to a new Volume as its parts. Opening the
// arena (and its header checks) is the opener's job (src/open/). A machine that
// boots itself (machine/) passes `booted` instead: its early boot already
// reserved the chain and built the allocator, so the mount only loads.
import type { PageAllocator } from '../boot/allocator.js';
import { Owner } from '../boot/frames.js';
import type { Memblock } from '../boot/memblock.js';
import { errnoName } from '../format/errno.js';
import type { PhysMem } from '../mem/physmem.js';
import { bootMemory, isRefusal } from '../pram/boot.js';
import type { Handoff } from '../pram/handoff.js';
import type { Loss } from '../pram/image.js';
import { Pram } from '../pram/pram.js';
import type { ReserveResult } from '../pram/types.js';
import type { LogReplay } from '../pram/replay.js';
import { RadixPageMap } from './pagemap.js';
import type { LazySource, VolumeParts } from './parts.js';
import type { LazyLog } from '../pram/lazy.js';

export interface VolumeOptions {
  mem: PhysMem;                      // Arena or SimRam
  handoff: Handoff;                  // where the chain head is published
  cmdline?: string;                  // boot parameters: pram=, pram_banned=
  verify?: 'full' | 'lazy';
  extents?: boolean;
  clock?: () => bigint;              // ns since epoch; injected
  log?: (line: string) => void;
  owner?: { uid: number; gid: number };
  /**
   * Arena semantics (default: true for a handoff with header slots): keep what verifies
   * (salvage), and refuse to mount — rather than start empty and later overwrite
   * the saved image — when pram= points outside memory or the chain cannot be reserved.
   */
  strict?: boolean;
  /** Write nothing at load (map, ls): a damaged image's cut pages are not zero-filled. Unmount must not save. */
  readOnly?: boolean;
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
  /**
   * Keep the image as a v3 log when the handoff can name one (default: yes,
   * unless PRAM_FORMAT=2); false: v2 chains, every durable step writes the whole tree.
   */
  live?: boolean;
  /** false: lone pages are logged a MAP each, never as SPANs (the older v3 encoding, for tests). */
  spans?: boolean;
  /** false: with verify 'lazy', still replay the whole log at mount (default: directories load when first needed). */
  lazyLoad?: boolean;
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

/** Boots the memory and loads its image into a volume's parts; throws MountError when it cannot. */
export function mountParts(opts: VolumeOptions): VolumeParts {
  const { mem, handoff } = opts;
  const log = opts.log ?? (() => {});
  if (opts.booted) {
    const { frames } = opts.booted.memblock;
    let total = opts.booted.reserved.pages;
    for (let pfn = 0; pfn < frames.pageCount; pfn++) if (frames.owner[pfn] === Owner.None) total++;
    return loadParts(opts, { ...opts.booted, losses: [] }, () => total, log);
  }
  // verify 'lazy' trusts the compaction's index: the log is booted lazily when it allows (pram/lazyboot.ts).
  const booted = bootMemory({ mem, handoff, cmdline: opts.cmdline ?? '', strict: opts.strict, log, lazy: opts.verify === 'lazy' && opts.lazyLoad !== false });
  if (isRefusal(booted)) throw new MountError(booted.errno, booted.message);
  // Counted when statfs first asks, not at mount (a scan of every pfn).
  let total = -1;
  const totalPages = () => (total < 0 ? (total = mem.pageCount - booted.memblock.reservedCount() + booted.reserved.pages) : total);
  return loadParts(opts, booted, totalPages, log);
}

/** The engine's load of what the boot reserved, as a volume's parts. */
function loadParts(opts: VolumeOptions, booted: { memblock: Memblock; allocator: PageAllocator; reserved: ReserveResult; losses: Loss[]; replay?: LogReplay; lazy?: LazyLog },
  totalPages: () => number, log: (line: string) => void): VolumeParts {
  const { mem, handoff } = opts;
  const { memblock, allocator, reserved } = booted;
  const { frames, banned } = memblock;
  const pram = new Pram(mem, frames, allocator, banned, handoff, {
    extents: opts.extents, log, newPageMap: () => new RadixPageMap(), live: opts.live ?? process.env['PRAM_FORMAT'] !== '2',
    spans: opts.spans,
  });
  const loaded = pram.load(reserved, { verify: opts.verify ?? 'full', readOnly: opts.readOnly }, booted.replay, booted.lazy);
  const parts: VolumeParts = {
    mem,
    engine: pram,
    images: loaded.nodes,
    losses: [...booted.losses, ...loaded.losses],
    clock: opts.clock ?? counterClock(),
    owner: opts.owner ?? { uid: 0, gid: 0 },
    space: () => ({ total: totalPages(), free: allocator.freeCount }),
    close: () => { pram.close(); mem.sync(); if (!opts.keepMemOpen) mem.close(); },
    pram,
    banned,
  };
  if (booted.lazy) parts.lazy = lazySource(pram, booted.lazy);
  return parts;
}

/** The engine's lazily booted log as the volume loads it. */
function lazySource(pram: Pram, lz: LazyLog): LazySource {
  return {
    groupOf: (ino) => lz.groupOf(ino), namedIn: (ino) => lz.namedIn(ino), isDir: (ino) => lz.isDir(ino), isLoaded: (dir) => lz.isLoaded(dir),
    dirs: () => lz.dirs(), allLoaded: () => lz.done, parentOf: (dir) => lz.parentOf(dir), load: (dir, pathOf) => pram.loadGroup(dir, pathOf),
    get unloaded() { return lz.unloaded; }, maxIno: lz.maxIno,
    charged: () => ({ bytes: pram.space.shape.bytes, inline: pram.space.shape.inline }),
    release: (d) => pram.space.adjust({ bytes: -d.bytes, inline: -d.inline }),
    lose: (l) => pram.lateLoss(l),
  };
}

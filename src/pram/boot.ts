// One boot of memory for pram, shared by the arena mount (fs/mount.ts) and the
// simulated kernel (machine/kernel.ts), in the RFC's order: page frames (holes
// marked), the banned set from pram_banned=, the booting kernel's own early
// reservations (the arena's header page; the simulated kernel's low memory,
// image and early allocations), pram_reserve() of the saved chain, then the
// page allocator for every page left. Refusals are returned (errno and why),
// never thrown: the mount above decides how to report them.
import { PageAllocator } from '../boot/allocator.js';
import { BannedRegions, bannedCapacity } from '../boot/banned.js';
import { Owner, PAGE_COUNT_MAX, PageFrames } from '../boot/frames.js';
import { Memblock } from '../boot/memblock.js';
import { parseBootParams, type BootParams } from '../boot/params.js';
import { EFBIG, EINVAL, EIO, errnoName } from '../format/errno.js';
import type { PhysMem } from '../mem/physmem.js';
import type { Handoff } from './handoff.js';
import type { Loss } from './image.js';
import type { SlotLog } from '../format/header.js';
import { Pram } from './pram.js';
import { EntryTable, type ReserveResult } from './types.js';
import { replayLog, type LogReplay } from './replay.js';
import type { LazyLog } from './lazy.js';
import { lazyBoot } from './lazyboot.js';

export interface BootOptions {
  mem: PhysMem;
  cmdline: string;
  log: (line: string) => void;
  /** Banned-region table size (default: bannedCapacity()); enabled false is the sim's --no-ban. */
  banned?: { capacity: number; enabled: boolean };
  /**
   * The mount's handoff: the saved head when pram= is absent, and (arena
   * header) its damaged slots. Absent for a kernel, which reserves only pram=.
   */
  handoff?: Handoff;
  /**
   * Arena semantics: keep what verifies (salvage) and refuse — rather than
   * start empty and later overwrite the saved image — when pram= points outside
   * memory, no header slot is valid, or the chain cannot be reserved.
   */
  strict?: boolean;
  /** The booting kernel's reservations before pram_reserve() (default: pfn 0, never a data page). */
  early?: (memblock: Memblock, params: BootParams) => void;
  /** Boot a v3 log lazily when its compaction's index allows (lazyboot.ts); else (or false) the whole log is replayed. */
  lazy?: boolean;
}

/** What a boot leaves for the engine's load. */
export interface Booted {
  params: BootParams;
  frames: PageFrames;
  banned: BannedRegions;
  memblock: Memblock;
  reserved: ReserveResult;
  allocator: PageAllocator;
  /** Damage found on the way (arena header slots), reported with the load's losses. */
  losses: Loss[];
  /** The slot named a v3 log: replayed and its pages reserved (then `reserved` holds no chain). */
  replay?: LogReplay;
  /** The slot named a v3 log booted lazily: its pages reserved, its groups read when first needed. */
  lazy?: LazyLog;
}

/** A boot that must not go on; errno is negative. */
export interface BootRefusal { errno: number; message: string }

/** The arena header sits at pfn 0; kept out of the data pages everywhere (the sim too, so images agree). */
function reservePfnZero(memblock: Memblock, what: string): void {
  if (memblock.busyPfn(0, 1) < 0) memblock.reserve(0, 1, what === 'arena header' ? Owner.Header : Owner.Reserved, what);
}

export function bootMemory(opts: BootOptions): Booted | BootRefusal {
  const { mem, log, handoff } = opts;
  const header = handoff?.slotDamage !== undefined; // a handoff with header slots lives in pfn 0
  const strict = opts.strict ?? header;
  if (mem.pageCount > PAGE_COUNT_MAX) {
    return { errno: -EFBIG, message: `${mem.pageCount} pages of ${mem.pageSize} bytes: pram tracks at most 2^32 pages (${2 ** 32 * mem.pageSize / 2 ** 40} TiB at this page size); use larger pages or a smaller size` };
  }
  const params = parseBootParams(opts.cmdline, mem.pageSize, log);
  // Page frames, the banned set, the early reservations: made again (nothing reserved) for a fallback to the older slot's log.
  const early = (): { frames: PageFrames; banned: BannedRegions; memblock: Memblock } => {
    const frames = PageFrames.forMem(mem);
    const banned = new BannedRegions(opts.banned?.capacity ?? bannedCapacity(), log);
    banned.enabled = opts.banned?.enabled ?? true;
    const memblock = new Memblock(frames, banned);
    banRanges(banned, params.banned, mem, log);
    if (opts.early) opts.early(memblock, params);
    else reservePfnZero(memblock, header ? 'arena header' : 'pfn 0');
    return { frames, banned, memblock };
  };
  let { frames, banned, memblock } = early();

  // Damaged header slots: reported as losses, or the boot refused when no valid slot is left
  // (an explicit pram= names the chain itself and is the way to mount one anyway).
  const slots = handoff?.slotDamage?.() ?? { losses: [], refusal: null };
  if (slots.refusal && params.pramPfn === null) return { errno: -EIO, message: slots.refusal };
  const saved = handoff?.read() ?? null;
  const headPfn = params.pramPfn ?? saved?.headPfn ?? 0;
  const secondPfn = headPfn === saved?.headPfn ? saved.secondPfn : undefined;
  if (strict && headPfn >= mem.pageCount) {
    return { errno: -EINVAL, message: `pram=0x${headPfn.toString(16)} is beyond the memory (${mem.pageCount} pages, last pfn 0x${(mem.pageCount - 1).toString(16)})` };
  }
  // A v3 log (the slot says so): replayed and reserved instead of a chain, unless pram= names something else.
  if (saved?.log && headPfn === saved.headPfn && headPfn !== 0) {
    const lazy = opts.lazy ? lazyBoot(mem, memblock, { headPfn, log: saved.log }) : 'not asked';
    if (typeof lazy !== 'string') {
      const reserved: ReserveResult = { headPfn, links: [], entries: new EntryTable(0), pages: lazy.cursor.log.length + lazy.dataPages + (lazy.tail?.atimes?.pageCount ?? 0), losses: [], error: 0, salvage: true, firstPfn: 1 };
      log(`PRAM: ${reserved.pages} pages reserved (v3 log, led by its index)`);
      return { params, frames, banned, memblock, reserved, allocator: allocatorOf(memblock, mem, opts), losses: slots.losses, lazy };
    }
    if (opts.lazy) log(`PRAM: the log is replayed whole: ${lazy}`);
    return replayBoot(opts, { params, frames, banned, memblock }, early, { headPfn, saved: { generation: saved.generation, log: saved.log }, losses: slots.losses });
  }
  // pram_reserve(): after every early reservation, before the page allocator.
  const reserved = handoff
    ? Pram.reserve(mem, memblock, headPfn, log, { salvage: strict, firstPfn: 1, secondPfn })
    : Pram.reserve(mem, memblock, headPfn, log);
  if (strict && reserved.error < 0 && headPfn !== 0) {
    const why = reserved.losses.map((l) => l.what).join('; ');
    return { errno: reserved.error, message: `the saved image at pfn 0x${headPfn.toString(16)} cannot be reserved: ${why || errnoName(reserved.error)}` };
  }
  const allocator = allocatorOf(memblock, mem, opts);
  return { params, frames, banned, memblock, reserved, allocator, losses: slots.losses };
}

/**
 * The boot of a v3 log replayed whole (not asked lazily, or its lazy boot refused): apart from bootMemory, so a lazy
 * mount compiles none of it. A damaged publish step with an older slot: the older log, on early reservations made again.
 */
function replayBoot(opts: BootOptions, made: { params: BootParams; frames: PageFrames; banned: BannedRegions; memblock: Memblock },
  early: () => { frames: PageFrames; banned: BannedRegions; memblock: Memblock },
  at: { headPfn: number; saved: { generation: number; log: SlotLog }; losses: Loss[] }): Booted {
  const { mem, log, handoff } = opts, { params } = made, { headPfn, saved } = at;
  let { frames, banned, memblock } = made;
  let replay = replayLog(mem, memblock, { headPfn, generation: saved.generation, log: saved.log }, log);
  const older = replay.publish ? handoff?.older?.() : null;
  // Damage in the step that published a compaction in slices, no commit after it: the older slot still names the log
  // before it (pram.ts kept its pages until the next commit), an exact commit to load instead (docs/FORMAT.md §v3, minor 5).
  if (replay.publish && older?.log && older.headPfn !== headPfn && older.headPfn !== 0 && older.generation < saved.generation) {
    ({ frames, banned, memblock } = early());
    const lost = replay.publish, found = replay.losses.filter((l) => l !== lost.loss);   // the damage itself, as found
    replay = replayLog(mem, memblock, { headPfn: older.headPfn, generation: older.generation, log: older.log }, log);
    replay.losses.unshift(...found, { path: null, pfn: null, what: `the damaged ${lost.where} may have taken a record of the step that published the compaction in slices ` +
      `as commit ${saved.generation} (the changes made while it ran): commits ${older.generation + 1}..${saved.generation} are not replayed, the image loaded is that of commit ` +
      `${older.generation} (the log header slot ${older.name} names); anything newer is lost` });
  }
  const reserved: ReserveResult = { headPfn, links: [], entries: new EntryTable(0), pages: replay.pages, losses: [], error: 0, salvage: true, firstPfn: 1 };
  const allocator = allocatorOf(memblock, mem, opts);
  return { params, frames, banned, memblock, reserved, allocator, losses: at.losses, replay };
}

/** The allocator after early boot: from memblock's reservations when they are every owned page (no holes, no early hook), else a scan. */
function allocatorOf(memblock: Memblock, mem: PhysMem, opts: BootOptions): PageAllocator {
  const owned = opts.early || mem.holes?.length ? null : memblock.reservedSpans();
  return PageAllocator.fromMemblock(memblock, owned ? { owned } : {});
}

export function isRefusal(b: Booted | BootRefusal): b is BootRefusal {
  return 'errno' in b;
}

/**
 * pram_banned= ranges onto this memory: the end clamped to the last pfn; a
 * range that starts past the memory names nothing here and is ignored, with a
 * log line (never an error: the boot goes on, as with any malformed value).
 */
export function banRanges(banned: BannedRegions, ranges: readonly { start: number; end: number }[], mem: PhysMem, log: (line: string) => void): void {
  const last = mem.pageCount - 1;
  for (const r of ranges) {
    if (r.start > last) {
      log(`pram: pram_banned= range ${hexBytes(r.start, mem.pageSize)}-${hexBytes(r.end + 1, mem.pageSize)} starts past the memory (${hexBytes(mem.pageCount, mem.pageSize)} bytes): ignored`);
      continue;
    }
    banned.add(r.start, Math.min(r.end, last));
  }
}

function hexBytes(pfn: number, pageSize: number): string {
  return `0x${(BigInt(pfn) * BigInt(pageSize)).toString(16)}`;
}

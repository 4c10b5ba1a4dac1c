// The three ways an image is loaded — a v1/v2 chain, a replayed v3 log, a v3
// log booted lazily from its index — each answering one shape (`Loaded`) that
// Pram.load applies in one place; and the groups of a lazily booted log,
// adopted when fs/ first needs them.
import type { PageAllocator } from '../boot/allocator.js';
import type { BannedRegions } from '../boot/banned.js';
import type { PageFrames } from '../boot/frames.js';
import type { PhysMem } from '../mem/physmem.js';
import { adoptLog, type AdoptContext } from './adopt.js';
import type { LoadedImage, Loss, NodeImage, PageMap } from './image.js';
import type { LazyLog, LoadedGroup } from './lazy.js';
import type { SeqPages } from './logpages.js';
import type { LaterPageMap } from './laterpages.js';
import { readEntries, type Run } from './load.js';
import { runPfns } from './pageruns.js';
import type { LogCursor } from './log.js';
import { poisonCuts } from './poison.js';
import type { ReserveResult } from './types.js';
import type { LogReplay } from './replay.js';
import type { RunHeads } from './runheads.js';
import type { Log } from './types.js';
import { buildTree } from './tree.js';

/** What loading needs of the engine. */
export interface LoadParts {
  mem: PhysMem; frames: PageFrames; allocator: PageAllocator; banned: BannedRegions; log: Log;
  newPageMap: () => PageMap; runs: Map<number, Run>; runHead: RunHeads;
  /** A lazy mount's file adopted on first use (laterpages.ts): one kept for later, one adopted now. */
  later?: { made: (map: LaterPageMap) => void; built: (pages: PageMap) => void };
}

/**
 * A lazily loaded group's files of at least this many pages (1 MiB) are adopted on first use: a closure kept
 * per file costs a small file as much as its adoption; a file of gigabytes costs its directory's load ~5 ms a GiB.
 * PRAM_LATER_PAGES sets another (tests: 1 defers every file with pages).
 */
export function laterPagesMin(): number {
  const n = Number(process.env['PRAM_LATER_PAGES'] ?? '');
  return Number.isSafeInteger(n) && n >= 1 ? n : 256;
}

/** A loaded file lazy verification may have to name: its page map and path. */
export type Build = { node: { pages: PageMap }; path: string };

/** The image's pages by kind at the last load or commit (stats()). */
export interface Shape { links: number; meta: number; data: number; copies: number; entries: number }

export interface Loaded {
  image: LoadedImage;
  /** The image's own pages (chain or log): freed by the next checkpoint or compaction. A lazily booted log's, listed when first needed (logpages.ts). */
  chainPages: number[] | SeqPages;
  /** The log's pages outside its chain (ATIMES_PAGES, v3 minor 6): freed by the next compaction. */
  sidePages: SidePages;
  /** The log's end, for appends (null: the next commit compacts). */
  cursor: LogCursor | null;
  /** The cursor's stream bytes up to the end of its compaction's index (RUNS); 0: none, the log is all tail (LiveLog.adopt). */
  compacted: number;
  /** Lazy verification's files (null: verified in full). */
  builds: Build[] | null;
  /** A log booted lazily: its groups, adopted on demand. */
  groups: LazyGroups | null;
  shape: Shape;
  /** What the space ledger is told the image holds. */
  adjust: { data: number; copies?: number; bytes?: number; inline?: number };
  /** Data pages a lazy mount's checking thread may check (0: none). */
  ahead: number;
}

/**
 * The log's side pages, counted at load and listed when first needed: a lazy mount's are the ATIMES_PAGES records'
 * runs (a read-all session of a million files: ~3 900 pages, listed in a cold loop at mount, for a compaction's free).
 */
export interface SidePages { count: number; list(): number[] }

/** Side pages already listed (a replay's; a chain has none). */
const listed = (pages: number[]): SidePages => ({ count: pages.length, list: () => pages });

/** Side pages as (pfn, count) runs, taken as they are now (a record found malformed later keeps its pages the log's). */
function sideRuns(runs: number[]): SidePages {
  let count = 0;
  for (let i = 1; i < runs.length; i += 2) count += runs[i]!;
  return { count, list: () => runPfns(runs) };
}

type Opts = { verify: 'full' | 'lazy'; readOnly?: boolean };

function adoptContext(p: LoadParts, opts: Opts): AdoptContext {
  return { mem: p.mem, frames: p.frames, allocator: p.allocator, verify: opts.verify, readOnly: opts.readOnly ?? false, newPageMap: p.newPageMap, runs: p.runs, runHead: p.runHead };
}

/** Loads what boot reserved: a lazily booted log, a replayed log, or a chain. */
export function loadImage(p: LoadParts, reserved: ReserveResult, opts: Opts, replay?: LogReplay, lazy?: LazyLog): Loaded {
  if (lazy) return loadLazy(p, lazy, opts);
  if (replay) return loadLog(p, replay, opts);
  return loadChain(p, reserved, opts);
}

/** A replayed v3 log (boot.ts reserved its pages): nodes and every loss, exactly. */
function loadLog(p: LoadParts, replay: LogReplay, opts: Opts): Loaded {
  const a = adoptLog(replay, adoptContext(p, opts));
  return {
    image: { nodes: a.nodes, losses: a.losses },
    chainPages: replay.logPages.slice(),
    sidePages: listed(replay.sidePages),
    cursor: replay.cursor && a.losses.length === 0 ? replay.cursor : null,
    compacted: replay.indexEnd,
    builds: opts.verify === 'lazy' ? a.builds : null,
    groups: null,
    shape: { links: 0, meta: replay.cursor?.pages.length ?? 0, data: a.dataPages, copies: 0, entries: 0 },
    adjust: { data: a.dataPages },
    ahead: opts.verify === 'lazy' ? a.dataPages : 0,
  };
}

/**
 * A log booted lazily (lazy.ts): no node is loaded now; the ledger is told the
 * compaction's totals, and fs/ loads each directory's group through LazyGroups.
 * The chain is the log's own page list, shared (appends grow it in place).
 */
function loadLazy(p: LoadParts, lz: LazyLog, opts: Opts): Loaded {
  const builds: Build[] = [];
  return {
    image: { nodes: [], losses: [] },
    chainPages: lz.cursor.log,
    sidePages: sideRuns(lz.tail?.atimes?.runs() ?? []),
    cursor: lz.cursor,
    compacted: lz.indexEnd,
    builds,
    groups: new LazyGroups(lz, { ...adoptContext(p, { verify: 'lazy', readOnly: opts.readOnly }), later: p.later && { minPages: laterPagesMin(), ...p.later } }, builds),
    shape: { links: 0, meta: lz.cursor.log.length, data: lz.dataPages, copies: 0, entries: 0 },
    adjust: { data: lz.dataPages, bytes: lz.index.runs!.modelBytes, inline: lz.index.runs!.inline },
    ahead: 0,
  };
}

/** A v1/v2 chain: nodes (pages adopted, not copied) and every loss, exactly. */
function loadChain(p: LoadParts, reserved: ReserveResult, opts: Opts): Loaded {
  const st = readEntries(reserved, { mem: p.mem, frames: p.frames, verify: opts.verify, log: p.log, newPageMap: p.newPageMap, runs: p.runs, runHead: p.runHead });
  const nodes = buildTree(st, reserved.salvage);
  const poisoned = poisonCuts(p, st, new Set(nodes), opts.readOnly ?? false);
  let data = 0;
  for (const n of nodes) data += n.pages.count;
  return {
    image: { nodes, losses: [...reserved.losses, ...st.losses, ...poisoned] },
    chainPages: st.chainPages.slice(),
    sidePages: listed([]),
    cursor: null,
    compacted: 0,
    // Only files with pages can fail a first read: the rest of each build is not kept past the load.
    builds: opts.verify === 'lazy' ? st.builds.filter((b) => b.node.pages.count > 0).map((b) => ({ node: { pages: b.node.pages }, path: b.path })) : null,
    groups: null,
    shape: { links: reserved.links.length, meta: st.chainPages.length - reserved.links.length, data, copies: 0, entries: reserved.entries.length },
    adjust: { data, copies: bannedData(p.banned, nodes) },
    ahead: opts.verify === 'lazy' ? data : 0,
  };
}

/** Loaded data pages in banned regions: each costs a copy at every checkpoint until rewritten. */
function bannedData(banned: BannedRegions, nodes: readonly NodeImage[]): number {
  if (banned.regions().length === 0) return 0;
  let n = 0;
  for (const node of nodes) for (const [, pfn] of node.pages.entries()) if (banned.contains(pfn)) n++;
  return n;
}

/** The groups of a lazily booted log, adopted one directory at a time; their files join lazy verification's. */
export class LazyGroups {
  constructor(readonly log: LazyLog, private readonly ctx: AdoptContext, private readonly builds: Build[]) {}

  /** The group of directory `dir`, adopted (null: loaded before); damage found in it goes to `lose`. `pathOf` names the directory. */
  load(dir: number, lose: (l: Loss) => void, pathOf: (ino: number) => string): LoadedGroup | string | null {
    const g = this.log.loadGroup(dir, this.ctx, lose, pathOf);
    if (g === null || typeof g === 'string') return g;
    let named: Map<number, string> | null = null, base: string | undefined;   // made only for a group with files of pages
    for (const n of g.nodes) {
      if (n.pages.count === 0) continue;
      if (!named) { named = new Map(); for (const m of g.names) if (!named.has(m.ino)) named.set(m.ino, m.name); }
      base ??= pathOf(dir);
      this.builds.push({ node: { pages: n.pages }, path: `${base === '/' ? '' : base}/${named.get(n.ino) ?? `(ino ${n.ino})`}` });
    }
    return g;
  }
}

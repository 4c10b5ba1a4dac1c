// What a memory map shows, before any drawing: every pfn gets exactly one
// class (free, header, link, meta, a file's data, a named reservation...), and
// the pfns are folded into a bounded grid of cells, each a contiguous pfn
// range with its composition. The invariant the pictures keep: the cells tile
// [0, pageCount) and the class counts add up to pageCount, so every page is
// drawn exactly once. Overlays (banned regions, the kexec target range) are
// drawn on top and never counted. Drawing is svg.ts's job; where the input
// comes from (an arena, a simulated boot) is source.ts's.
import { Owner } from '../../boot/frames.js';
import { assert } from '../../format/assert.js';
import { PROGRESS_MIN_BYTES, publishProgress } from '../../format/progress.js';

export interface PfnRange { start: number; end: number } // inclusive
export interface MapRegion { what: string; start: number; pages: number }

/** A plain description of one physical memory: what `renderMap` draws. */
export interface MapInput {
  title?: string;
  pageSize: number;
  pageCount: number;
  /** Owner per pfn (boot/frames.ts). */
  owners: Uint8Array;
  /** Which file a data page belongs to: fileOf[pfn] indexes paths, -1 for none. */
  files?: { paths: readonly string[]; fileOf: Int32Array };
  /** Names for Owner.Reserved pages: kernel image, initrd, early allocations. */
  reservations?: readonly MapRegion[];
  banned?: readonly PfnRange[];
  /** Outlined on top, not counted: the kexec target range, kexec segments. */
  marks?: readonly MapRegion[];
}

export type ClassKind = 'free' | 'banned-free' | 'hole' | 'header' | 'link' | 'meta' | 'data' | 'file' | 'held' | 'kernel' | 'reserved';

export interface MapClass { name: string; kind: ClassKind; pages: number }

export interface Cell {
  start: number;            // first pfn
  pages: number;            // pfns in the cell (the last cell may be short)
  comp: [cls: number, pages: number][];  // descending by pages
  files: string[];          // a few file paths with pages here, for hover
}

export interface MapModel {
  input: MapInput;
  classes: MapClass[];
  cells: Cell[];
  pagesPerCell: number;
  bannedPages: number;
}

/** Bounds that keep a 1M-page memory readable and its SVG small. */
export const CELLS_MAX = 4096;
export const FILE_CLASSES_MAX = 24;
export const RESERVED_CLASSES_MAX = 12;
const CELL_FILES_MAX = 4;

const OWNER_KIND: Record<number, ClassKind> = {
  [Owner.None]: 'free', [Owner.Hole]: 'hole', [Owner.Reserved]: 'reserved', [Owner.Header]: 'header',
  [Owner.Link]: 'link', [Owner.Meta]: 'meta', [Owner.Data]: 'data', [Owner.Held]: 'held', [Owner.Kernel]: 'kernel',
};
const KIND_NAME: Record<ClassKind, string> = {
  free: 'free', 'banned-free': 'free, banned', hole: 'hole (not RAM)', header: 'arena header', link: 'link pages',
  meta: 'meta pages', data: 'data (no file)', file: 'file', held: 'held (banned)', kernel: 'kernel', reserved: 'reserved',
};

/** Classes by name, created on first use, counted. */
class ClassTable {
  readonly list: MapClass[] = [];
  private readonly byName = new Map<string, number>();
  id(name: string, kind: ClassKind): number {
    let id = this.byName.get(name);
    if (id === undefined) { id = this.list.length; this.list.push({ name, kind, pages: 0 }); this.byName.set(name, id); }
    return id;
  }
}

/** The `limit` names with most weight keep their own class; the rest share `other`. */
function topNames(weights: Map<string, number>, limit: number): Set<string> {
  return new Set([...weights].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, limit).map(([n]) => n));
}

function inRanges(ranges: readonly PfnRange[], pageCount: number): Uint8Array {
  const mark = new Uint8Array(pageCount);
  for (const r of ranges) mark.fill(1, Math.max(0, r.start), Math.min(pageCount, r.end + 1));
  return mark;
}

/** The class of every pfn (Uint16: classes are bounded by the caps above). */
export function classify(input: MapInput): { classes: MapClass[]; classOf: Uint16Array; bannedPages: number } {
  const { pageCount, owners } = input;
  assert(owners.length >= pageCount, `owners cover ${pageCount} pages`);
  const banned = inRanges(input.banned ?? [], pageCount);
  const fileOf = input.files?.fileOf;
  const paths = input.files?.paths ?? [];

  // Reservation names per pfn, and which names and files are big enough for a colour of their own.
  const resName = new Int32Array(pageCount).fill(-1);
  const resWhats: string[] = [];
  const resWeight = new Map<string, number>();
  for (const r of input.reservations ?? []) {
    let i = resWhats.indexOf(r.what);
    if (i < 0) { i = resWhats.length; resWhats.push(r.what); }
    resName.fill(i, Math.max(0, r.start), Math.min(pageCount, r.start + r.pages));
    resWeight.set(r.what, (resWeight.get(r.what) ?? 0) + r.pages);
  }
  const resKept = topNames(resWeight, RESERVED_CLASSES_MAX);
  const fileWeight = new Map<string, number>();
  if (fileOf) {
    const perFile = new Float64Array(paths.length);
    for (let pfn = 0; pfn < pageCount; pfn++) { const f = fileOf[pfn]!; if (f >= 0 && owners[pfn] === Owner.Data) perFile[f]!++; }
    perFile.forEach((n, f) => { if (n > 0) fileWeight.set(paths[f]!, (fileWeight.get(paths[f]!) ?? 0) + n); });
  }
  const fileKept = topNames(fileWeight, FILE_CLASSES_MAX);

  const t = new ClassTable();
  // Base classes first, in a stable order, so legends read the same for every memory.
  for (const kind of ['free', 'banned-free', 'hole', 'header', 'link', 'meta'] as const) t.id(KIND_NAME[kind], kind);
  const fileClass = paths.map((p) => (fileKept.has(p) ? t.id(p, 'file') : -1));
  const otherFiles = fileWeight.size > fileKept.size ? t.id('other files', 'file') : -1;
  const resClass = resWhats.map((w) => (resKept.has(w) ? t.id(`reserved: ${w}`, 'reserved') : t.id('reserved: other', 'reserved')));
  const ownerClass = new Int32Array(256).fill(-1);
  const classOf = new Uint16Array(pageCount);
  let bannedPages = 0;
  for (let pfn = 0; pfn < pageCount; pfn++) {
    const o = owners[pfn]!;
    const isBanned = banned[pfn] === 1;
    if (isBanned) bannedPages++;
    let c: number;
    if (o === Owner.None && isBanned) c = 1;
    else if (o === Owner.Data && fileOf && fileOf[pfn]! >= 0) c = fileClass[fileOf[pfn]!]! >= 0 ? fileClass[fileOf[pfn]!]! : otherFiles;
    else if (o === Owner.Reserved && resName[pfn]! >= 0) c = resClass[resName[pfn]!]!;
    else {
      c = ownerClass[o]!;
      if (c < 0) {
        const kind = OWNER_KIND[o] ?? 'reserved'; // an owner value newer than this file: drawn, and named by number
        c = ownerClass[o] = t.id(OWNER_KIND[o] ? KIND_NAME[kind] : `owner ${o}`, kind);
      }
    }
    classOf[pfn] = c;
    t.list[c]!.pages++;
  }
  return { classes: t.list, classOf, bannedPages };
}

/** Pages per cell: a power of two, so cell boundaries are round pfns. */
export function pagesPerCellFor(pageCount: number, cellsMax = CELLS_MAX): number {
  let ppc = 1;
  while (Math.ceil(pageCount / ppc) > cellsMax) ppc *= 2;
  return ppc;
}

export function buildModel(input: MapInput, cellsMax = CELLS_MAX): MapModel {
  assert(Number.isSafeInteger(input.pageCount) && input.pageCount > 0, 'a map needs at least one page');
  const { classes, classOf, bannedPages } = classify(input);
  const ppc = pagesPerCellFor(input.pageCount, cellsMax);
  const counts = new Uint32Array(classes.length);
  const touched: number[] = [];
  const fileOf = input.files?.fileOf;
  const cells: Cell[] = [];
  const totalBytes = input.pageCount * input.pageSize, showProgress = totalBytes >= PROGRESS_MIN_BYTES;
  for (let start = 0; start < input.pageCount; start += ppc) {
    if (showProgress && cells.length % 64 === 0) publishProgress('map', start * input.pageSize, totalBytes);
    const end = Math.min(input.pageCount, start + ppc);
    const files: string[] = [];
    for (let pfn = start; pfn < end; pfn++) {
      const c = classOf[pfn]!;
      if (counts[c]++ === 0) touched.push(c);
      if (fileOf && files.length < CELL_FILES_MAX && input.owners[pfn] === Owner.Data) {
        const f = fileOf[pfn]!;
        const path = f >= 0 ? input.files!.paths[f]! : undefined;
        if (path !== undefined && !files.includes(path)) files.push(path);
      }
    }
    const comp = touched.map((c) => [c, counts[c]!] as [number, number]).sort((a, b) => b[1] - a[1] || a[0] - b[0]);
    for (const c of touched) counts[c] = 0;
    touched.length = 0;
    cells.push({ start, pages: end - start, comp, files });
  }
  if (showProgress) publishProgress('map', totalBytes, totalBytes);
  return { input, classes, cells, pagesPerCell: ppc, bannedPages };
}

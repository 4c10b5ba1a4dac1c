// A compaction's log grouped by directory, and its index (docs/FORMAT.md §v3
// minor 2): the log begins with a LOCATE record; then, per directory, one
// contiguous group of records — the directory's INODE, a NAME per name it holds,
// then the INODE and page records of every node it is home to (the first
// directory the walk finds naming it); then INDEX records listing each group's
// directory and stream bytes, and each node named in more than one directory
// with its home. LOCATE is set in place (the fresh log is not published yet)
// once the index is written. A mount can then find one directory's names and
// children without reading the rest of the compaction (readGroup below).
// Nodes no walk from a nameless directory reaches are written after the index,
// ungrouped: a reader replays them with the tail.

import type { PhysMem } from '../mem/physmem.js';
import { assert } from '../format/assert.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import { encodeLocate, INDEX_MAX_ENTRIES, inlineRecordBytes, inodeRecordBytes, LOCATE_BYTES, LOG_HEADER, logPayload, nameRecordBytes, putIndex, putLocate,
  putRuns, RUNS_MAX_ENTRIES, RunsKind, type IndexEntry, type LocateRecord, type RecordOut, type RunsRecord } from '../format/v3.js';
import { encodeXattrs } from '../format/v2.js';
import type { NodeImage } from './image.js';
import type { LogCursor } from './log.js';
import { PfnRuns, runsOf } from './pageruns.js';
import { pageRecords, type Emitter } from './records.js';

/** Where the index learns stream positions: the log writer of the compaction (pageAt: its page of a seq, for RUNS). */
export interface StreamPos { readonly streamPos: number; pageAt?(seq: number): number }

/** The index of one compaction, built while its groups are written. */
export class IndexBuilder {
  readonly entries: IndexEntry[] = [];
  nodes = 0;
  names = 0;
  maxIno = 0;
  /** The grouped nodes as the space model prices them (RUNS totals, minor 3): record bytes, nodes held inline. */
  modelBytes = 0;
  inline = 0;
  private dir = 0;
  private start = -1;
  /** (minor 3) Each grouped node's ino and home directory, in the order written (HOMES runs). */
  private homes = new Float64Array(1024);
  private homed = 0;

  constructor(private readonly at: StreamPos) {}

  /** The log's first record: LOCATE, zeros until finish() sets it. */
  begin(o: RecordOut, generation: number): void {
    if (this.at.streamPos !== 0) assert(false, 'LOCATE is the log\'s first record');
    putLocate(o, generation);
  }

  /** The group of directory `dir` begins (a SPAN being gathered belongs to the group before). */
  open(e: Emitter, dir: number): void {
    e.flush();
    this.dir = dir; this.start = this.at.streamPos;
    this.opened.add(dir);
  }
  private readonly opened = new Set<number>();

  close(e: Emitter): void {
    e.flush();
    if (this.start < 0) assert(false, 'a group closed without one open');
    this.entries.push({ ino: this.dir, home: this.dir, pos: this.start, bytes: this.at.streamPos - this.start });
    this.start = -1;
  }

  /**
   * A node written into the open group. `parent`: a directory's parent when its image carries no
   * names (in slices: the directory whose group, written before, names it).
   */
  node(n: NodeImage, parent?: number): void {
    // HOMES names only directories with a group (readIndex refuses others): the walk gave the parent its group first.
    if (parent !== undefined && parent !== n.ino && !this.opened.has(parent)) assert(false, 'a directory\'s parent has its group before it');
    this.nodes++;
    if (n.ino > this.maxIno) this.maxIno = n.ino;
    if (this.homed * 2 === this.homes.length) { const b = new Float64Array(this.homes.length * 2); b.set(this.homes); this.homes = b; }
    // A directory's HOMES entry is its parent (its own group is in the index): a mount finds a moved directory's way up.
    // The root and other nameless directories: themselves.
    this.homes[2 * this.homed] = n.ino; this.homes[2 * this.homed++ + 1] = isDir(n) ? parent ?? n.names[0]?.parent ?? n.ino : this.dir;
    this.modelBytes += inodeRecordBytes(n.xattrs.length ? encodeXattrs(n.xattrs).length : 0);
    for (const nm of n.names) this.modelBytes += nameRecordBytes(Buffer.byteLength(nm.name));
    if (n.inline && n.inline.length > 0) { this.inline++; this.modelBytes += inlineRecordBytes(n.inline.length); }
  }

  /** (in slices) The names a grouped directory holds: its nodes' images carry none, so they are priced here. */
  held(names: readonly { name: string }[]): void {
    this.names += names.length;
    for (const nm of names) this.modelBytes += nameRecordBytes(Buffer.byteLength(nm.name));
  }

  /**
   * A node with names in more than one directory: its records are in `home`'s group;
   * (minor 3) each other directory naming it is listed too (pos 1), so a lazy mount
   * loads them all before it counts the node's links.
   */
  link(ino: number, home: number, also: Iterable<number> = []): void {
    this.entries.push({ ino, home, pos: 0, bytes: 0 });
    for (const dir of also) this.entries.push({ ino, home: dir, pos: 1, bytes: 0 });
  }

  /** The INDEX records (after the last group); returns the LOCATE they make. */
  writeIndex(o: RecordOut, generation: number): LocateRecord {
    const indexPos = this.at.streamPos;
    let records = 0;
    for (let i = 0; i < this.entries.length; i += INDEX_MAX_ENTRIES) {
      putIndex(o, this.entries, i, Math.min(this.entries.length, i + INDEX_MAX_ENTRIES), generation);
      records++;
    }
    return { indexPos, indexBytes: this.at.streamPos - indexPos, indexRecords: records, entries: this.entries.length,
      nodes: this.nodes, names: this.names, maxIno: this.maxIno, runsBytes: 0, indexPfn: 0 };
  }

  /**
   * (minor 3) The RUNS records right after the index: the totals, the data pages (`data`:
   * normal runs, pageruns.ts), and the log's pages before the one the index begins in (a
   * mount takes the rest from that page on through the pages' next pointers). Sets what
   * LOCATE says of them.
   */
  writeRuns(o: RecordOut, l: LocateRecord, data: ArrayLike<number>, pageSize: number, generation: number, flags = 0): void {
    const at = this.at, start = at.streamPos, seq = Math.floor(l.indexPos / logPayload(pageSize));
    putRuns(o, { kind: RunsKind.Totals, a: this.modelBytes, b: this.inline, runs: new Float64Array(0) }, 0, 0, generation, flags);
    const log = new Uint32Array(seq);
    for (let k = 0; k < seq; k++) log[k] = at.pageAt!(k);
    putMany(o, RunsKind.Log, runsOf(log), generation);
    putMany(o, RunsKind.Data, Float64Array.from(data), generation);
    for (const [home, inos] of homeRuns(this.homes.subarray(0, 2 * this.homed))) putMany(o, RunsKind.Homes, inos, generation, home);
    l.runsBytes = at.streamPos - start;
    l.indexPfn = at.pageAt!(seq);
  }
}

/** (ino, home) pairs -> per home directory (ascending), its inos as (first, count) runs ascending. */
function homeRuns(pairs: Float64Array): [number, Float64Array][] {
  const by = new Map<number, number[]>();
  for (let i = 0; i < pairs.length; i += 2) {
    const list = by.get(pairs[i + 1]!);
    if (list) list.push(pairs[i]!); else by.set(pairs[i + 1]!, [pairs[i]!]);
  }
  return [...by].sort((x, y) => x[0] - y[0]).map(([home, inos]) => [home, runsOf(inos.sort((a, b) => a - b))]);
}

/** RUNS records of one kind holding `runs` (none when there are none). */
function putMany(o: RecordOut, kind: RunsKind, runs: Float64Array, generation: number, a = 0): void {
  const r: RunsRecord = { kind, a, b: 0, runs };
  for (let i = 0; i < runs.length / 2; i += RUNS_MAX_ENTRIES) putRuns(o, r, i, Math.min(runs.length / 2, i + RUNS_MAX_ENTRIES), generation);
}

/** LOCATE set in place in the fresh log's head page (not published yet: no reader has seen the placeholder). */
export function setLocate(mem: PhysMem, fresh: LogCursor, r: LocateRecord, flags = 0): void {
  const b = encodeLocate(r, fresh.logId, flags);
  if (!(b.length === LOCATE_BYTES && LOG_HEADER + LOCATE_BYTES <= mem.pageSize - 8)) assert(false, 'LOCATE fits the head page');
  mem.page(fresh.pages[0]!).set(b, LOG_HEADER);
}

const isDir = (n: NodeImage): boolean => (n.mode & S_IFMT) === S_IFDIR;

/**
 * A compaction grouped by directory (whole, inside one commit): LOCATE, the
 * groups in breadth-first order from each nameless directory (the root), the
 * index, then whatever no group holds. Returns the LOCATE to set once the
 * session is closed.
 */
export function groupedTreeRecords(nodes: Iterable<NodeImage>, e: Emitter, o: RecordOut & StreamPos, generation: number, pageSize: number): LocateRecord {
  const ix = new IndexBuilder(o);
  ix.begin(o, generation);
  const byIno = new Map<number, NodeImage>();
  for (const n of nodes) byIno.set(n.ino, n);
  const held = new Map<number, { name: string; ino: number }[]>();   // directory -> the names it holds
  const queue: number[] = [];
  for (const n of byIno.values()) {
    if (isDir(n) && n.names.length === 0) queue.push(n.ino);
    for (const nm of n.names) {
      let list = held.get(nm.parent);
      if (!list) held.set(nm.parent, (list = []));
      list.push({ name: nm.name, ino: n.ino });
    }
  }
  const written = new Set<number>();
  const whole = (n: NodeImage) => { e.inode(n, n.pages.count); pageRecords(e, n.ino, n.pages.entries()); written.add(n.ino); ix.node(n); };
  const namesWritten = new Set<number>();      // directories whose held names a group wrote
  for (let q = 0; q < queue.length; q++) {
    const dir = byIno.get(queue[q]!)!;
    if (written.has(dir.ino)) continue;
    ix.open(e, dir.ino);
    whole(dir);
    const list = held.get(dir.ino) ?? [];
    for (const { name, ino } of list) { e.name(dir.ino, name, ino); ix.names++; }
    namesWritten.add(dir.ino);
    for (const { ino } of list) {
      const c = byIno.get(ino);
      if (!c || written.has(ino)) continue;
      if (isDir(c)) { queue.push(ino); continue; }
      whole(c);
      if (c.names.length > 1 && c.names.some((nm) => nm.parent !== dir.ino)) ix.link(ino, dir.ino, new Set(c.names.filter((nm) => nm.parent !== dir.ino).map((nm) => nm.parent)));
    }
    ix.close(e);
  }
  const locate = ix.writeIndex(o, generation);
  if (o.pageAt) ix.writeRuns(o, locate, dataRuns(byIno.values()), pageSize, generation);
  // Not reached from a nameless directory (a tree a load repairs): ungrouped, after the index.
  for (const n of byIno.values()) {
    if (written.has(n.ino)) continue;
    e.inode(n, n.pages.count);
    for (const nm of n.names) if (!namesWritten.has(nm.parent)) e.name(nm.parent, nm.name, n.ino);
    pageRecords(e, n.ino, n.pages.entries());
  }
  e.flush();
  return locate;
}

/** Every data page the nodes map, as normal runs (RUNS, minor 3: the allocator of a lazy mount is built from them). */
function dataRuns(nodes: Iterable<NodeImage>): number[] {
  const runs = new PfnRuns();
  for (const node of nodes) {
    if (node.pages.count === 0) continue;
    for (const [, pfn] of node.pages.entries()) runs.add(pfn);
  }
  return runs.normal();
}

/** Stream position -> (log page seq, offset in the page). */
export function streamAt(pos: number, pageSize: number): { seq: number; off: number } {
  const per = logPayload(pageSize);
  return { seq: Math.floor(pos / per), off: LOG_HEADER + (pos % per) };
}

// Applying one log record to a replay's state (the replay's own rules, replay.ts; and
// the lazy mount's tail over the groups it touches, tail.ts): the last INODE of an ino
// wins, NAMEs keyed by directory and name, MAP/UNMAP on 32-page groups, SPANs per block.

import { atimesIno, GROUP_PAGES, RecordType, type InodeRecord, type LogRecord, type SpanRecord } from '../format/v3.js';
import type { NodeName } from './image.js';
import { addSpan, cutSpans, placeSpan } from './spans.js';

/**
 * One node as the log leaves it. Its live runs per 32-page group are flat arrays,
 * RUN numbers a run (index, pfn, count, csum, flags): no object per page mapped.
 * groups and poison are made when first needed (most small files have neither).
 */
export interface ReplayNode {
  rec: InodeRecord;
  groups: Map<number, number[]> | null;   // group -> its runs, RUN numbers each
  blocks: Map<number, number[]> | null;   // SPAN_BLOCK block -> its spans, SPAN numbers each (spans.ts)
  poison: Set<number> | null;             // indexes whose page is known lost (read EIO, never zeros)
  names: NodeName[] | null;               // who names it, set by adopt.ts from the replayed directories
}

/** Numbers per run in ReplayNode.groups: index, pfn, count, csum, flags. */
export const RUN = 5;

/** What a replay builds: nodes by ino, and names by directory. */
export interface ReplayState { nodes: Map<number, ReplayNode>; names: Map<number, Map<string, number>> }

/**
 * One record over the replay state, as the log's order applies it (INODE, DROP, NAME, UNMAP, SPAN, MAP, ATIMES;
 * others change no node). `spanCrcs`: where a SPAN's page crcs are kept; `orphan`: pages of no node (dropped).
 */
export function applyRecord(st: ReplayState, rec: LogRecord, spanCrcs: (r: SpanRecord) => number, orphan: (type: string, ino: number, count: number) => void): void {
  const nodes = st.nodes;
  switch (rec.type) {
    case RecordType.Inode: {
      const n = nodes.get(rec.r.ino);
      if (n) n.rec = rec.r;
      else nodes.set(rec.r.ino, { rec: rec.r, groups: null, blocks: null, poison: null, names: null });
      return;
    }
    case RecordType.Drop: nodes.delete(rec.ino); return;
    case RecordType.Atimes: {
      // Each entry sets the atime of a node that exists at this point of the log (one gone since: nothing).
      const r = rec.r;
      for (let k = 0; k < r.n; k++) {
        const n = nodes.get(atimesIno(r, k));
        if (n) n.rec.atimeNs = r.times[2 * k + 1]!;
      }
      return;
    }
    case RecordType.Name: {
      let dir = st.names.get(rec.r.parent);
      if (!dir) st.names.set(rec.r.parent, (dir = new Map()));
      if (rec.r.ino === 0) dir.delete(rec.r.name); else dir.set(rec.r.name, rec.r.ino);
      return;
    }
    case RecordType.Unmap: {
      const n = nodes.get(rec.r.ino);
      if (!n) return;
      const { index, count } = rec.r;
      cutGroups(n, index, index + count);
      cutSpans(n, index, index + count);
      return;
    }
    case RecordType.Span: {
      const r = rec.r, n = nodes.get(r.ino);
      if (!n) { orphan('SPAN', r.ino, r.count); return; }
      cutGroups(n, r.index, r.index + r.count);
      addSpan(n, r.index, r.pfn, r.count, spanCrcs(r), r.flags);
      return;
    }
    case RecordType.Map: {
      const r = rec.r, n = nodes.get(r.ino);
      if (!n) { orphan('MAP', r.ino, r.count); return; }
      if (n.blocks) cutSpans(n, r.index, r.index + r.count);
      const g = Math.floor(r.index / GROUP_PAGES), end = r.index + r.count;
      // A well-formed log never maps over a live run (an append unmaps the group first); if one does,
      // the older run's other pages have no checksum of their own any more: they read EIO.
      const runs = n.groups?.has(g) ? cutRuns(n, g, r.index, end) : null;
      if (runs) runs.push(r.index, r.pfn, r.count, r.csum, r.flags);
      else (n.groups ??= new Map()).set(g, [r.index, r.pfn, r.count, r.csum, r.flags]);
      if (n.poison) for (let i = r.index; i < end; i++) n.poison.delete(i);
      return;
    }
  }
}

/**
 * applyRecord for records in log order, remembering the stretch of one node the last UNMAP cleared that no record has
 * mapped since: a written 32-page group is restated so (its UNMAP, then SPANs and MAPs filling it in ascending order:
 * ~600 of a bench tail's 800 page records), and a SPAN or MAP within what is left of that stretch has no run or span
 * to cut — the scans of the node's block that find none were most of a deferred group's apply. The same state results.
 */
export function restating(st: ReplayState, spanCrcs: (r: SpanRecord) => number, orphan: (type: string, ino: number, count: number) => void): (rec: LogRecord) => void {
  let ino = -1, from = 0, end = 0;
  return (rec) => {
    if (rec.type === RecordType.Span || rec.type === RecordType.Map) {
      const r = rec.r, n = r.ino === ino && r.index >= from && r.index + r.count <= end ? st.nodes.get(ino) : undefined;
      if (n) {
        if (rec.type === RecordType.Span) placeSpan(n, r.index, r.pfn, r.count, spanCrcs(rec.r), r.flags);
        else placeRun(n, rec.r.index, rec.r.pfn, rec.r.count, rec.r.csum, rec.r.flags);
        from = r.index + r.count;
        return;
      }
      if (r.ino === ino) ino = -1;       // a record of the node elsewhere: nothing known clear any more
    } else if (rec.type === RecordType.Drop && rec.ino === ino) ino = -1;
    applyRecord(st, rec, spanCrcs, orphan);
    // Runs lie in one 32-page group and spans in one block (their decoders check): the UNMAP left nothing of [from, end).
    if (rec.type === RecordType.Unmap && st.nodes.has(rec.r.ino)) { ino = rec.r.ino; from = rec.r.index; end = rec.r.index + rec.r.count; }
  };
}

/** A MAP's run where the node holds nothing (no span and no run to cut): its group's. */
function placeRun(n: ReplayNode, index: number, pfn: number, count: number, csum: number, flags: number): void {
  const g = Math.floor(index / GROUP_PAGES), runs = n.groups?.get(g);
  if (runs) runs.push(index, pfn, count, csum, flags);
  else (n.groups ??= new Map()).set(g, [index, pfn, count, csum, flags]);
  if (n.poison) for (let i = index; i < index + count; i++) n.poison.delete(i);
}

/** The group runs of [from, end) out of the node (cutRuns per group it has there; a hostile range stays cheap). */
function cutGroups(n: ReplayNode, from: number, end: number): void {
  if (!n.groups || end <= from) return;
  const first = Math.floor(from / GROUP_PAGES), last = Math.floor((end - 1) / GROUP_PAGES);
  if (last - first + 1 <= n.groups.size) { for (let g = first; g <= last; g++) cutRuns(n, g, from, end); return; }
  for (const g of [...n.groups.keys()]) if (g >= first && g <= last) cutRuns(n, g, from, end);
}

/**
 * Takes the runs of group g that overlap [from, end) out of the node; their pages
 * outside the range are poisoned. Returns the group's runs left (null: none left).
 */
function cutRuns(n: ReplayNode, g: number, from: number, end: number): number[] | null {
  const runs = n.groups?.get(g);
  if (!runs) return null;
  let overlap = false;
  for (let k = 0; k < runs.length; k += RUN) if (runs[k]! < end && runs[k]! + runs[k + 2]! > from) { overlap = true; break; }
  if (!overlap) return runs;
  const kept: number[] = [];
  for (let k = 0; k < runs.length; k += RUN) {
    const index = runs[k]!, count = runs[k + 2]!;
    if (index >= end || index + count <= from) { for (let f = 0; f < RUN; f++) kept.push(runs[k + f]!); continue; }
    for (let i = index; i < index + count; i++) if (i < from || i >= end) (n.poison ??= new Set()).add(i);
  }
  if (kept.length) { n.groups!.set(g, kept); return kept; }
  n.groups!.delete(g);
  return null;
}


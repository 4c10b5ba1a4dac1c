// The tail of an index-led lazy mount (docs/FORMAT.md §v3, Lazy mount): the
// records after the compaction's RUNS — later commits', and a compaction in
// slices' own (the nodes its walk did not group, then what changed while it ran,
// appended as a commit would by the step that published it). The groups they
// touch (the directories their NAMEs name, the homes of the nodes they name —
// HOMES — and every directory naming a touched linked node) are read first and
// replayed, then the tail is applied over them exactly as a full replay applies
// it (replay.ts applyRecord). What results replaces those groups: each node is
// placed in the group of a directory naming it after the tail. Anything this
// cannot do exactly (a damaged record in the tail, a name of
// nothing, a nameless node, pages of no node, too many groups) is a string
// saying why, and the caller replays the whole log. Records that touch one group
// only wait for that group's load instead (taildefer.ts, replayDeferred below).

import { GROUP_PAGES, inlineRecordBytes, inodeRecordBytes, nameRecordBytes, RECORD_HEADER, RecordType, u32, type InodeRecord, type LogRecord, type SpanRecord } from '../format/v3.js';
import { assert } from '../format/assert.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import type { Group, GroupIndex } from './groups.js';
import { tailDecoded, tailDecodes, tailRecords, type TailRecords } from './tailread.js';
import { applyRecord, restating, RUN, type ReplayNode, type ReplayState } from './apply.js';
import { addSpan, SPAN, spansInOrder, type SpanCrcs } from './spans.js';
import { normalRuns, cutRuns } from './pageruns.js';
import { lessGone, replacedInodes, splitTail, type DeferredGroup } from './taildefer.js';
import { TailAtimes } from './tailatimes.js';

/** Most groups a tail may touch before a full replay is the cheaper way. */
export const TAIL_MAX_GROUPS = 4096;

/** The touched groups after the tail: what lazy.ts hands fs/ in their place. */
export interface TailOverlay {
  state: ReplayState;                      // the touched groups' nodes and names, the tail applied
  home: Map<number, number>;               // node -> the directory whose (new) group holds it (a directory: itself)
  members: Map<number, number[]>;          // directory -> the nodes its group holds now
  also: Map<number, number[]>;             // node named in several directories -> the others
  parent: Map<number, number>;             // a moved or new directory -> its parent now
  touched: Set<number>;                    // the compaction's directories whose groups the overlay replaces
  gone: Set<number>;                       // of them, those the tail removed
  fresh: number[];                         // directories the tail made, parents first
  before: { nodes: number; bytes: number; inline: number; pages: number[] };   // the touched groups before the tail (pages: normalRuns, of the nodes its page records and DROPs name)
  after: { nodes: number; bytes: number; inline: number; pages: number[] };    // and after
  maxIno: number;
  deferred: Map<number, DeferredGroup>;    // groups whose tail records wait for their load (taildefer.ts), not in touched
  deferredFresh: Map<number, number>;      // a node a deferred record made -> its group's directory
  atimes: TailAtimes | null;               // the tail's ATIMES records, as read (settled per node when adopted), or null: none
  spans: Map<number, SpanRecord[]>;        // a node no tail record names whose records are SPANs in order: them (state holds none), adopted straight
}

/** How the overlay reads the compaction: its index, a node's home, a group. */
export interface TailSource {
  index: GroupIndex;
  homeOf(ino: number): number;
  group(dir: number): Group | string;
}

const isDirRec = (r: InodeRecord): boolean => (r.mode & S_IFMT) === S_IFDIR;

/**
 * A group's records replayed into `st` (its nodes; its directory's names unless `withNames` is false:
 * a lazy load takes them from the group as they are); page crcs kept in `crcs`.
 */
export function replayGroup(g: { dir: InodeRecord | null; nodes: Map<number, InodeRecord>; names: { name: string; ino: number }[]; pages: LogRecord[] },
  dir: number, st: ReplayState, crcs: SpanCrcs, withNames = true): void {
  const nodeOf = (rec: InodeRecord): ReplayNode => ({ rec, groups: null, blocks: null, poison: null, names: null });
  if (g.dir) st.nodes.set(dir, nodeOf(g.dir));
  for (const [ino, rec] of g.nodes) st.nodes.set(ino, nodeOf(rec));
  if (withNames) {
    const names = new Map<string, number>();
    for (const n of g.names) names.set(n.name, n.ino);
    st.names.set(dir, names);
  }
  for (const p of g.pages) {
    if (p.type === RecordType.Map) {
      const n = st.nodes.get(p.r.ino)!, gi = Math.floor(p.r.index / GROUP_PAGES);
      const runs = (n.groups ??= new Map()).get(gi);
      if (runs) runs.push(p.r.index, p.r.pfn, p.r.count, p.r.csum, p.r.flags);
      else n.groups.set(gi, [p.r.index, p.r.pfn, p.r.count, p.r.csum, p.r.flags]);
    } else if (p.type === RecordType.Span) addSpan(st.nodes.get(p.r.ino)!, p.r.index, p.r.pfn, p.r.count, crcs.addRecord(p.r), p.r.flags);
  }
}

// No rule of size sends a tail to the whole replay. The overlay reads the tail once and a subset of the index's groups
// (each at most once) and applies the tail's records and those groups'; a whole replay reads and applies every group and
// the same tail, and builds every node. So with an index the overlay never reads or applies more than the replay, whatever
// the tail's share of the log (a rule "tail > half the log: replay" only sent the tails the commit side lets stand — up to
// the compacted part plus COMPACT_FLOOR_BYTES, live.ts — to a mount twice as slow, after reading the tail for nothing).
// How long a tail grows is the commit side's rule alone (live.ts dueForCompaction): it bounds what the mount reads.

/**
 * The overlay of the tail `raw` (the stream bytes after the RUNS records) over the compaction,
 * or why it cannot be one (the caller then replays the whole log).
 */
export function tailOverlay(raw: Buffer, src: TailSource, crcs: SpanCrcs, runsData: Float64Array, logAfter: readonly number[]): TailOverlay | string {
  // The records are checked, not decoded: those that wait for a group's load are decoded then (taildefer.ts).
  const all = tailRecords(raw, 'the tail');
  if (typeof all === 'string') return all;
  const read = applied(all);
  if (typeof read === 'string') return read;
  // A node the tail made and dropped: none of its records is applied (taildefer.ts lessGone says why that is exact).
  const { ks, maxIno } = lessGone(all.f, read.ks, src.index.locate.maxIno), atimes = read.atimes;
  // Records of one group wait for its load; the rest are decoded and applied now.
  const split = splitTail(all, ks, src.index, src.homeOf, runsData, logAfter);
  // No record to apply now (a tail of one group's records, as most are): no group is read, none replayed.
  const o = split.eager.length ? eagerOverlay(tailDecoded(all.b, split.eager), src, crcs) : noOverlay(src.index.locate.maxIno);
  if (typeof o === 'string') return o;
  o.deferred = split.deferred;
  o.deferredFresh = split.fresh;
  o.atimes = atimes;
  o.maxIno = Math.max(o.maxIno, split.maxIno, maxIno);
  return o;
}

/**
 * The tail's records to apply (their places k among all), in one pass: less the second copy of a publish step and the
 * PUBLISHED records (v3 minor 5: the copy is the same records again, read only when the first is damaged — a full
 * replay's case, as any damage in the tail — and applying it twice would charge its names and pages twice and undo a
 * reused ino's records, its DROP), less the ATIMES records, held apart with their places (null: none): they join no
 * group, kept whole, each node's atime settled when it is adopted (tailatimes.ts). A SPAN whose page crcs are damaged:
 * why the tail is refused.
 */
function applied({ b, at, f, spanDamage, others }: TailRecords): { ks: number[]; atimes: TailAtimes | null } | string {
  // Up to the first record of a kind recordFields does not read (its ks are others' keys, ascending: a PUBLISHED, an
  // ATIMES...) every record is applied, none after an ATIMES, none a damaged SPAN when none is: listed by a builtin, no
  // loop of ours (a read-all session's 1M-file tail: 6 400 records before its ATIMES_PAGES, a loop V8 compiled at mount).
  const first = spanDamage === null ? (others.keys().next().value ?? at.length) : 0;
  const ks: number[] = [...Array(first).keys()];
  let inCopy = false, atimes: TailAtimes | null = null, seq = first;
  for (let k = first; k < at.length; k++) {
    const type = f.type[k]!;
    if (type === RecordType.Published) { inCopy = publishedCopy(b, at[k]!) === 0; continue; }
    if (inCopy) continue;
    if (type === RecordType.Atimes || type === RecordType.AtimesPages) {
      // Decoded by tailRecords (ATIMES viewed in place, its inos checked on first use).
      const rec = others.get(k);
      if (rec?.type === RecordType.Atimes) (atimes ??= new TailAtimes()).add(seq++, at[k]!, rec.r);
      else if (rec?.type === RecordType.AtimesPages) (atimes ??= new TailAtimes()).addPages(seq++, at[k]!, rec.r);
      else assert(false, 'an ATIMES record of the tail was decoded by tailRecords');
      continue;
    }
    if (type === RecordType.Span && spanDamage?.has(at[k]!)) return 'a SPAN of the tail whose page crcs are damaged';
    // An INODE before the first ATIMES never outweighs one (their places: ascending): only later ones are kept.
    if (type === RecordType.Inode && atimes) atimes.inode(f.ino[k]!, seq);
    ks.push(k);
    seq++;
  }
  return { ks, atimes };
}

/** Which copy of a publish step the PUBLISHED record at b[a] ends (checked by tailRecords: 0 or 1). */
const publishedCopy = (b: Buffer, a: number): number => u32(b, a + RECORD_HEADER + 32);

/** The groups the eager records touch, read and replayed, the records applied over them, placed. */
function eagerOverlay(recs: readonly LogRecord[], src: TailSource, crcs: SpanCrcs): TailOverlay | string {
  const ix = src.index, maxIno = ix.locate.maxIno;
  const touched = new Set<number>();
  const touch = (ino: number) => {
    if (ino < 1 || ino > maxIno) return;
    const home = src.homeOf(ino);
    if (home === 0) return;
    touched.add(home);
    for (const d of ix.namedIn.get(ino) ?? []) touched.add(d);
  };
  // A record of the compaction's own generation is applied as any other (as a replay does): only its damage
  // rule differs, and the tail takes no damaged record.
  for (const rec of recs) {
    switch (rec.type) {
      case RecordType.Inode: case RecordType.Map: case RecordType.Unmap: case RecordType.Span: touch(rec.r.ino); break;
      case RecordType.Drop: touch(rec.ino); break;
      case RecordType.Name:
        if (ix.dirs.has(rec.r.parent)) touched.add(rec.r.parent);
        touch(rec.r.ino);
        break;
      default: return `a ${rec.type} record in the tail`;
    }
    if (touched.size > TAIL_MAX_GROUPS) return `a tail touching more than ${TAIL_MAX_GROUPS} groups`;
  }
  const st: ReplayState = { nodes: new Map(), names: new Map() };
  const named = namedBy(recs), spans = new Map<number, SpanRecord[]>();
  // A set grows while it is walked: a group's linked nodes bring every directory naming them (their link counts stay whole).
  for (const dir of touched) {
    const g = src.group(dir);
    if (typeof g === 'string') return g;
    if (g.spanDamage.size) return `the group of directory ${dir} holds a SPAN whose page crcs are damaged`;
    // A file of SPANs in order that no record of the tail names (a large file not written since) is not replayed:
    // it adopts straight from them, as a group's load adopts it (lazy.ts).
    const { direct } = spansInOrder(g.pages, g.nodes);
    for (const ino of direct.keys()) if (named.has(ino)) direct.delete(ino);
    replayGroup(direct.size ? { ...g, pages: g.pages.filter((p) => !direct.has((p as { r: { ino: number } }).r.ino)) } : g, dir, st, crcs);
    for (const [ino, list] of direct) spans.set(ino, list);
    for (const ino of g.nodes.keys()) for (const d of ix.namedIn.get(ino) ?? []) touched.add(d);
    if (touched.size > TAIL_MAX_GROUPS) return `a tail touching more than ${TAIL_MAX_GROUPS} groups`;
  }
  // Only the nodes a page record or a DROP names can hold other pages after the tail: the others' pages are not
  // counted (a group of large files: thousands of spans, the same before and after).
  const paged = new Set<number>();
  for (const rec of recs) {
    if (rec.type === RecordType.Map || rec.type === RecordType.Unmap || rec.type === RecordType.Span) paged.add(rec.r.ino);
    else if (rec.type === RecordType.Drop) paged.add(rec.ino);
  }
  const before = measure(st, src, paged);
  let orphan = '';
  for (const rec of recs) {
    applyRecord(st, rec, (r) => crcs.add(r.crcs), (type, ino) => { orphan ||= `a ${type} of ino ${ino}, which has no INODE`; });
  }
  if (orphan) return orphan;
  const o = place(st, src, touched, before, measure(st, src, paged), maxIno);
  if (typeof o !== 'string') o.spans = spans;
  return o;
}

/** The overlay of no record (what eagerOverlay and place make of none, without their work). */
function noOverlay(maxIno: number): TailOverlay {
  const none = (): TailOverlay['before'] => ({ nodes: 0, bytes: 0, inline: 0, pages: [] });
  return { state: { nodes: new Map(), names: new Map() }, home: new Map(), members: new Map(), also: new Map(), parent: new Map(), touched: new Set(),
    gone: new Set(), fresh: [], before: none(), after: none(), maxIno, deferred: new Map(), deferredFresh: new Map(), atimes: null, spans: new Map() };
}

/** The inos the records name: their nodes, and each NAME's target. */
function namedBy(recs: readonly LogRecord[]): Set<number> {
  const named = new Set<number>();
  for (const rec of recs) {
    if (rec.type === RecordType.Drop) named.add(rec.ino);
    else if (rec.type === RecordType.Inode || rec.type === RecordType.Name || rec.type === RecordType.Map || rec.type === RecordType.Unmap || rec.type === RecordType.Span) named.add(rec.r.ino);
  }
  return named;
}

/** Where each node of the replayed state goes: homes, other naming directories, moved and new directories' parents. */
function place(st: ReplayState, src: TailSource, touched: Set<number>, before: TailOverlay['before'], after: TailOverlay['after'], max: number): TailOverlay | string {
  const ix = src.index;
  const namedBy = new Map<number, number[]>();
  for (const [dir, names] of st.names) {
    const d = st.nodes.get(dir);
    if (!d && names.size > 0 && !(ix.dirs.has(dir) && !touched.has(dir))) return `names in directory ${dir}, which is gone`;
    for (const ino of names.values()) {
      if (!st.nodes.has(ino) && !(ix.dirs.has(ino) && !touched.has(ino)) && !(ix.links.has(ino) && !touched.has(ix.links.get(ino)!))) return `a name in directory ${dir} of ino ${ino}, which is gone`;
      const l = namedBy.get(ino);
      if (l) l.push(dir); else namedBy.set(ino, [dir]);
    }
  }
  const o: TailOverlay = { state: st, home: new Map(), members: new Map(), also: new Map(), parent: new Map(), touched, gone: new Set(), fresh: [],
    before, after, maxIno: max, deferred: new Map(), deferredFresh: new Map(), atimes: null, spans: new Map() };
  for (const dir of touched) if (!st.nodes.get(dir) || !isDirRec(st.nodes.get(dir)!.rec)) o.gone.add(dir);
  for (const [ino, n] of st.nodes) {
    if (ino > o.maxIno) o.maxIno = ino;
    const by = (namedBy.get(ino) ?? []).sort((a, b) => a - b);
    if (isDirRec(n.rec)) {
      if (ix.dirs.has(ino) && !touched.has(ino)) return `directory ${ino} is in the tail's groups and its own`;
      o.home.set(ino, ino);
      if (by.length > 1) return `directory ${ino} has ${by.length} names`;
      if (by.length === 1) o.parent.set(ino, by[0]!);
      else if (!ix.dirs.has(ino) && ino !== 1) return `directory ${ino} has no name`;
      if (!ix.dirs.has(ino)) o.fresh.push(ino);
      continue;
    }
    if (ix.dirs.has(ino)) return `ino ${ino}, a directory of the compaction, is a file after the tail`;
    if (by.length === 0) return `ino ${ino} has no name after the tail`;
    o.home.set(ino, by[0]!);
    if (by.length < 2) continue;                 // most nodes: one name (no set and arrays per node of a 10^4-node group)
    const others = [...new Set(by.slice(1))].filter((d) => d !== by[0]);
    if (others.length) o.also.set(ino, others);
  }
  for (const [ino, home] of o.home) {
    if (ino === home) continue;
    const l = o.members.get(home);
    if (l) l.push(ino); else o.members.set(home, [ino]);
  }
  // A new directory's parent first (its load follows its parent's).
  const depth = (d: number): number => { let k = 0; for (let p = o.parent.get(d); p !== undefined && k < 4096; p = o.parent.get(p)) k++; return k; };
  o.fresh.sort((a, b) => depth(a) - depth(b));
  return o;
}

/**
 * Nodes, record bytes and inline nodes as the space model prices them (RUNS TOTALS), and the data pages
 * (as runs: a touched group may hold a file of millions of pages), of a replayed state; `paged`: only these
 * nodes' pages (the rest hold the same pages before and after the records measured around: the difference is theirs).
 * A name is priced with the node it names: not here when an untouched group holds that node (its load charges it); a name
 * of a node no group holds (in slices: the directory's names as the walk found them, of a node gone before its turn) is
 * priced by TOTALS with its directory, so here too.
 */
export function measure(st: ReplayState, src: Pick<TailSource, 'homeOf'>, paged?: ReadonlySet<number>): TailOverlay['before'] {
  const m = { nodes: st.nodes.size, bytes: 0, inline: 0, pages: [] as number[] };
  const pairs: number[] = [];
  for (const [ino, n] of st.nodes) {
    m.bytes += inodeRecordBytes(n.rec.xattrs.length);
    if (n.rec.inline.length > 0) { m.inline++; m.bytes += inlineRecordBytes(n.rec.inline.length); }
    if (paged && !paged.has(ino)) continue;
    for (const runs of n.groups?.values() ?? []) for (let k = 0; k < runs.length; k += RUN) pairs.push(runs[k + 1]!, runs[k + 2]!);
    for (const spans of n.blocks?.values() ?? []) for (let k = 0; k < spans.length; k += SPAN) pairs.push(spans[k + 1]!, spans[k + 2]!);
  }
  m.pages = normalRuns(pairs);
  for (const names of st.names.values()) for (const [name, ino] of names) if (st.nodes.has(ino) || src.homeOf(ino) === 0) m.bytes += nameRecordBytes(Buffer.byteLength(name));
  return m;
}

/** A deferred group as its tail records leave it, and what its load settles: pages freed, bytes charged over the exact. */
export interface DeferredLoad { st: ReplayState; freed: number[]; bytes: number; inline: number; nodesBefore: number; logMapped: number[]; foreign: number[] }

/**
 * Group `g` of directory `dir` replayed, then its deferred tail records applied in log order (as a full replay
 * applies them). Pages the group held or the records named (but those the log holds now: taildefer asLog) and no node holds after them are freed; the
 * bytes and inline nodes are the exact change less what the mount charged (never more: the charge is an upper bound).
 */
export function replayDeferred(g: Parameters<typeof replayGroup>[0], dir: number, d: DeferredGroup, crcs: SpanCrcs, homeOf: (ino: number) => number,
  orphan: (type: string, ino: number) => void): DeferredLoad {
  const st: ReplayState = { nodes: new Map(), names: new Map() };
  const has = (ino: number) => g.nodes.has(ino) || (ino === dir && g.dir !== null);
  // A salvaged group may keep a page record of a node whose INODE was lost: it has no node to go to.
  const pages = g.pages.filter((p) => has((p as { r: { ino: number } }).r.ino));
  replayGroup({ dir: g.dir, nodes: g.nodes, names: g.names, pages }, dir, st, crcs);
  const src = { homeOf }, before = measure(st, src);
  applyDeferred(st, d, crcs, orphan);
  const after = measure(st, src), freed: number[] = [];
  const gone = cutRuns(normalRuns([...before.pages, ...d.pages]), after.pages);
  for (let k = 0; k < gone.length; k += 2) for (let i = 0; i < gone[k + 1]!; i++) freed.push(gone[k]! + i);
  // A page the log holds now that the records leave mapped: no image the engine writes does that (the caller refuses the group).
  const logMapped = d.asLog.filter((p) => { for (let k = 0; k < after.pages.length; k += 2) if (p >= after.pages[k]! && p < after.pages[k]! + after.pages[k + 1]!) return true; return false; });
  // A page the DATA runs list that the records name (reserved once, with the DATA runs) must have been the group's own.
  const foreign = d.shared.length ? cutRuns(d.shared, before.pages) : [];
  return { st, freed, bytes: after.bytes - before.bytes - d.charge.bytes, inline: after.inline - before.inline - d.charge.inline, nodesBefore: before.nodes, logMapped, foreign };
}

/**
 * A deferred group's records applied over its replayed state in log order, as a full replay applies them (a restated
 * group's SPANs and MAPs without their cuts: apply.ts restating), less the decoding of an INODE a later one of its
 * node replaces (taildefer.ts replacedInodes): it only makes its node when there is none, its record a stand-in the
 * later INODE sets (checked: none is left).
 */
function applyDeferred(st: ReplayState, d: DeferredGroup, crcs: SpanCrcs, orphan: (type: string, ino: number) => void): void {
  const apply = restating(st, (r: SpanRecord) => crcs.add(r.crcs), orphan), replaced = replacedInodes(d.tail, d.at);
  if (!replaced) { for (const rec of tailDecoded(d.tail, d.at)) apply(rec); return; }
  const recs = tailDecoded(d.tail, d.at.filter((_, k) => replaced[k] === 0)), made: number[] = [];
  tailDecodes.records += d.at.length - recs.length;
  for (let k = 0, r = 0; k < d.at.length; k++) {
    const ino = replaced[k]!;
    if (ino === 0) { apply(recs[r++]!); continue; }
    if (st.nodes.has(ino)) continue;
    st.nodes.set(ino, { rec: STAND_IN, groups: null, blocks: null, poison: null, names: null });
    made.push(ino);
  }
  for (const ino of made) if (st.nodes.get(ino)?.rec === STAND_IN) assert(false, `ino ${ino}'s replaced INODE is not replaced`);
}

/** The record of a node made by an INODE a later one replaces (applyDeferred), until that one is applied: never read. */
const STAND_IN = Object.freeze({}) as InodeRecord;

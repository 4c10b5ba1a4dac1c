// The tail's records a lazy mount need not apply at mount (tail.ts): the tail is split into
// components by union-find over "places" — each compaction group, each ino no group holds
// (one the tail made), each data page a MAP or SPAN names. A record joins the places it
// touches: its ino's home group (HOMES) and the other directories naming it, a NAME its
// parent too, a MAP or SPAN its pages (joined by stretch: sorted by first page, each record
// with those before it whose pages it meets — joinStretches). A group's hard-linked nodes join it to the groups
// naming them. Applying one component's records to its own groups alone equals replaying
// them all, so a component of ONE group is deferred: its records are applied when that
// group first loads (lazy.ts loadGroup, same applyRecord). Anything else stays eager (read
// and replayed at mount, as before): several groups (a rename across directories, a
// link), a directory made or removed, a node the index has no home for, a fresh node paged
// before its INODE, and — when some record, or a log page after the index, names a page the RUNS list (a
// page freed in one group and taken again: which group held it is not known unread) —
// every component with page records. The mount stays conservative: the deferred pages are reserved and
// their records charged as new bytes (an upper bound), settled when the group loads.

import { inlineRecordBytes, inodeRecordBytes, nameRecordBytes, RECORD_HEADER, RecordType, u32 } from '../format/v3.js';
import type { RecordFields } from '../format/v3-peek.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import type { GroupIndex } from './groups.js';
import type { TailRecords } from './tailread.js';
import { inAndOut, isNormal, joinedApart, normalRuns } from './pageruns.js';

/** The records of one group applied when it loads (decoded then: tailread.ts tailDecoded), and what the mount charged for them. */
export interface DeferredGroup {
  tail: Buffer;                            // the tail's bytes, as read at mount
  at: number[];                            // its records' first bytes in them, in log order
  pages: number[];                         // data pages its MAP and SPAN records name (reserved at mount), as (pfn, count) pairs
  shared: number[];                        // of those, pages the DATA runs list (reserved with them; the group's own at its load: checked), normal runs
  asLog: number[];                         // pages they name that a later commit's log holds now (not reserved as data: never data at the end)
  charge: { bytes: number; inline: number };   // record bytes and inline nodes charged at mount, as if all new
  nodes: number;                           // nodes made less nodes dropped (statfs counts them before the load)
}

export interface TailSplit {
  eager: number[];                         // the first bytes of the records applied at mount, in log order
  deferred: Map<number, DeferredGroup>;    // directory -> its group's deferred records
  fresh: Map<number, number>;              // a node a deferred record made -> its group's directory
  maxIno: number;                          // the highest ino of the index and every tail record
}

/** Does the ascending (start, count) runs list hold a page of [pfn, pfn + count)? */
function meetsRuns(runs: ArrayLike<number>, pfn: number, count: number): boolean {
  // The first run ending after pfn (runs ascending and apart: their ends ascend too); it holds a page of the stretch if it starts before its end.
  let lo = 0, hi = runs.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (runs[2 * mid]! + runs[2 * mid + 1]! <= pfn) lo = mid + 1; else hi = mid;
  }
  return lo < runs.length / 2 && runs[2 * lo]! < pfn + count;
}

class Places {
  private readonly up = new Map<number, number>();
  find(k: number): number {
    let r = k, p = this.up.get(r);
    while (p !== undefined && p !== r) { r = p; p = this.up.get(r); }
    for (let c = k; c !== r;) { const n = this.up.get(c)!; this.up.set(c, r); c = n; }   // path compression
    return r;
  }
  union(a: number, b: number): void {
    const ra = this.find(a), rb = this.find(b);
    if (ra !== rb) this.up.set(ra, rb);
  }
}

/**
 * The tail's records `ks` (places among t's records, in log order) split into those applied at mount and those each of
 * one group defers to its load: decided by their fields as read in place (t.f, v3-peek.ts), no record decoded.
 */
export function splitTail(t: TailRecords, ks: readonly number[], ix: GroupIndex, homeOf: (ino: number) => number, runsData: Float64Array, logAfter: readonly number[]): TailSplit {
  const max = ix.locate.maxIno, places = new Places();
  const bad = new Set<number>();             // places whose component must stay eager (roots resolved later)
  const paged = new Set<number>();           // places of page records (MAP, SPAN, UNMAP, DROP)
  const stretches: number[] = [];            // (pfn, count, place) of each MAP and SPAN: records naming a common page are joined
  const named = new Set<number>();           // inos an INODE record made, so far
  let conflict = false, logConflict = false, maxIno = max;
  // The RUNS data as ascending runs: as they are when the compaction wrote them so (it does), else made so.
  const sorted: ArrayLike<number> = isNormal(runsData) ? runsData : normalRuns(runsData), anyData = sorted.length > 0;
  // A log page the tail's commits took from a page the RUNS list (freed by a tail record): that record must be eager,
  // else the page would stay reserved as data beside the log's own.
  if (anyData) for (const p of logAfter) if (meetsRuns(sorted, p, 1)) { conflict = logConflict = true; break; }
  // A group's linked nodes tie it to every directory naming them (their link counts are whole only together).
  const linked: number[] = [];
  for (const [ino, dirs] of ix.namedIn) {
    const home = ix.links.get(ino) ?? homeOf(ino);
    if (home) for (const d of dirs) { places.union(home, d); linked.push(d); }
    if (home) linked.push(home);
  }
  // A node's records mostly come together (its INODE, its NAME, its MAPs): a run of one ino is placed once.
  let lastIno = -1, lastKey = 0, lastDistinct = -1, lastPaged = -1, lastParent = -1, parentIsDir = false;
  const f = t.f, keys = new Float64Array(ks.length), distinct = new Set<number>(linked);
  for (let i = 0; i < ks.length; i++) {
    const j = ks[i]!, ino = f.ino[j]!, type = f.type[j]!;
    let k = 0;
    if (type === RecordType.Name) {
      const p = ino, target = f.x[j]!;
      if (p !== lastParent) { lastParent = p; parentIsDir = ix.dirs.has(p); }   // (names mostly come in one directory)
      if (parentIsDir) k = p;
      else { k = placeOf(p, max, homeOf, bad); bad.add(k); }              // a name in a directory the tail made
      if (target !== 0) {
        if (target !== lastIno) { lastKey = placeOf(target, max, homeOf, bad); lastIno = target; }
        if (lastKey !== k) places.union(k, lastKey);
      }
    } else if (type >= RecordType.Inode && type <= RecordType.Span) {      // an INODE, DROP, UNMAP, MAP, SPAN: of node ino
      if (ino !== lastIno) { lastKey = placeOf(ino, max, homeOf, bad); lastIno = ino; }
      k = lastKey;
      if (type === RecordType.Inode) {
        const dir = (f.x[j]! & S_IFMT) === S_IFDIR;
        if (ino > maxIno) maxIno = ino;
        if (ix.dirs.has(ino) ? !dir : dir) bad.add(k);       // a directory made, or one of the index's changed in kind
        if (ino > max) named.add(ino);                       // (asked of those only)
      } else {
        if (k !== lastPaged) { paged.add(k); lastPaged = k; }
        if (type === RecordType.Drop) { if (ix.dirs.has(ino)) bad.add(k); }   // a directory removed
        else if (type !== RecordType.Unmap) {                // a MAP or SPAN
          const pfn = f.x[j]!, count = f.n[j]!;
          if (ino > max && !named.has(ino)) bad.add(k);      // pages of a node not made yet: the eager replay says why
          stretches.push(pfn, count, k);
          if (!conflict && anyData && meetsRuns(sorted, pfn, count)) conflict = true;
        }
      }
    } else bad.add(0);
    keys[i] = k;
    if (k !== lastDistinct) { distinct.add(k); lastDistinct = k; }
  }
  const mapped = joinStretches(stretches, places);
  // A page mapped, let go and then taken by a later commit's log: its log owns it now, so a deferred group's records
  // may map and unmap it at the load, but it is not reserved for them (the log's reserve holds it) nor freed after.
  const asLog = new Set<number>();
  if (mapped.length) for (const p of logAfter) if (meetsRuns(mapped, p, 1)) asLog.add(p);
  // Each component: its groups, whether it must stay eager.
  const groups = new Map<number, number[]>(), eagerRoots = new Set<number>();
  for (const k of bad) eagerRoots.add(places.find(k));
  const shares = conflict && !logConflict && sharedByOne(paged, places, eagerRoots);
  if (conflict && !shares) for (const k of paged) eagerRoots.add(places.find(k));
  const rootOf = new Map<number, number>();   // each distinct key's component, found once (a tail of 10^6 records has few)
  for (const k of distinct) {
    const r = places.find(k);
    rootOf.set(k, r);
    if (!ix.dirs.has(k)) continue;
    const l = groups.get(r);
    if (l) l.push(k); else groups.set(r, [k]);
  }
  const out: TailSplit = { eager: [], deferred: new Map(), fresh: new Map(), maxIno };
  // Where each record goes, decided once per run of records of one place (most of a tail: one group's); what a deferred
  // one is charged at mount: as if it were new (an INODE its record and inline bytes, a NAME its record), the pages a
  // MAP or SPAN names, and the nodes its group will have made (an INODE of a node the tail made, once) less those dropped.
  const at = t.at, fresh = out.fresh;
  let lastK = NaN, d: DeferredGroup | null = null, dir = 0;
  for (let i = 0; i < ks.length; i++) {
    const j = ks[i]!, k = keys[i]!;
    if (k !== lastK) {
      lastK = k;
      const root = rootOf.get(k)!, gs = groups.get(root);
      if (eagerRoots.has(root) || !gs || gs.length !== 1) d = null;
      else {
        dir = gs[0]!;
        d = out.deferred.get(dir) ?? null;
        if (!d) out.deferred.set(dir, (d = { tail: t.b, at: [], pages: [], shared: [], asLog: [], charge: { bytes: 0, inline: 0 }, nodes: 0 }));
      }
    }
    if (d === null) { out.eager.push(at[j]!); continue; }
    d.at.push(at[j]!);
    const type = f.type[j], ino = f.ino[j]!;
    if (type === RecordType.Inode) {
      d.charge.bytes += inodeRecordBytes(f.n[j]!);
      if (f.m[j]! > 0) { d.charge.inline++; d.charge.bytes += inlineRecordBytes(f.m[j]!); }
      if (ino > max && !fresh.has(ino)) { fresh.set(ino, dir); d.nodes++; }
    } else if (type === RecordType.Name) { if (f.x[j] !== 0) d.charge.bytes += nameRecordBytes(f.n[j]!); }
    else if (type === RecordType.Map || type === RecordType.Span) {
      if (asLog.size === 0) d.pages.push(f.x[j]!, f.n[j]!);
      else pagesBesideLog(d, f.x[j]!, f.n[j]!, asLog);
    } else if (type === RecordType.Drop && (ino <= max || fresh.delete(ino))) d.nodes--;
  }
  // A group whose records name pages the DATA runs list (restated with a dirty 32-page group, or let go and taken
  // again): those are reserved with the DATA runs, not again for the group.
  if (shares) for (const d of out.deferred.values()) {
    if (d.pages.length === 0) continue;
    // A group holding every MAP's and SPAN's pages whole (a tail of one group's records): their union is joinStretches', sorted.
    const own = asLog.size === 0 && 3 * d.pages.length === 2 * stretches.length ? joinedApart(mapped) : normalRuns(d.pages);
    const { inside, outside } = inAndOut(own, sorted);
    d.shared = inside;
    d.pages = outside;
  }
  return out;
}

/** A node's place: its home group (HOMES); a node the tail made (past max) its own; no ino, or one no group holds, its own and eager (`bad`). */
function placeOf(ino: number, max: number, homeOf: (ino: number) => number, bad: Set<number>): number {
  if (!(ino >= 1)) { bad.add(0); return 0; }
  if (ino > max) return ino;
  const home = homeOf(ino);
  if (home === 0) { bad.add(ino); return ino; }
  return home;
}

/**
 * Whether the component of every page record is one, of one group, and may wait (not eager): then a page its records
 * name that the DATA runs list was that group's own before the tail (in an image pram writes: the only other way a
 * group's page becomes free is a page record of another group, and there is none) — checked when the group loads.
 */
function sharedByOne(paged: ReadonlySet<number>, places: Places, eager: ReadonlySet<number>): boolean {
  let root = -1;
  for (const k of paged) {
    const r = places.find(k);
    if (root >= 0 && r !== root) return false;
    root = r;
  }
  return root >= 0 && !eager.has(root);
}

/**
 * The places of page records naming a common page joined (a stretch per record, not a place per page: a SPAN
 * names up to 4096), and the pages they name as ascending runs. Sorted by first page, a stretch shares a page
 * with the ones before it exactly when it starts before the furthest end so far (that stretch holds its first page).
 */
function joinStretches(st: readonly number[], places: Places): number[] {
  const order = byFirstPage(st);
  const runs: number[] = [];
  let end = -1, key = 0;
  for (let o = 0; o < order.length; o++) {
    const i = order[o]!, pfn = st[i]!, stop = pfn + st[i + 1]!;
    if (pfn < end) { if (st[i + 2]! !== key) places.union(st[i + 2]!, key); }   // (most overlaps: records of one place)
    else { if (end >= 0) runs.push(end); runs.push(pfn); key = st[i + 2]!; }
    if (stop > end) end = stop;
  }
  if (end >= 0) runs.push(end);
  // (start, end) pairs -> (start, count)
  for (let k = 0; k < runs.length; k += 2) runs[k + 1] = runs[k + 1]! - runs[k]!;
  return runs;
}

/** Places in the (pfn, count, place) triples `st` of each, by first page (ties in any order). */
function byFirstPage(st: readonly number[]): ArrayLike<number> {
  const n = st.length / 3;
  if (n > KEY_INDEX) return byFirstPageSlow(st);
  // A typed sort, no comparator call per comparison (a mount runs this once, cold): first page and index in one double.
  const keys = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const pfn = st[3 * k]!;
    if (!(pfn < KEY_PFN)) return byFirstPageSlow(st);
    keys[k] = pfn * KEY_INDEX + k;
  }
  keys.sort();
  const order = new Uint32Array(n);
  for (let k = 0; k < n; k++) order[k] = 3 * (keys[k]! % KEY_INDEX);
  return order;
}
/** byFirstPage's keys: a first page below 2^32 and an index below 2^20 fit a double exactly. */
const KEY_PFN = 2 ** 32, KEY_INDEX = 2 ** 20;

function byFirstPageSlow(st: readonly number[]): number[] {
  const order: number[] = [];
  for (let i = 0; i < st.length; i += 3) order.push(i);
  return order.sort((a, b) => st[a]! - st[b]!);
}

/** A deferred MAP's or SPAN's pages [pfn, pfn + count): the stretches between the log's pages, those in a list of their own. */
function pagesBesideLog(d: DeferredGroup, pfn: number, count: number, asLog: ReadonlySet<number>): void {
  let from = pfn;
  for (let p = pfn; p < pfn + count; p++) {
    if (!asLog.has(p)) continue;
    if (p > from) d.pages.push(from, p - from);
    d.asLog.push(p);
    from = p + 1;
  }
  if (pfn + count > from) d.pages.push(from, pfn + count - from);
}

/**
 * The records `ks` (places among a tail's records, fields f, in log order) less those of nodes the tail made and dropped
 * (a file created, written and unlinked since the compaction: the bench's fsync target, a session's scratch files). An ino
 * past the index's highest had no node before the tail; from its first record, an INODE, through its last DROP, its
 * records take it from no node to no node: the pages they mapped are held by nothing after them (a full replay claims
 * only live runs), the bytes they would charge are gone, so applying them or not leaves the same tree, pages and totals —
 * and none is decoded, split or applied again at a group's load. Its NAME records stay (a name given and taken again can
 * hide one the directory held before). `maxIno`: the highest ino of every INODE record, the dropped too (as before).
 */
export function lessGone(f: RecordFields, ks: readonly number[], max: number): { ks: number[]; maxIno: number } {
  const first = new Map<number, number>(), lastDrop = new Map<number, number>();
  // A node's records mostly come together (its INODE, then its MAPs): a run of one ino looks it up once.
  let maxIno = max, prev = -1;
  for (let i = 0; i < ks.length; i++) {
    const j = ks[i]!, ino = f.ino[j]!;
    if (!(ino > max)) continue;
    const type = f.type[j]!;
    // Only a record of a node (an INODE, DROP, MAP, UNMAP, SPAN: its ino f.ino), not a NAME, whose directory and target are not its node.
    if (!(type >= RecordType.Inode && type <= RecordType.Span && type !== RecordType.Name)) continue;
    if (ino !== prev && !first.has(ino)) first.set(ino, type === RecordType.Inode ? i : -1);
    prev = ino;
    if (type === RecordType.Drop) lastDrop.set(ino, i);
    else if (type === RecordType.Inode && ino > maxIno) maxIno = ino;
  }
  if (lastDrop.size === 0) return { ks: ks as number[], maxIno };
  // Per node made by the tail (its first record an INODE) and dropped: the place of its last DROP, through which its records go.
  const until = new Map<number, number>();
  for (const [ino, d] of lastDrop) if (first.get(ino)! >= 0) until.set(ino, d);
  const out: number[] = [];
  let of = -1, upTo = -1;
  for (let i = 0; i < ks.length; i++) {
    const j = ks[i]!, ino = f.ino[j]!;
    const type = ino > max ? f.type[j]! : 0;
    if (type >= RecordType.Inode && type <= RecordType.Span && type !== RecordType.Name) {   // a record of a node the tail made
      if (ino !== of) { of = ino; upTo = until.get(ino) ?? -1; }
      if (i <= upTo) continue;
    }
    out.push(j);
  }
  return { ks: out, maxIno };
}

/**
 * Of a deferred group's records (first bytes `at` in the tail `b`, log order), the INODEs a later INODE of the same node
 * replaces with no DROP of it between (a file written 200 times since the compaction: 199 of its 200 INODEs): per record,
 * its node's ino, 0 for any other; null when there is none. Applied as a full replay applies them, the last INODE of a
 * node wins and no deferred record reads the ones before it (ATIMES are settled apart, tailatimes.ts; a MAP or SPAN needs
 * its node only to exist), so replayDeferred does not decode them: each only makes its node when there is none.
 */
export function replacedInodes(b: Buffer, at: ArrayLike<number>): Float64Array | null {
  let out: Float64Array | null = null;
  const later = new Set<number>();
  // From the last record back: an INODE is replaced when one of its node comes later, before any DROP of it.
  for (let k = at.length - 1; k >= 0; k--) {
    const a = at[k]!, type = b[a + 4]! | b[a + 5]! << 8;
    if (type !== RecordType.Inode && type !== RecordType.Drop) continue;
    const hi = u32(b, a + RECORD_HEADER + 4), ino = hi === 0 ? u32(b, a + RECORD_HEADER) : hi * 2 ** 32 + u32(b, a + RECORD_HEADER);
    if (type === RecordType.Drop) later.delete(ino);
    else if (later.has(ino)) (out ??= new Float64Array(at.length))[k] = ino;
    else later.add(ino);
  }
  return out;
}

// splitTail (taildefer.ts) joins the records that name a common data page by their stretches (sorted by first page),
// not by a place per page: the components must be those a join page by page gives. Seeded random MAP and SPAN
// records of files in four groups over a narrow range of pages (stretches overlapping at any page, adjacent ones
// not joined), and a few later log pages among them: each record eager or deferred to the group a page-by-page
// union-find says, and each deferred group's reserved and log-held pages the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, RecordType, type LogRecord } from '../format/v3.js';
import type { GroupIndex } from './groups.js';
import { tailRecords, type TailRecords } from './tailread.js';
import { lessGone, splitTail } from './taildefer.js';
import { Prng } from '../machine/prng.js';

const DIRS = [1, 10, 20, 30];
const homeOf = (ino: number): number => (DIRS.includes(ino) ? ino : ino < 10 ? 1 : Math.floor(ino / 10) * 10);
const index = { locate: { maxIno: 39 }, dirs: new Map(DIRS.map((d) => [d, {}])), links: new Map(), namedIn: new Map() } as unknown as GroupIndex;

/** The records framed in one buffer and read as a tail is (checked, not decoded); `ks`: every record's place, `at`: its first byte. */
function framed(recs: readonly LogRecord[]): { t: TailRecords; ks: number[]; at: number[] } {
  const t = tailRecords(Buffer.concat(recs.map((rec) => encodeRecord(rec, 7))), 'the test\'s tail');
  assert.ok(typeof t !== 'string', t as string);
  return { t, ks: recs.map((_, k) => k), at: Array.from(t.at) };
}

/** The reference: records joined by their home and by every page they share, one page at a time. */
function reference(recs: LogRecord[]): (number | null)[] {
  const up = recs.map((_, i) => i);
  const find = (i: number): number => (up[i] === i ? i : (up[i] = find(up[i]!)));
  const byKey = new Map<number, number>();
  recs.forEach((rec, i) => {
    const r = (rec as { r: { ino: number; pfn: number; count: number } }).r;
    for (const k of [homeOf(r.ino), ...Array.from({ length: r.count }, (_, j) => -(r.pfn + j + 1))]) {
      const o = byKey.get(k);
      if (o === undefined) byKey.set(k, i); else up[find(i)] = find(o);
    }
  });
  const dirsOf = new Map<number, Set<number>>();
  recs.forEach((rec, i) => { const root = find(i), s = dirsOf.get(root) ?? new Set(); s.add(homeOf((rec as { r: { ino: number } }).r.ino)); dirsOf.set(root, s); });
  return recs.map((_, i) => { const s = dirsOf.get(find(i))!; return s.size === 1 ? [...s][0]! : null; });
}

test('splitTail joins records sharing a page exactly as a page-by-page join does (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 5);
  const r = new Prng(seed);
  let deferredSeen = 0, eagerSeen = 0;
  for (let round = 0; round < 200; round++) {
    const recs: LogRecord[] = [], base = round % 8 === 7 ? 2 ** 32 - 100 : 1000;   // pages past 2^32 too (sorted another way)
    for (let i = 0, n = 1 + r.below(12); i < n; i++) {
      const ino = 2 + r.below(38), pfn = base + r.below(200), count = 1 + r.below(r.below(4) ? 8 : 60);
      if (DIRS.includes(ino)) continue;
      recs.push(r.below(2) ? { type: RecordType.Map, r: { ino, index: 0, pfn, count: Math.min(count, 32), csum: 0, flags: 0 } }
        : { type: RecordType.Span, r: { ino, index: 0, pfn, count, flags: 0, crcs: new Uint32Array(count) } });
    }
    const logAfter = Array.from({ length: r.below(4) }, () => base + r.below(260));
    const { t, ks, at } = framed(recs);
    const split = splitTail(t, ks, index, homeOf, new Float64Array(0), logAfter);
    const want = reference(recs);
    const got = at.map((a) => { for (const [dir, d] of split.deferred) if (d.at.includes(a)) return dir; return null; });
    assert.deepEqual(got, want, `seed ${seed} round ${round}: each record's group (null: eager)`);
    assert.deepEqual(split.eager, at.filter((_, i) => want[i] === null), `seed ${seed} round ${round}: the eager records in log order`);
    // Each deferred group's pages: those of its records reserved, but a later log page (held by the log, asLog) not.
    for (const [dir, d] of split.deferred) {
      const own = new Set<number>(), reserved = new Set<number>();
      for (const rec of recs.filter((_, i) => d.at.includes(at[i]!))) { const x = (rec as { r: { pfn: number; count: number } }).r; for (let p = x.pfn; p < x.pfn + x.count; p++) own.add(p); }
      for (let k = 0; k < d.pages.length; k += 2) for (let p = d.pages[k]!; p < d.pages[k]! + d.pages[k + 1]!; p++) reserved.add(p);
      assert.deepEqual(new Set(d.asLog), new Set([...own].filter((p) => logAfter.includes(p))), `seed ${seed} round ${round}: group ${dir}'s log-held pages`);
      assert.deepEqual(reserved, new Set([...own].filter((p) => !logAfter.includes(p))), `seed ${seed} round ${round}: group ${dir}'s reserved pages`);
    }
    deferredSeen += split.deferred.size;
    eagerSeen += split.eager.length ? 1 : 0;
  }
  assert.ok(deferredSeen > 50 && eagerSeen > 50, `seed ${seed}: both kinds seen (${deferredSeen} deferred groups, ${eagerSeen} rounds with eager records)`);
});

test('lessGone: the records of a node the tail made, from its INODE through its last DROP, go; its NAMEs, a node of the index, a later incarnation and pages before an INODE stay', () => {
  const inode = (ino: number): LogRecord => ({ type: RecordType.Inode, r: { ino, mode: 0o100644, uid: 0, gid: 0, rdev: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n, pages: 0, xattrs: new Uint8Array(0), inline: new Uint8Array(0) } });
  const map = (ino: number, pfn: number): LogRecord => ({ type: RecordType.Map, r: { ino, index: 0, pfn, count: 1, csum: 0, flags: 0 } });
  const name = (ino: number): LogRecord => ({ type: RecordType.Name, r: { parent: 1, ino, name: 'x' } });
  const drop = (ino: number): LogRecord => ({ type: RecordType.Drop, ino });
  const recs = [
    inode(50), name(50), map(50, 900), inode(50), drop(50),              // made, written, unlinked: all but its NAME go
    inode(51), map(51, 901), drop(51), inode(51), map(51, 902),          // its ino used again: the second node stays
    map(52, 903), inode(52), drop(52),                                   // pages before its INODE (the eager replay says why): stays
    inode(7), map(7, 904), drop(7),                                      // a node of the index: stays
    inode(60), drop(60), name(0),                                        // the highest ino, gone
  ];
  const { t, ks } = framed(recs);
  const { ks: kept, maxIno } = lessGone(t.f, ks, 39);
  assert.deepEqual(kept, [1, 8, 9, 10, 11, 12, 13, 14, 15, 18]);
  assert.equal(maxIno, 60, 'the highest ino counts though its node is gone');
  assert.deepEqual(lessGone(t.f, ks.slice(5, 7), 39).ks, ks.slice(5, 7), 'no DROP: the records as they are');
});

// A deferred group's INODE records that a later INODE of their node replaces are not decoded at its load
// (taildefer.ts replacedInodes, tail.ts applyDeferred), and a restated group's SPANs and MAPs are placed without
// their cuts (apply.ts restating): which INODEs (a DROP between keeps the one before it), and seeded random records
// of a few nodes over a replayed group, restated groups among them (in order, and not) — the state replayDeferred
// leaves is the one applyRecord leaves with every record decoded, and what it frees and charges the same.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, RecordType, type InodeRecord, type LogRecord } from '../format/v3.js';
import { tailRecords, tailDecoded, tailDecodes } from './tailread.js';
import { replacedInodes, type DeferredGroup } from './taildefer.js';
import { measure, replayDeferred, replayGroup } from './tail.js';
import { applyRecord, type ReplayState } from './apply.js';
import { SpanCrcs } from './spans.js';
import { normalRuns, cutRuns } from './pageruns.js';
import { Prng } from '../machine/prng.js';

const inodeRec = (ino: number, mode: number, size = 0): InodeRecord => ({ ino, mode, uid: 0, gid: 0, rdev: 0, size, atimeNs: 0n, mtimeNs: BigInt(size), ctimeNs: 0n, pages: 0,
  xattrs: new Uint8Array(0), inline: new Uint8Array(0) } as unknown as InodeRecord);
const inode = (ino: number, size = 0): LogRecord => ({ type: RecordType.Inode, r: inodeRec(ino, 0o100644, size) });
const drop = (ino: number): LogRecord => ({ type: RecordType.Drop, ino });

/** The records framed as a tail (checked, not decoded), and their first bytes. */
function framed(recs: readonly LogRecord[]): { b: Buffer; at: number[] } {
  const t = tailRecords(Buffer.concat(recs.map((rec) => encodeRecord(rec, 7))), 'the test\'s tail');
  assert.ok(typeof t !== 'string', t as string);
  return { b: t.b, at: Array.from(t.at) };
}

test('replacedInodes: an INODE a later INODE of its node replaces, unless a DROP of it comes between', () => {
  const recs = [inode(5), inode(6), inode(5), drop(5), inode(5, 1), inode(7), inode(5, 2), drop(6), inode(6, 3)];
  const { b, at } = framed(recs);
  assert.deepEqual(Array.from(replacedInodes(b, at)!), [5, 0, 0, 0, 5, 0, 0, 0, 0]);
  assert.equal(replacedInodes(b, at.slice(5)), null, 'each node\'s last INODE only: none');
  const big = framed([inode(2 ** 40 + 3), inode(3), inode(2 ** 40 + 3, 9)]);
  assert.deepEqual(Array.from(replacedInodes(big.b, big.at)!), [2 ** 40 + 3, 0, 0], 'an ino past 2^32 read whole');
});

const DIR = 1, FILES = [2, 3, 4], NEW = [8, 9];

/** A written 32-page group restated (apply.ts restating): its UNMAP, then SPANs and MAPs filling it in order; now and then out of order, overlapping or past it. */
function restated(rng: Prng, out: LogRecord[], ino: number, k: number): void {
  const first = 32 * rng.below(3), to = first + (rng.chance(0.8) ? 32 : 1 + rng.below(40));
  out.push({ type: RecordType.Unmap, r: { ino, index: first, count: to - first } });
  for (let at = first; at < to;) {
    const from = rng.chance(0.1) ? Math.max(0, at - 1 - rng.below(4)) : rng.chance(0.1) ? at + 1 : at;
    const count = Math.min(1 + rng.below(12), 32 - (from % 32));
    if (rng.chance(0.05)) out.push(rng.chance(0.5) ? drop(ino) : inode(FILES[rng.below(FILES.length)]!, k));
    if (rng.chance(0.5)) out.push({ type: RecordType.Map, r: { ino, index: from, pfn: 5000 + 40 * k + from, count, csum: k, flags: 0 } });
    else out.push({ type: RecordType.Span, r: { ino, index: from, pfn: 5000 + 40 * k + from, count, flags: 0, crcs: Uint32Array.from({ length: count }, (_, i) => k * 100 + i) } });
    at = from + count;
  }
}

/** Seeded records of the group's files and two new nodes: INODEs, DROPs, MAPs, UNMAPs, SPANs over a few pages, and restated groups. */
function randomRecords(rng: Prng, n: number): LogRecord[] {
  const out: LogRecord[] = [];
  for (let k = 0; k < n; k++) {
    const ino = rng.chance(0.7) ? FILES[rng.below(FILES.length)]! : NEW[rng.below(NEW.length)]!, index = rng.below(96), count = 1 + rng.below(8);
    const pfn = 1000 + 200 * ino + index;
    if (rng.chance(0.25)) { restated(rng, out, ino, k); continue; }
    switch (rng.below(6)) {
      case 0: case 1: out.push(inode(ino, k + 1)); break;
      case 2: if (rng.chance(0.3)) out.push(drop(ino)); else out.push(inode(ino, k + 1)); break;
      case 3: out.push({ type: RecordType.Map, r: { ino, index, pfn, count: Math.min(count, 32 - (index % 32)), csum: k, flags: 0 } }); break;
      case 4: out.push({ type: RecordType.Unmap, r: { ino, index, count } }); break;
      default: {
        const c = Math.min(count, 4096 - (index % 4096));
        out.push({ type: RecordType.Span, r: { ino, index, pfn, count: c, flags: 0, crcs: Uint32Array.from({ length: c }, (_, i) => k * 100 + i) } });
      }
    }
  }
  return out;
}

/** A node's state as a comparable value (its record's fields, its runs, spans with their crcs, poisoned pages). */
function shape(st: ReplayState, crcs: SpanCrcs): unknown {
  return [...st.nodes].sort((a, b) => a[0] - b[0]).map(([ino, n]) => ({ ino, size: n.rec.size, mtime: n.rec.mtimeNs, groups: n.groups && [...n.groups].sort((a, b) => a[0] - b[0]),
    spans: n.blocks && [...n.blocks].sort((a, b) => a[0] - b[0]).map(([blk, s]) => [blk, s.filter((_, i) => i % 5 !== 3), Array.from({ length: s.length / 5 }, (_, j) => Array.from(crcs.of(s[5 * j + 3]!, s[5 * j + 2]!)))]),
    poison: n.poison && [...n.poison].sort((a, b) => a - b) }));
}

test('replayDeferred with replaced INODEs passed over: the state, freed pages and charges of every record applied (seeded)', () => {
  const seed = Number(process.env.SEED ?? Date.now() % 1_000_000);
  console.log(`seed ${seed}`);
  const rng = new Prng(seed);
  let passed = 0;
  for (let round = 0; round < 300; round++) {
    const recs = randomRecords(rng, 4 + rng.below(40));
    const { b, at } = framed(recs);
    const group = () => ({ dir: inodeRec(DIR, 0o40755), nodes: new Map(FILES.map((ino) => [ino, inodeRec(ino, 0o100644)])), names: FILES.map((ino) => ({ name: `f${ino}`, ino })),
      pages: FILES.map((ino): LogRecord => ({ type: RecordType.Map, r: { ino, index: 0, pfn: 1000 + 200 * ino, count: 32, csum: ino, flags: 0 } })) });
    const d: DeferredGroup = { tail: b, at, pages: [], shared: [], asLog: [], charge: { bytes: 0, inline: 0 }, nodes: 0 };
    const homeOf = () => DIR, orphans: string[] = [], want: string[] = [];
    const crcs = new SpanCrcs(), was = tailDecodes.records;
    const got = replayDeferred(group(), DIR, d, crcs, homeOf, (type, ino) => orphans.push(`${type} ${ino}`));
    assert.equal(tailDecodes.records - was, at.length, `seed ${seed} round ${round}: every record taken once`);
    // The reference: every record decoded and applied, as before.
    const ref: ReplayState = { nodes: new Map(), names: new Map() }, refCrcs = new SpanCrcs();
    replayGroup(group(), DIR, ref, refCrcs);
    const before = measure(ref, { homeOf });
    for (const rec of tailDecoded(b, at)) applyRecord(ref, rec, (r) => refCrcs.add(r.crcs), (type, ino) => want.push(`${type} ${ino}`));
    const after = measure(ref, { homeOf });
    const gone = cutRuns(normalRuns([...before.pages]), after.pages), freed: number[] = [];
    for (let k = 0; k < gone.length; k += 2) for (let i = 0; i < gone[k + 1]!; i++) freed.push(gone[k]! + i);
    const label = `seed ${seed} round ${round}`;
    assert.deepEqual(shape(got.st, crcs), shape(ref, refCrcs), `${label}: the state`);
    assert.deepEqual(orphans, want, `${label}: the pages of no node`);
    assert.deepEqual(got.freed, freed, `${label}: the pages freed`);
    assert.equal(got.bytes, after.bytes - before.bytes, `${label}: the bytes charged`);
    assert.equal(got.nodesBefore, before.nodes, label);
    passed += replacedInodes(b, at)?.filter((x) => x !== 0).length ?? 0;
  }
  assert.ok(passed > 300, `replaced INODEs were passed over (${passed})`);
});

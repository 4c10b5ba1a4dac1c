// The step that publishes a compaction in slices, for the tests of its damage
// (publishdamage.test.ts: records damaged; publishwalk.test.ts: the walk over
// its log pages): a seeded compaction in slices with changes while it runs, the
// step's two copies record for record, bit flips, and what a mount said.
// publishrescue.test.ts takes its small readers too. Used by *.test.ts only.
import assert from 'node:assert/strict';
import { align8, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { copyRam, dump, logByte, logRecords, mountOn, PS, slicedCompaction, type Dump, type LogRecordAt } from './livekit.js';
import type { Volume } from './volume.js';

export const ino = (r: unknown): number => { assert.equal(typeof r, 'object', `made: ${String(r)}`); return (r as { ino: number }).ino; };
export const gen = (vol: Volume): number => vol.pram!.stats().generation;
export const whats = (vol: Volume): string => vol.losses.map((l) => l.what).join('; ');
export const rolledTo = (vol: Volume): number | null => { const m = vol.losses.map((l) => /the image loaded is that of commit (\d+)/.exec(l.what)).find(Boolean); return m ? Number(m[1]) : null; };

/** The committed log's records with their stream positions. */
export function records(ram: SimRam): (LogRecordAt & { pos: number })[] {
  let pos = 0;
  return logRecords(ram).map((r) => { const x = { ...r, pos }; pos += RECORD_HEADER + align8(r.length); return x; });
}

type At = LogRecordAt & { pos: number };
export const u64At = (ram: SimRam, r: LogRecordAt, k: number): number => { const p = logByte(ram, r, k); return Number(ram.page(p.pfn).readBigUInt64LE(p.off)); };
const u32At = (ram: SimRam, r: LogRecordAt, k: number): number => { const p = logByte(ram, r, k); return ram.page(p.pfn).readUInt32LE(p.off); };
/** A record's stream bytes, its header and padding included. */
function bytesOf(ram: SimRam, r: LogRecordAt): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + align8(r.length));
  for (let k = 0; k < out.length; k++) { const p = logByte(ram, r, k); out[k] = ram.page(p.pfn)[p.off]!; }
  return out;
}

/**
 * The step that published the compaction, as its two copies record for record: first = its records from where the
 * first PUBLISHED says, then that PUBLISHED; second[i] = the same record in the byte copy after it (its PUBLISHED last).
 */
export function publishCopies(ram: SimRam): { first: At[]; second: At[] } {
  const recs = records(ram), k0 = recs.findIndex((r) => r.type === RecordType.Published);
  const k1 = recs.findIndex((r, i) => i > k0 && r.type === RecordType.Published);
  assert.ok(k0 > 0 && k1 > k0, 'the log holds two PUBLISHED');
  const start = u64At(ram, recs[k0]!, RECORD_HEADER + 8), second = u64At(ram, recs[k0]!, RECORD_HEADER + 16), bytes = u64At(ram, recs[k0]!, RECORD_HEADER + 24);
  const first = recs.filter((r, i) => i <= k0 && r.pos >= start), copy = recs.slice(k0 + 1, k1 + 1);
  assert.equal(first.length, copy.length, 'a copy holds as many records');
  assert.equal(recs[k0]!.pos - start, bytes, 'copy 0: its bytes end where its PUBLISHED begins');
  assert.deepEqual([u32At(ram, recs[k0]!, RECORD_HEADER + 32), u32At(ram, recs[k1]!, RECORD_HEADER + 32)], [0, 1], 'which copy');
  assert.equal(copy[0]!.pos, second, 'copy 1 begins where both PUBLISHED say');
  assert.equal(second % (PS - 40), 0, 'at a log page\'s first stream byte');
  assert.equal(recs[k1]!.pos - second, bytes, 'copy 1: its bytes end where its PUBLISHED begins');
  for (let i = 0; i + 1 < first.length; i++) assert.ok(bytesOf(ram, first[i]!).equals(bytesOf(ram, copy[i]!)), `record ${i}: a byte copy`);
  return { first, second: copy };
}
export const covered = (vol: Volume): boolean => vol.losses.some((l) => /written twice and what this skipped was read from its other copy: nothing is lost/.test(l.what));

/** A copy of `ram` with a bit of record `at` flipped (k: its byte; the payload's first by default, 8: its length). */
export function flip(ram: SimRam, at: LogRecordAt, k = RECORD_HEADER): SimRam {
  const copy = copyRam(ram), { pfn, off } = logByte(copy, at, k);
  copy.page(pfn)[off]! ^= 0x10;
  return copy;
}

/**
 * A seeded tree; while its compaction runs in slices a directory moves, a file is removed, and (commits) a
 * commit is appended to the old log. `before`: the tree of the last commit before the publish (read from a copy);
 * the publish is commit `published`; nothing is committed after it (a kill, for the next mount).
 */
export function published(seed: number, commits: boolean) {
  let a = 0, b = 0, before: Dump = new Map(), beforeGen = 0;
  const committed = (vol: Volume, ram: SimRam) => { const m = mountOn(copyRam(ram)); before = dump(m); m.detach(); beforeGen = gen(vol); };
  let ramOf: SimRam | null = null;                       // the volume's memory (slicedCompaction makes it)
  const { ram, vol } = slicedCompaction(seed, (v, step) => {
    if (step === 1 && !commits) committed(v, ramOf!);
    if (step === 2) assert.equal(v.rename(a, 'x', b, 'x', 0), 0);
    if (step === 3) assert.equal(v.unlink(a, 'gone'), 0);
    if (step === 4 && commits) { assert.equal(v.sync(), 0); committed(v, ramOf!); }
    if (step === 5) assert.equal(v.rename(b, 'x', a, 'back', 0), 0);
  }, (v) => {
    ramOf = v.pram!.mem as SimRam;
    a = ino(v.mkdir(1, 'a', 0o755, 0, 0)); b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
    ino(v.mkdir(ino(v.mkdir(a, 'x', 0o755, 0, 0)), 'y', 0o755, 0, 0));
    assert.equal(v.write(ino(v.mknod(a, 'gone', 0o100644, 0, 0, 0)), 0, Buffer.alloc(5000, 5)), 5000);
  });
  return { ram, vol, before, beforeGen, after: dump(vol), publishedGen: gen(vol) };
}

// Damage to a compaction in slices' log that once loaded nothing of it though what it took is
// known (docs/FORMAT.md §v3, Mount and damage; the bit-flip campaign's v3-sliced-tail runs that
// ended at commit 0 once a commit followed the publish):
// - the same record of the publish step damaged in both copies (v3 minor 5). Bit flips rarely hit
//   the same bit twice: every bit of the record is then right in one copy, and the mix of the two
//   that checks is the record (mendRecord, pram/publishstep.ts). The same bit flipped in both, or
//   more bits apart than a mend tries: the step is lost, as before (publishdamage.test.ts);
// - a next pointer damaged before the index's page, or the index's page's header, when the INDEX
//   or RUNS records do not check: LOCATE alone still names the index's page (pram/logindexed.ts);
//   a damaged header before a page the index names is walked past (pram/logwalk.ts);
// - LOCATE damaged and a record before the RUNS TOTALS whose resync skips it: whether the
//   compaction ran in slices was unknown, so the damage was taken for one that may reach its
//   publish step; reading now resumes at the TOTALS found whole in the skipped bytes (replay.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { align8, RECORD_HEADER, RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { MEND_BITS_MAX } from '../pram/publishstep.js';
import { HeaderView } from '../format/header.js';
import { logPages } from '../pram/groups.js';
import { copyRam, dump, growUntilDue, logByte, logRecords, mountOn, nextCommitClean, PS, randomTree, slicedCompaction, type LogRecordAt } from './livekit.js';
import { gen, ino, rolledTo, whats } from './publishkit.js';

const MENDED = /damaged in both copies, at different bits: it was read .* nothing is lost/;

/** The step's records in copy 0 and the same records in copy 1 (PUBLISHED left out: it says where the copies are). */
function stepCopies(ram: SimRam): { first: LogRecordAt[]; second: LogRecordAt[] } {
  let pos = 0;
  const recs = logRecords(ram).map((r) => { const x = { ...r, pos }; pos += RECORD_HEADER + align8(r.length); return x; });
  const k0 = recs.findIndex((r) => r.type === RecordType.Published), k1 = recs.findIndex((r, i) => i > k0 && r.type === RecordType.Published);
  assert.ok(k0 > 0 && k1 > k0, 'two PUBLISHED');
  const at = logByte(ram, recs[k0]!, RECORD_HEADER + 8), start = Number(ram.page(at.pfn).readBigUInt64LE(at.off));
  const first = recs.filter((r, i) => i < k0 && r.pos >= start), second = recs.slice(k0 + 1, k1);
  assert.equal(first.length, second.length, 'a copy holds as many records');
  return { first, second };
}

/** A copy of `ram` with `mask` xored into byte k of record `at`. */
function flip(ram: SimRam, at: LogRecordAt, k: number, mask: number): SimRam {
  const copy = copyRam(ram), { pfn, off } = logByte(copy, at, k);
  copy.page(pfn)[off]! ^= mask;
  return copy;
}

/** A compaction in slices (a directory moved and a file removed while it ran), then a commit after its publish. */
function publishedThenCommit(seed: number): { ram: SimRam; latest: ReturnType<typeof dump>; newest: number } {
  let a = 0, b = 0;
  const { ram, vol } = slicedCompaction(seed, (v, step) => {
    if (step === 2) assert.equal(v.rename(a, 'x', b, 'x', 0), 0);
    if (step === 3) assert.equal(v.unlink(a, 'gone'), 0);
  }, (v) => {
    a = ino(v.mkdir(1, 'a', 0o755, 0, 0)); b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
    ino(v.mkdir(ino(v.mkdir(a, 'x', 0o755, 0, 0)), 'y', 0o755, 0, 0));
    assert.equal(v.write(ino(v.mknod(a, 'gone', 0o100644, 0, 0, 0)), 0, Buffer.alloc(5000, 5)), 5000);
  });
  const f = ino(vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(vol.write(f, 0, Buffer.from('after the publish')), 17);
  assert.equal(vol.sync(), 0);                            // the older slot names this log now: no older log to fall back to
  const latest = dump(vol), newest = gen(vol);
  vol.detach();
  assert.ok(latest.has('/b/x/y') && !latest.has('/a/gone'), `seed ${seed}: the step's changes are in the tree`);
  return { ram, latest, newest };
}

test('the same record damaged in both copies of the publish step at different bits (payload, length, generation): mended, nothing lost, the newest tree loads', () => {
  for (const seed of [61, 62]) {
    const s = publishedThenCommit(seed), { first, second } = stepCopies(s.ram);
    assert.ok(first.length >= 4, `seed ${seed}: ${first.length} records in the step`);
    for (let i = 0; i < first.length; i++) {
      // Copy 0: a payload bit; copy 1: another payload bit, its generation's, or its length's (the walk resyncs past it).
      const k1 = [RECORD_HEADER + 1, 12, 8][i % 3]!;
      const ram = flip(flip(s.ram, first[i]!, RECORD_HEADER, 0x10), second[i]!, k1, 0x04);
      const label = `seed ${seed}, record ${i} of ${first.length} (type ${first[i]!.type}), copy 1 byte ${k1}`;
      const vol = mountOn(ram, { verify: i % 2 ? 'lazy' : 'full' });
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.ok(vol.losses.some((l) => MENDED.test(l.what)), `${label}: said mended (${whats(vol)})`);
      assert.deepEqual(dump(vol), s.latest, `${label}: the newest tree`);
      assert.equal(gen(vol), s.newest, label);
      nextCommitClean(vol, ram, label);   // the next commit (a fresh log) mounts as loaded, with no loss
    }
  }
});

test('more bits apart than a mend tries, or the same bit in both copies: the step is lost, nothing of the log loads (said), as before', () => {
  const s = publishedThenCommit(63), { first, second } = stepCopies(s.ram);
  assert.ok(2 * 6 > MEND_BITS_MAX, 'six bits in each copy are more than a mend tries');
  for (const [what, k, m0, m1] of [['12 bits apart', RECORD_HEADER + 1, 0x3f, 0xfc], ['the same bit', RECORD_HEADER, 0x10, 0x10]] as const) {
    const ram = flip(flip(s.ram, first[0]!, RECORD_HEADER, m0), second[0]!, k, m1);
    const vol = mountOn(ram, { verify: 'full' });
    assert.equal(rolledTo(vol), 0, `${what}: ${whats(vol)}`);
    assert.ok(!vol.losses.some((l) => MENDED.test(l.what)), `${what}: not mended`);
    assert.deepEqual([...dump(vol).keys()].filter((p) => !p.startsWith('/lost+found')), [], `${what}: nothing loads`);
    vol.detach();
  }
});

test('LOCATE alone names the index\'s page when the INDEX or RUNS records do not check: a damaged next pointer before it goes on there, its damaged header is walked past; nothing but what the damage held is lost', () => {
  const seed = 64, s = publishedThenCommit(seed);
  const h = new HeaderView(s.ram.page(0)), slot = h.readSlot(h.current()!.which)!;
  const pages = logPages(s.ram, slot.headPfn, slot.log!.logPages);
  assert.ok(typeof pages !== 'string', `seed ${seed}: ${String(pages)}`);
  const recs = logRecords(s.ram), locate = recs[0]!, at = logByte(s.ram, locate, RECORD_HEADER);
  assert.equal(locate.type, RecordType.Locate, `seed ${seed}: the log begins with LOCATE`);
  const indexSeq = Math.floor(Number(s.ram.page(at.pfn).readBigUInt64LE(at.off)) / (PS - 40)), n = pages.length;
  assert.ok(indexSeq >= 1 && indexSeq < n - 1, `seed ${seed}: the index begins in log page ${indexSeq} of ${n}`);
  for (const type of [RecordType.Index, RecordType.Runs]) {
    const rec = recs.find((r) => r.type === type)!;
    // The page before the index's leads nowhere; the INDEX (or first RUNS) record is damaged: before, the log was cut there.
    const ram = flip(copyRam(s.ram), rec, RECORD_HEADER + 4, 0x01);
    ram.page(pages[indexSeq - 1]!)[PS - 8 + 1]! ^= 0x08;
    const vol = mountOn(ram, { verify: 'full' }), label = `seed ${seed}, record type ${type} damaged, log page ${indexSeq - 1}'s next pointer`;
    assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
    assert.ok(vol.losses.some((l) => new RegExp(`the log's index names log page ${indexSeq} at pfn:${pages[indexSeq]!.toString(16)}: the walk goes on there`).test(l.what)), `${label}: ${whats(vol)}`);
    assert.deepEqual(dump(vol), s.latest, `${label}: the newest tree (the index holds no file)`);
    assert.equal(gen(vol), s.newest, label);
    vol.detach();
  }
  // The index's page's header damaged and its INDEX record: LOCATE names the page the page before leads to: walked past.
  const ram = flip(copyRam(s.ram), recs.find((r) => r.type === RecordType.Index)!, RECORD_HEADER + 4, 0x01);
  ram.page(pages[indexSeq]!)[0]! ^= 0x20;
  const vol = mountOn(ram, { verify: 'full' });
  assert.ok(vol.losses.some((l) => new RegExp(`log page ${indexSeq} pfn:${pages[indexSeq]!.toString(16)} has a damaged header .*the log's index names it: walked past`).test(l.what)), whats(vol));
  assert.equal(rolledTo(vol), null, whats(vol));
  assert.deepEqual(dump(vol), s.latest, 'the newest tree');
  vol.detach();
  // Two damaged headers in a row, the second the index's page: the first leads to the page LOCATE names, so both are
  // walked past (before, the first was not: the page it leads to has no whole header). What a resync skips costs its records.
  assert.ok(indexSeq >= 2, `seed ${seed}: a page between the head and the index's`);
  const two = copyRam(s.ram);
  two.page(pages[indexSeq - 1]!)[4]! ^= 0x01;
  two.page(pages[indexSeq]!)[0]! ^= 0x20;
  const v2 = mountOn(two, { verify: 'full' });
  assert.ok(v2.losses.some((l) => new RegExp(`log page ${indexSeq - 1} pfn:${pages[indexSeq - 1]!.toString(16)} has a damaged header .*it leads to log page ${indexSeq}, which the slot or the log's index names: walked past`).test(l.what)), whats(v2));
  assert.ok(v2.losses.some((l) => new RegExp(`log page ${indexSeq} pfn:${pages[indexSeq]!.toString(16)} has a damaged header .*the log's index names it: walked past`).test(l.what)), whats(v2));
  assert.equal(rolledTo(v2), null, whats(v2));
  assert.equal(gen(v2), s.newest);
  assert.ok(dump(v2).has('/later') && dump(v2).has('/b/x/y'), `the commit after the publish and the step's changes load: ${whats(v2)}`);
  v2.detach();
});

test('LOCATE and a record before the RUNS TOTALS damaged, its resync past the TOTALS: reading resumes at the TOTALS (whole compaction or in slices, a commit after it): nothing but the damaged records is lost', () => {
  // Whole compactions and one in slices, each with a commit after it.
  const whole = (seed: number): { ram: SimRam; latest: ReturnType<typeof dump>; newest: number } => {
    const { ram, vol } = randomTree(seed, 250);
    assert.equal(vol.sync(), 0);
    growUntilDue(vol);
    vol.pram!.slices!.driven = false;                      // the due compaction runs whole in the next commit
    assert.equal(vol.sync(), 0);
    ino(vol.mknod(1, 'later', 0o100644, 0, 0, 0));
    assert.equal(vol.sync(), 0);
    const latest = dump(vol), newest = gen(vol);
    vol.detach();
    return { ram, latest, newest };
  };
  for (const [label, s] of [['whole, seed 67', whole(67)], ['whole, seed 68', whole(68)], ['in slices, seed 66', publishedThenCommit(66)]] as const) {
    const recs = logRecords(s.ram);
    assert.equal(recs[0]!.type, RecordType.Locate, `${label}: the log begins with LOCATE`);
    const index = recs.filter((r) => r.type === RecordType.Index).at(-1)!, totals = recs.find((r) => r.type === RecordType.Runs)!;
    // The resync of a damaged INDEX goes to the next page's first record: past the TOTALS when it lies in the same page.
    assert.equal(logByte(s.ram, index, 0).pfn, logByte(s.ram, totals, 0).pfn, `${label}: the INDEX and the TOTALS share a log page`);
    const ram = flip(flip(s.ram, recs[0]!, RECORD_HEADER + 4, 0x01), index, RECORD_HEADER + 9, 0x02);
    const vol = mountOn(ram, { verify: 'full' });
    assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
    assert.deepEqual(dump(vol), s.latest, `${label}: the newest tree (LOCATE and INDEX hold no file)`);
    assert.equal(gen(vol), s.newest, label);
    vol.detach();
  }
});

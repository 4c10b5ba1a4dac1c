// The step that published a compaction in slices (v3 minor 5, docs/FORMAT.md §v3, Mount and
// damage), as the log walk reads it: a step over many log pages, a record's length damaged in
// either copy (the walk resyncs at the next page's first record), a log page's header or next
// pointer damaged before, inside or after the step (walked past, or on at the page the slot
// or the log's index names), and a lazy mount that applies the step once. Damaged records
// of the step: publishdamage.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { logPages } from '../pram/groups.js';
import { tailDecoded } from '../pram/tailread.js';
import { inodeRecordBytes, RECORD_HEADER, RecordType } from '../format/v3.js';
import { copyRam, dump, mountOn, nextCommitClean, PS, randomOp, slicedCompaction } from './livekit.js';
import { Prng } from '../machine/prng.js';
import { covered, flip, gen, ino, publishCopies, published, records, rolledTo, u64At, whats } from './publishkit.js';

test('a lazy mount applies the publish step once: the second copy is neither replayed nor charged (a deferred group\'s records, the space model before it loads)', () => {
  for (const seed of [51, 52]) {
    let k = 0, k2 = 0;
    const { ram, vol } = slicedCompaction(seed, (v, step) => {
      if (step === 2) assert.ok(typeof v.setattr(k2, { uid: 7 }) === 'object');
      if (step === 6) assert.ok(typeof v.setattr(k, { mode: 0o100600 }) === 'object');
    }, (v) => {
      const b = ino(v.mkdir(1, 'b', 0o755, 0, 0));
      k = ino(v.mknod(b, 'k', 0o100644, 0, 0, 0)); k2 = ino(v.mknod(b, 'k2', 0o100644, 0, 0, 0));
    });
    vol.detach();
    publishCopies(ram);
    const full = mountOn(copyRam(ram)), want = dump(full), bytes = full.pram!.space.shape.bytes;
    full.detach();
    const lazy = mountOn(copyRam(ram), { verify: 'lazy' }), tail = lazy.pram!.lazyLog?.tail;
    assert.ok(tail && tail.deferred.size === 1, `seed ${seed}: /b's records wait for its load`);
    const d = [...tail.deferred.values()][0]!, recs = tailDecoded(d.tail, d.at);
    assert.deepEqual(recs.map((r) => r.type === RecordType.Inode ? r.r.ino : -r.type).sort((x, y) => x - y), [k, k2].sort((x, y) => x - y), `seed ${seed}: one INODE each, once`);
    // Charged as new until /b loads: two INODE records over the full replay's count, not four.
    assert.equal(lazy.pram!.space.shape.bytes - bytes, 2 * inodeRecordBytes(0), `seed ${seed}: the space model before the load`);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: the tree`);
    assert.equal(lazy.pram!.space.shape.bytes, bytes, `seed ${seed}: settled at the load`);
    lazy.detach();
  }
});

test('a publish step of many log pages: a record damaged in either copy (its length too: the walk resyncs at the next page\'s first record, in the copy as anywhere) is read from the other', () => {
  const seed = 41, r = new Prng(seed + 100);
  const { ram, vol } = slicedCompaction(seed, (v, step) => {
    if (step % 7 === 3) for (let i = 0; i < 4; i++) randomOp(v, r);   // writes, unlinks, renames between slices
  });
  const want = dump(vol);
  vol.detach();
  const { first, second } = publishCopies(ram);
  assert.ok(second[second.length - 1]!.pos - second[0]!.pos > 2 * PS, `seed ${seed}: the copy spans log pages`);
  for (let i = 0; i < first.length; i += 4) {
    for (const [c, rec] of [first[i]!, second[i]!].entries()) {
      const vol2 = mountOn(flip(ram, rec, 8), { verify: 'full' });
      assert.equal(rolledTo(vol2), null, `copy ${c}, record ${i}: ${whats(vol2)}`);
      assert.ok(covered(vol2), `copy ${c}, record ${i}: ${whats(vol2)}`);
      assert.deepEqual(dump(vol2), want, `copy ${c}, record ${i} of ${first.length}: the published tree`);
      vol2.detach();
    }
  }
  // A page of the second copy that is no log page (its header damaged) cuts the walk there: the first copy is whole,
  // the published tree loads, and the cut is the only loss (no commit after it to roll back).
  const page = second.map((r) => r.pfn).find((pfn, i, all) => i > 0 && pfn !== all[0])!;
  const cut = copyRam(ram);
  cut.page(page)[12]! ^= 0x04;
  const v = mountOn(cut, { verify: 'full' });
  assert.equal(rolledTo(v), null, whats(v));
  assert.deepEqual(v.losses.map((l) => /log page \d+ pfn:[0-9a-f]+ has a damaged header/.test(l.what)), [true], whats(v));
  assert.deepEqual(dump(v), want, 'the published tree, from the first copy');
  v.detach();
});

test('after the next commit is durable: a damaged log page header anywhere, the head\'s too (before, inside or after the publish step) is walked past and nothing is lost; a damaged next pointer goes on at the page the slot (the tail) or the log\'s index names', () => {
  const seed = 37, s = published(seed, true);
  const f = ino(s.vol.mknod(1, 'later', 0o100644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.alloc(3 * PS, 9)), 3 * PS);
  assert.equal(s.vol.sync(), 0);                          // appended after PUBLISHED: no older log to fall back to
  const newest = gen(s.vol), latest = dump(s.vol);
  s.vol.detach();
  const h = new HeaderView(s.ram.page(0)), slot = h.readSlot(h.current()!.which)!;
  const found = logPages(s.ram, slot.headPfn, slot.log!.logPages);
  assert.ok(typeof found !== 'string' && found.length >= 4, `seed ${seed}: a log of ${String(found)} pages`);
  const pages = found as number[];
  const { second } = publishCopies(s.ram);
  assert.ok(pages.indexOf(second[0]!.pfn) > 0, `seed ${seed}: the second copy begins past the head`);
  // Each header byte that the walk checks (magic, first, log id, seq, the crc): before this, every one ended at commit 0.
  for (const [seq, pfn] of pages.entries()) {
    for (const byte of [0, 4, 9, 16, 28]) {
      const ram = copyRam(s.ram);
      ram.page(pfn)[byte]! ^= 0x20;
      const label = `seed ${seed}, log page ${seq} of ${pages.length}, header byte ${byte}`;
      // A lazy mount reads a page before the index when its group loads (the index names its place: lazy.ts), or replays.
      const vol = mountOn(ram, { verify: (seq + byte) % 2 ? 'lazy' : 'full' });
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), latest, `${label}: the newest tree`);
      const said = [...new Set([...vol.losses, ...vol.pram!.stats().losses].map((l) => l.what))];
      assert.deepEqual(said.map((w) => /has a damaged header .*(walked past|the index names its place)/.test(w)), [true], `${label}: ${said.join('; ')}`);
      assert.equal(gen(vol), newest, label);
      nextCommitClean(vol, ram, label);   // the first commit after damage compacts: it mounts clean
    }
  }
  // The next pointer of the page before the tail: the slot names the tail page.
  const n = pages.length, cut = copyRam(s.ram);
  cut.page(pages[n - 2]!)[PS - 8 + 2]! ^= 0x40;
  const v = mountOn(cut, { verify: 'full' });
  assert.equal(rolledTo(v), null, whats(v));
  assert.deepEqual(v.losses.map((l) => /next pointer is damaged .*the slot names log page \d+, its tail/.test(l.what)), [true], whats(v));
  assert.deepEqual(dump(v), latest);
  v.detach();
  // The next pointer of a page before the index's page, or of the page before it: the RUNS LOG records, or LOCATE, name
  // the page it should lead to (with the page's header damaged as well: the index names it, so it is walked past).
  const indexSeq = Math.floor(u64At(s.ram, records(s.ram)[0]!, RECORD_HEADER) / (PS - 40));
  assert.ok(indexSeq >= 2 && indexSeq + 1 < n - 1, `seed ${seed}: the index begins in log page ${indexSeq} of ${n}`);
  for (let seq = 1; seq <= indexSeq; seq++) {
    for (const header of seq < indexSeq ? [false, true] : [false]) {     // (the index's page itself: its header is read to trust the index)
      const ram = copyRam(s.ram);
      ram.page(pages[seq - 1]!)[PS - 8 + 1]! ^= 0x08;
      if (header) ram.page(pages[seq]!)[16]! ^= 0x01;
      const vol = mountOn(ram, { verify: 'full' }), label = `seed ${seed}, log page ${seq - 1}'s next pointer${header ? ', page ' + seq + '\'s header' : ''}`;
      assert.equal(rolledTo(vol), null, `${label}: ${whats(vol)}`);
      assert.ok(vol.losses.some((l) => new RegExp(`the log's index names log page ${seq} at pfn:${pages[seq]!.toString(16)}: the walk goes on there`).test(l.what)), `${label}: ${whats(vol)}`);
      assert.deepEqual(dump(vol), latest, label);
      vol.detach();
    }
  }
  // A next pointer past the index's page and before the tail's: nothing names the page it should lead to (cut, as before).
  const past = copyRam(s.ram);
  past.page(pages[indexSeq]!)[PS - 8 + 1]! ^= 0x08;
  const p = mountOn(past, { verify: 'full' });
  assert.ok(p.losses.some((l) => new RegExp(`log page ${indexSeq + 1} pfn:[0-9a-f]+ (is outside the arena|has a damaged header .*): the records after it are lost`).test(l.what)), whats(p));
  p.detach();
  // The head's next pointer and page 1's header both damaged, LOCATE too: nothing says which page follows it (cut).
  const both = copyRam(s.ram);
  both.page(pages[0]!)[PS - 8 + 2]! ^= 0x40;
  both.page(pages[1]!)[9]! ^= 0x20;
  both.page(pages[0]!)[32 + 20]! ^= 0x20;
  const b = mountOn(both, { verify: 'full' });
  assert.ok(b.losses.some((l) => /log page 1 pfn:[0-9a-f]+ is outside the arena: the records after it are lost/.test(l.what)), whats(b));
  b.detach();
});

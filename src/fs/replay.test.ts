// The v3 replay applies records as it reads them and starts over when damage in
// an appended commit cuts the log back (pram/replay.ts): these tests pin that a
// cut loads exactly the older commit, with the same losses whether the mount
// verifies data lazily or in full, and that a clean log of many MAP records
// (one per page: no extents) loads every page where the log put it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { copyRam, dump, logByte, logRecords, mountOn, newRam, PS, randomOp, type Dump } from './livekit.js';

const generation = (ram: SimRam) => new HeaderView(ram.page(0)).current()!.slot.generation;

test('damage in the last appended commit: lazy and full mounts load exactly the commit before it and report the same losses', () => {
  for (const seed of [41, 42, 43]) {
    const r = new Prng(seed);
    const ram = newRam(4096);
    const vol = mountOn(ram);
    const byGen = new Map<number, Dump>();
    for (let round = 0; round < 8; round++) {
      for (let k = 1 + r.below(4); k > 0; k--) randomOp(vol, r);
      if (vol.sync() !== 0) assert.fail(`seed ${seed}: sync`);
      byGen.set(generation(ram), dump(vol));
    }
    vol.detach();
    const records = logRecords(ram);
    const copy = copyRam(ram);
    // The last record's generation (under every record's crc; a SPAN's page crcs are not): a record of the newest commit.
    const at = logByte(copy, records[records.length - 1]!, 12);
    copy.page(at.pfn)[at.off]! ^= 0x10;
    const last = generation(ram);
    const seen: { losses: string[]; tree: Dump }[] = [];
    for (const verify of ['lazy', 'full'] as const) {
      const v = mountOn(copyRam(copy), { verify });
      const losses = v.losses.map((l) => `${l.path} ${l.pfn} ${l.what}`);
      const rolled = losses.map((l) => /commits (\d+)\.\.(\d+) are not replayed, the image loaded is that of commit (\d+)/.exec(l)).find(Boolean);
      assert.ok(rolled, `seed ${seed} ${verify}: the cut is reported: ${losses.join('; ')}`);
      assert.equal(Number(rolled![2]), last, `seed ${seed} ${verify}: up to the newest commit`);
      const loaded = Number(rolled![3]);
      assert.ok(loaded < last && byGen.has(loaded), `seed ${seed} ${verify}: commit ${loaded} is one the image had`);
      const tree = dump(v);
      assert.deepEqual(tree, byGen.get(loaded), `seed ${seed} ${verify}: the tree is commit ${loaded}'s`);
      seen.push({ losses, tree });
      v.detach();
    }
    assert.deepEqual(seen[0]!.losses, seen[1]!.losses, `seed ${seed}: lazy and full report the same losses`);
  }
});

test('a file of one MAP per page across many groups, rewritten in part and truncated, loads page for page (lazy and full)', () => {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  const f = vol.mknod(1, 'big', 0o100644, 0, 0, 0);
  if (typeof f === 'number') assert.fail('mknod');
  const body = Buffer.alloc(200 * PS);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  assert.equal(vol.write(f.ino, 0, body), body.length);
  assert.equal(vol.sync(), 0);
  const patch = Buffer.alloc(3 * PS + 100, 0x5a);
  assert.equal(vol.write(f.ino, 31 * PS + 7, patch), patch.length);   // across a group boundary: UNMAP + MAPs
  assert.notEqual(typeof vol.setattr(f.ino, { size: 150 * PS + 1 }), 'number', 'truncate');
  assert.equal(vol.sync(), 0);
  const expect = dump(vol);
  vol.detach();
  for (const verify of ['lazy', 'full'] as const) {
    const v = mountOn(copyRam(ram), { verify });
    assert.deepEqual(v.losses, [], verify);
    assert.deepEqual(dump(v), expect, verify);
    v.detach();
  }
});

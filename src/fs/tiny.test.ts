// What a tiny file costs in a v3 log arena (issue 13: a file of <= 100 bytes
// uses <= 512 bytes of arena). Its INODE record carries its bytes inline and a
// NAME record its name; the ledger prices both exactly (inline bytes 8-aligned)
// and keeps as much again for the next compaction. Measured as statfs counts it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { ENOSPC } from '../format/errno.js';
import { inlineRecordBytes, inodeRecordBytes, logPayload, nameRecordBytes } from '../format/v3.js';
import { mountOn, newRam, PS } from './livekit.js';
import type { Volume } from './volume.js';

const used = (vol: Volume): number => { const s = vol.statfs(); return s.blocks - s.bfree; };
const body = (i: number): Buffer => Buffer.alloc(100, i & 0xff);
const name = (i: number): string => `s${i}`;
/** The log bytes of one 100-byte file named `s${i}`: its INODE record with the bytes inline, and its NAME record. */
const recordBytes = (i: number): number => inodeRecordBytes(0) + inlineRecordBytes(100) + nameRecordBytes(name(i).length);

/** Make files `from`..`to`-1 of 100 bytes in `dir`: the count made before the first ENOSPC. */
function fill(vol: Volume, dir: number, from: number, to: number): number {
  for (let i = from; i < to; i++) {
    const f = vol.mknod(dir, name(i), 0o100644, 0, 0, 0);
    if (typeof f === 'number') { assert.equal(f, -ENOSPC); return i - from; }
    const n = vol.write(f.ino, 0, body(i));
    if (n !== 100) { assert.equal(n, -ENOSPC); assert.equal(vol.unlink(dir, name(i)), 0); return i - from; }
  }
  return to - from;
}

test('a 100-byte file costs at most 512 bytes of arena (statfs: its log records and the room kept to compact them), and a remount counts the same', () => {
  const ram = newRam(2048);                     // 8 MiB
  const vol = mountOn(ram);
  assert.equal(vol.sync(), 0);
  const empty = used(vol);
  const dir = (vol.mkdir(1, 'd0', 0o755, 0, 0) as { ino: number }).ino;
  assert.equal(fill(vol, dir, 0, 1000), 1000);
  assert.equal(vol.sync(), 0);
  let records = 0;
  for (let i = 0; i < 1000; i++) records += recordBytes(i);
  assert.equal(records / 1000, 248, 'a 100-byte file is an INODE record of 200 bytes and a NAME record of 48');
  const perFile = (used(vol) - empty) * PS / 1000;
  assert.ok(perFile <= 512, `1000 files of 100 bytes: ${perFile} B of arena each`);
  // The log holds what it was told, and the ledger promises its compaction, no more: about twice 248 bytes.
  assert.ok(perFile >= 2 * 248, `${perFile} B per file: less than the records and their compaction take`);
  const shape = { ...vol.pram!.space.shape }, before = used(vol);
  vol.detach();
  const back = mountOn(ram);
  assert.deepEqual({ ...back.pram!.space.shape }, shape, 'the remount counts what the writes counted');
  assert.equal(used(back), before, 'statfs shows the same arena used after the remount');
  for (const i of [0, 1, 500, 999]) assert.deepEqual(back.read(back.resolve(`/d0/${name(i)}`), 0, 200), body(i), name(i));
  // A compaction of them takes what the ledger promised, and leaves the arena no fuller.
  const need = back.pram!.space.need();
  assert.equal(back.pram!.checkpoint(back.images()), 0);
  const pages = new HeaderView(ram.page(0)).current()!.slot.log!.logPages;
  assert.ok(pages <= need && need <= pages + 2, `the compaction took ${pages} log pages, the ledger promised ${need}`);
  assert.ok(used(back) <= before, `after the compaction ${used(back)} pages used, ${before} before`);
  back.detach();
});

test('capacity: a full 4 MiB arena holds as many 100-byte files as 2 × 248 bytes each allow (the 128-byte pricing of inline bytes held about 5 % fewer)', () => {
  const ram = newRam(1024);
  const vol = mountOn(ram);
  assert.equal(vol.sync(), 0);
  const room = vol.statfs().bfree;
  const made = fill(vol, 1, 0, 1 << 20);
  // Each file: 248 bytes of log and as much promised for the compaction; 2 % slack for page ends and the root.
  const exact = Math.floor(room * logPayload(PS) / (2 * 248));
  const priced128 = Math.floor(room * logPayload(PS) / (248 + 248 + (128 - 104)));
  assert.ok(made >= 0.98 * exact && 0.98 * exact > priced128, `${made} files fitted in ${room} free pages: exact pricing allows ${exact}, the 128-byte one ${priced128}`);
  assert.equal(vol.sync(), 0, 'the full arena commits');
  assert.equal(vol.pram!.checkpoint(vol.images()), 0, 'and compacts: the ledger kept room for a fresh log');
  assert.equal(vol.sync(), 0);
  vol.detach();
  const back = mountOn(ram);
  assert.deepEqual(back.losses, []);
  for (const i of [0, made >> 1, made - 1]) assert.deepEqual(back.read(back.resolve(`/${name(i)}`), 0, 200), body(i), name(i));
  assert.equal((back.readdir(1, 0, made + 10) as unknown[]).length, made + 2, 'every name, with . and ..');
  back.detach();
});

test('growing an inline file is admitted only while its compaction still fits: ENOSPC changes nothing, and the full arena compacts', () => {
  const ram = newRam(256);                      // 1 MiB
  const vol = mountOn(ram);
  let made = 0;
  for (;; made++) {
    const f = vol.mknod(1, name(made), 0o100644, 0, 0, 0);
    if (typeof f === 'number') { assert.equal(f, -ENOSPC); break; }
    if (vol.write(f.ino, 0, Buffer.from([made & 0xff])) !== 1) { assert.equal(vol.unlink(1, name(made)), 0); break; }
  }
  assert.ok(made > 1000, `${made} one-byte files`);
  assert.equal(vol.sync(), 0);
  // Free a little room, then grow one-byte files to 128 bytes until the ledger says no.
  for (let i = made - 40; i < made; i++) assert.equal(vol.unlink(1, name(i)), 0);
  made -= 40;
  let grown = 0;
  for (; grown < made; grown++) {
    const f = vol.resolve(`/${name(grown)}`);
    const r = vol.write(f, 1, Buffer.alloc(127, 7));
    if (r < 0) {
      assert.equal(r, -ENOSPC);
      assert.deepEqual(vol.read(f, 0, 200), Buffer.from([grown & 0xff]), 'a refused growth leaves the file as it was');
      break;
    }
    assert.equal(r, 127);
  }
  assert.ok(grown >= 1 && grown < made, `${grown} of ${made} files grew to 128 bytes`);
  const need = vol.pram!.space.need();
  assert.equal(vol.pram!.checkpoint(vol.images()), 0, 'the compaction the ledger promised fits');
  assert.ok(new HeaderView(ram.page(0)).current()!.slot.log!.logPages <= need);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const back = mountOn(ram);
  assert.deepEqual(back.losses, []);
  assert.deepEqual(back.read(back.resolve(`/${name(0)}`), 0, 200), Buffer.concat([Buffer.from([0]), Buffer.alloc(127, 7)]));
  assert.deepEqual(back.read(back.resolve(`/${name(grown)}`), 0, 200), Buffer.from([grown & 0xff]));
  back.detach();
});

test('a create appends its INODE and NAME only (a new ino needs no DROP); an ino reused in the same commit window comes back with its own pages only', () => {
  const ram = newRam(512);
  const vol = mountOn(ram);
  assert.equal(vol.sync(), 0);
  const logBytes = () => (vol.pram as unknown as { live: { cursor: { bytes: number } } }).live.cursor.bytes;   // stream bytes of the committed log
  const before = logBytes();
  const f = (vol.mknod(1, name(1), 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(f, 0, body(1)), 100);
  assert.equal(vol.sync(), 0);
  assert.equal(logBytes() - before, recordBytes(1) + inodeRecordBytes(0), 'the file\'s INODE and NAME, and the root\'s INODE');
  // An ino reused before the commit that drops it (numbers past 2^32 - 1 wrap to the lowest free).
  const old = (vol.mknod(1, 'old', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(old, 40 * PS, Buffer.alloc(5 * PS, 9)), 5 * PS);   // in page group 1: the new file's writes unmap only group 0
  assert.equal(vol.sync(), 0);
  assert.equal(vol.unlink(1, 'old'), 0);
  (vol as unknown as { t: { nextIno: number } }).t.nextIno = 2 ** 32;
  const again = (vol.mknod(1, 'again', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(again, old, 'the lowest free ino is the one just unlinked');
  assert.equal(vol.write(again, 0, Buffer.alloc(PS + 1, 3)), PS + 1);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const back = mountOn(ram);
  assert.deepEqual(back.losses, []);
  const a = back.getattr(back.resolve('/again')) as { size: number; blocks: number };
  assert.deepEqual([a.size, a.blocks], [PS + 1, 2 * PS / 512], 'two pages, none of the old file\'s five');
  assert.deepEqual(back.read(back.resolve('/again'), 0, 50 * PS), Buffer.alloc(PS + 1, 3));
  back.detach();
});

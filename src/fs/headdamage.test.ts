// A log's head page whose header alone is damaged (docs/FORMAT.md §v3, Mount and damage): the slot
// names the page as the log's head, so it is walked past when the log still says its log id — the
// page its next pointer leads to (log page 1, its header whole), or, in a log of one page, the head's
// first record (a compaction's, whose generation is the log id). Before, nothing of the log loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LOG_HEADER } from '../format/v3.js';
import { committedLog, copyRam, dump, mountOn, newRam } from './livekit.js';
import type { Volume } from './volume.js';

const HEADER_BYTES = [0, 4, 9, 16, 28];          // magic, first, log id, seq, the header's crc
const whats = (vol: Volume): string[] => [...new Set([...vol.losses, ...(vol.pram?.stats().losses ?? [])].map((l) => l.what))];
const gen = (vol: Volume): number => vol.pram!.stats().generation;

/** An image of a few files over `commits` appended commits; its committed log, tree and generation. */
function image(files: number, bytes: number, commits: number) {
  const ram = newRam(4096), vol = mountOn(ram);
  for (let i = 0; i < files; i++) {
    const f = vol.mknod(1, `f${i}`, 0o100644, 0, 0, 0) as { ino: number };
    assert.equal(vol.write(f.ino, 0, Buffer.alloc(bytes, i + 1)), bytes);
  }
  assert.equal(vol.sync(), 0);
  for (let c = 0; c < commits; c++) { vol.mkdir(1, `later${c}`, 0o755, 0, 0); assert.equal(vol.sync(), 0); }
  const want = dump(vol), generation = gen(vol);
  vol.detach();
  return { ram, want, generation, log: committedLog(ram) };
}

test('a log of one page whose head header is damaged: its first record says the log id, the tree loads whole, said', () => {
  const s = image(3, 100, 2);
  assert.equal(s.log.pages.length, 1, 'a log of one page');
  assert.ok(s.generation > s.log.logId, 'commits appended after the compaction');
  for (const byte of HEADER_BYTES) for (const verify of ['full', 'lazy'] as const) {
    const ram = copyRam(s.ram), label = `header byte ${byte}, ${verify}`;
    ram.page(s.log.pages[0]!)[byte]! ^= 0x20;
    const vol = mountOn(ram, { verify });
    assert.deepEqual(dump(vol), s.want, `${label}: the newest tree`);
    assert.equal(gen(vol), s.generation, label);
    assert.deepEqual(whats(vol).map((w) => /log page 0 .*the head, has a damaged header .*a log of one page.*says log id \d+: walked past/.test(w)), [true], `${label}: ${whats(vol).join('; ')}`);
    assert.equal(vol.sync(), 0);                 // the first commit after damage compacts: the next mount is clean
    const after = dump(vol);
    vol.detach();
    const again = mountOn(ram);
    assert.deepEqual(again.losses, [], label);
    assert.deepEqual(dump(again), after, label);
    again.detach();
  }
});

test('a head header damaged with its first record: log page 1 still says the log id (walked past); in a log of one page nothing does (nothing loads, said)', () => {
  const many = image(120, 100, 1);
  assert.ok(many.log.pages.length >= 2, 'a log of several pages');
  const ram = copyRam(many.ram), head = ram.page(many.log.pages[0]!);
  head[9]! ^= 0x20;
  head[LOG_HEADER + 20]! ^= 0x01;                // inside LOCATE, the first record
  const vol = mountOn(ram);
  assert.ok(whats(vol).some((w) => /log page 0 .*the head, has a damaged header .*log page 1 \(pfn:[0-9a-f]+, where its next pointer leads\) says log id \d+: walked past/.test(w)), whats(vol).join('; '));
  assert.deepEqual(dump(vol), many.want, 'LOCATE holds no file: the tree loads whole');
  vol.detach();

  const one = image(3, 100, 0);
  assert.equal(one.log.pages.length, 1);
  const r1 = copyRam(one.ram), p1 = r1.page(one.log.pages[0]!);
  p1[9]! ^= 0x20;
  p1[LOG_HEADER + 20]! ^= 0x01;
  const v1 = mountOn(r1);
  assert.ok(whats(v1).some((w) => /log page 0 pfn:[0-9a-f]+ has a damaged header .*the records after it are lost/.test(w)), whats(v1).join('; '));
  assert.equal(dump(v1).size, 0, 'nothing of the log loaded');
  v1.detach();
});

test('a head header damaged and the page after it too: nothing says the log id, nothing of the log loads (said)', () => {
  const s = image(120, 100, 1);
  const ram = copyRam(s.ram);
  ram.page(s.log.pages[0]!)[9]! ^= 0x20;
  ram.page(s.log.pages[1]!)[9]! ^= 0x20;
  const vol = mountOn(ram);
  assert.ok(whats(vol).some((w) => /log page 0 pfn:[0-9a-f]+ has a damaged header .*the records after it are lost/.test(w)), whats(vol).join('; '));
  vol.detach();
});

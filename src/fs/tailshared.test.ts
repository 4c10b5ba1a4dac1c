// Tail records of one group that name pages the compaction's DATA runs list (pram/taildefer.ts): a write into a
// compacted file restates its dirty 32-page group whole, so its records name the file's pages that did not
// change. When every page record of the tail is that one group's, they still wait for its load (the pages are
// reserved once, with the DATA runs) and the group's load checks that each was its own; a crafted record naming
// another group's page is refused there, loudly, never mapped into a second file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import type { Volume } from './volume.js';
import type { Inode } from './inode.js';
import { framedCrc, RECORD_HEADER, RecordType } from '../format/v3.js';
import { copyRam, lazyEqualsFull, logByte, logRecords, mountOn, newRam, PS, type LogRecordAt } from './livekit.js';

const ino = (r: unknown) => (r as { ino: number }).ino;
const nodes = (vol: Volume): Map<number, Inode> => (vol as unknown as { t: { inodes: Map<number, Inode> } }).t.inodes;

/** A 64-page file in the root and a 64-page one in /d, compacted; then 4 KiB writes into the first, each synced. */
function image(): { ram: SimRam; big: number; small: number } {
  const ram = newRam(4096), vol = mountOn(ram);
  const big = ino(vol.mknod(1, 'big', 0o100644, 0, 0, 0));
  assert.equal(vol.write(big, 0, Buffer.alloc(64 * PS, 0x11)), 64 * PS);
  const d = ino(vol.mkdir(1, 'd', 0o755, 0, 0));
  const small = ino(vol.mknod(d, 'small', 0o100644, 0, 0, 0));
  assert.equal(vol.write(small, 0, Buffer.alloc(64 * PS, 0x22)), 64 * PS);
  assert.equal(vol.sync(), 0);                               // the first commit compacts: both files' pages are DATA
  for (const page of [3, 40, 41, 7]) {
    assert.equal(vol.write(big, page * PS + 100, Buffer.alloc(50, page)), 50);
    assert.equal(vol.sync(), 0);
  }
  vol.detach();
  return { ram, big, small };
}

/** A record's bytes, its header and padding included, gathered across log pages; and written back. */
function recordBytes(ram: SimRam, r: LogRecordAt): Buffer {
  const out = Buffer.alloc(RECORD_HEADER + ((r.length + 7) & ~7));
  for (let k = 0; k < out.length; k++) { const p = logByte(ram, r, k); out[k] = ram.page(p.pfn)[p.off]!; }
  return out;
}
function putRecord(ram: SimRam, r: LogRecordAt, b: Buffer): void {
  for (let k = 0; k < b.length; k++) { const p = logByte(ram, r, k); ram.page(p.pfn)[p.off] = b[k]!; }
}

test('writes into a compacted file (dirty groups restated): its records wait for the root\'s load, the pages they share with the DATA runs reserved once; then the full mount\'s tree, statfs and space model', () => {
  const { ram } = image();
  lazyEqualsFull(ram, 'restated groups', (lazy) => {
    const d = lazy.pram!.lazyLog!.tail?.deferred.get(1);
    assert.ok(d, 'the root\'s records wait for its load');
    assert.ok(d.shared.length > 0, 'they name pages the DATA runs list');
    assert.equal(lazy.pram!.lazyLog!.isLoaded(1), false, 'no group read at mount');
  });
});

test('a crafted tail record of the root mapping a page of another directory\'s file: the root\'s load is refused (a loss says why), the other file keeps its page and bytes', () => {
  const { ram, big, small } = image();
  const probe = mountOn(copyRam(ram), { verify: 'full' });
  const target = [...nodes(probe).get(small)!.pages!.entries()][0]![1];
  probe.detach();
  // The last page record of the big file (in the tail): its first pfn set to the small file's first page, its crc made to fit.
  const recs = logRecords(ram).filter((r) => r.type === RecordType.Span || r.type === RecordType.Map);
  const last = recs.reverse().find((r) => recordBytes(ram, r).readUInt32LE(RECORD_HEADER) === big)!;
  assert.ok(last, 'a page record of the big file in the tail');
  const b = recordBytes(ram, last);
  b.writeUInt32LE(target, RECORD_HEADER + 16);
  b.writeUInt32LE(0, RECORD_HEADER + 20);
  b.writeUInt32LE(framedCrc(b, 0, last.type, last.length), 0);
  putRecord(ram, last, b);

  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.ok(lazy.pram!.lazyLog?.tail?.deferred.get(1)?.shared.length, 'the root\'s records wait, naming pages the DATA runs list');
  lazy.getattr(1);                                           // the first request loads the root's group
  const said = [...lazy.losses, ...lazy.pram!.stats().losses].map((l) => l.what);
  assert.ok(said.some((w) => new RegExp(`map pfn:${target.toString(16)}, a page the compaction lists that the group did not hold`).test(w)), said.join('; '));
  const got = lazy.read(small, 0, 64 * PS);
  assert.ok(Buffer.isBuffer(got) && got.equals(Buffer.alloc(64 * PS, 0x22)), 'the small file\'s bytes');
  lazy.detach();
});

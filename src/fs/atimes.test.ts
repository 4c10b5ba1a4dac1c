// ATIMES records (v3 minor 4, docs/FORMAT.md §v3): a commit writes nodes whose only change is
// their atime (a read, relatime) as batched ATIMES entries instead of an INODE record each; a
// full replay applies them in log order, a lazy mount keeps them whole and settles each node's
// atime when its group is adopted. Both must give what the session set.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { HeaderView, SLOT_EXT_AT, SLOT_CRC_AT, SLOT_EXT_LOG_RUNS } from '../format/header.js';
import { crc32cAt } from '../format/crc.js';
import { align8, RECORD_HEADER, RecordType } from '../format/v3.js';
import { crc32c } from '../format/crc.js';
import { copyRam, logByte, logRecords } from './livekit.js';
import { atimes, atimesTree, mountOn, readAll, tailRecordsOf, walk } from './atimeskit.js';

const DIRS = 12, FILES = 9;

/** A tree of DIRS directories (some nested) of FILES files each, inline and paged; unmounted (its log compacted with its index). */
const tree = (): SimRam => atimesTree(DIRS, FILES, (f) => f % 2 ? 100 : 5000);
/** The types of the records after the compaction's RUNS (the tail). */
const tailTypes = (ram: SimRam): number[] => tailRecordsOf(ram).map((r) => r.type);

/** Mounted lazily (booted from the index, with its tail) and whole: the atimes each gives every node, and the lazy log. */
function bothMounts(ram: SimRam, label: string): { lazy: Map<number, bigint>; full: Map<number, bigint>; groupsAtMount: number } {
  const full = mountOn(copyRam(ram), 'full');
  const lazy = mountOn(copyRam(ram), 'lazy');
  const log = lazy.pram!.lazyLog;
  assert.ok(log?.tail, `${label}: booted lazily with a tail`);
  // (The root's group is loaded by every mount: the volume begins there.)
  const groupsAtMount = [...log.dirs()].filter((d) => d !== 1 && log.isLoaded(d)).length;
  const out = { lazy: atimes(lazy), full: atimes(full), groupsAtMount };
  assert.deepEqual(lazy.losses, [], `${label}: lazy losses`);
  assert.deepEqual(full.losses, [], `${label}: full losses`);
  lazy.detach(); full.detach();
  return out;
}

test('a session reading every file: its unmount appends ATIMES (no INODE); a lazy mount loads no group for them, and every atime is the session\'s, as a full replay gives', () => {
  const ram = tree();
  const vol = mountOn(ram);
  const before = atimes(vol);
  readAll(vol);
  const set = atimes(vol);
  let changed = 0;
  for (const [ino, t] of set) if (t !== before.get(ino)) changed++;
  assert.ok(changed >= DIRS * FILES, `the reads set ${changed} atimes`);
  assert.equal(vol.unmount(), 0);
  const types = tailTypes(ram);
  assert.ok(types.includes(RecordType.Atimes), `the tail holds ATIMES: ${types.join(',')}`);
  assert.ok(!types.includes(RecordType.Inode), `the tail holds no INODE: ${types.join(',')}`);
  const { lazy, full, groupsAtMount } = bothMounts(ram, 'read-all');
  assert.equal(groupsAtMount, 0, 'no group but the root\'s loaded at mount');
  assert.deepEqual(lazy, set, 'lazy: the session\'s atimes');
  assert.deepEqual(full, set, 'full: the session\'s atimes');
});

test('a node whose atime and something else changed gets its INODE (which carries the atime), not an ATIMES entry', () => {
  const ram = tree();
  const vol = mountOn(ram);
  const d0 = (vol.lookup(1, 'd0') as { ino: number }).ino;
  const [f0, f1] = ['f0', 'f1'].map((n) => (vol.lookup(d0, n) as { ino: number }).ino);
  vol.read(f0!, 0, 10); vol.read(f1!, 0, 10);
  assert.equal(typeof vol.setattr(f1!, { mode: 0o100600 }), 'object');
  const want = new Map([f0!, f1!].map((ino) => [ino, (vol.getattr(ino) as { atimeNs: bigint }).atimeNs]));
  assert.equal(vol.unmount(), 0);
  const recs = logRecords(ram);
  const runs = recs.map((r) => r.type).lastIndexOf(RecordType.Runs), tail = recs.slice(runs + 1);
  assert.deepEqual(tail.map((r) => r.type), [RecordType.Inode, RecordType.Atimes], 'f1\'s INODE, then one ATIMES');
  const at = logByte(ram, tail[1]!, 16);
  assert.equal(ram.page(at.pfn).readUInt32LE(at.off), 1, 'one entry');
  const e = logByte(ram, tail[1]!, 24);
  assert.equal(ram.page(e.pfn).readUInt32LE(e.off), f0, 'f0\'s');
  const m = bothMounts(ram, 'atime and mode');
  for (const side of [m.lazy, m.full]) for (const [ino, t] of want) assert.equal(side.get(ino), t);
});

test('ordering: an atime set back by utimes in a later commit wins over the earlier read\'s ATIMES; a read after it (ATIMES after the INODE) wins over the INODE — lazy and full', () => {
  const ram = tree();
  let vol = mountOn(ram);
  const files = [...walk(vol)].filter(([, a]) => (a.mode & 0o170000) === 0o100000).map(([ino]) => ino);
  const [f, g] = [files[3]!, files[40]!];
  vol.read(f, 0, 10); vol.read(g, 0, 10);
  assert.equal(vol.sync(), 0);                                  // commit 1: ATIMES of f and g
  const back = 1_600_000_000_000_000_000n;
  vol.setattr(f, { atimeNs: back });                            // commit 2: f's INODE (atime set back)
  assert.equal(vol.unmount(), 0);
  const gRead = atimes(mountOn(copyRam(ram))).get(g)!;
  let m = bothMounts(ram, 'utimes after the read');
  for (const side of [m.lazy, m.full]) {
    assert.equal(side.get(f), back, 'the INODE after the ATIMES wins');
    assert.equal(side.get(g), gRead, 'the other file keeps its read\'s atime');
  }
  vol = mountOn(ram);
  vol.read(f, 0, 10);                                           // atime back <= mtime: relatime sets it (ATIMES after the INODE)
  const reread = (vol.getattr(f) as { atimeNs: bigint }).atimeNs;
  assert.ok(reread > back);
  assert.equal(vol.unmount(), 0);
  assert.ok(tailTypes(ram).includes(RecordType.Inode) && tailTypes(ram).lastIndexOf(RecordType.Atimes) > tailTypes(ram).lastIndexOf(RecordType.Inode));
  m = bothMounts(ram, 'a read after the utimes');
  for (const side of [m.lazy, m.full]) assert.equal(side.get(f), reread, 'the ATIMES after the INODE wins');
  assert.deepEqual(m.lazy, m.full);
});

test('a node unlinked after its ATIMES entry is gone in both mounts; the others keep their atimes (a rename across directories: those groups replayed at mount)', () => {
  const ram = tree();
  const vol = mountOn(ram);
  readAll(vol);
  assert.equal(vol.sync(), 0);
  const d0 = (vol.lookup(1, 'd0') as { ino: number }).ino, gone = (vol.lookup(d0, 'f1') as { ino: number }).ino;
  const d1 = (vol.lookup(1, 'd3') as { ino: number }).ino, d3 = (vol.lookup(1, 'd6') as { ino: number }).ino;
  assert.equal(vol.unlink(d0, 'f1'), 0);
  assert.equal(vol.rename(d1, 'f2', d3, 'moved', 0), 0);        // two groups in one record set: the lazy mount replays them (eager)
  // (These directories' own atimes are before their mtimes now: the walks below set them, relatime.)
  const want = atimes(vol);
  for (const d of [d0, d1, d3]) want.delete(d);
  assert.equal(vol.unmount(), 0);
  const lazy = mountOn(copyRam(ram), 'lazy');
  assert.ok(lazy.pram!.lazyLog!.tail!.touched.size >= 2, 'the rename\'s groups are replayed at mount');
  lazy.detach();
  const m = bothMounts(ram, 'unlinked');
  assert.ok(!m.lazy.has(gone) && !m.full.has(gone));
  for (const d of [d0, d1, d3]) { m.lazy.delete(d); m.full.delete(d); }
  assert.deepEqual(m.lazy, want);
  assert.deepEqual(m.full, want);
});

test('an image of v3 minor 3 (header version 6, slot extension 5, no ATIMES) mounts lazily and whole; its first commit raises the header to the newest (9)', () => {
  const ram = tree();
  const h = new HeaderView(ram.page(0));
  const cur = h.current()!;
  assert.equal(h.version, 9);
  // What a minor-3 pram wrote: the same log (it has no ATIMES), header version 6, slot extension 5.
  h.setVersion(6);
  const o = h.slotAt(cur.which);
  ram.page(0).writeUInt32LE(SLOT_EXT_LOG_RUNS, o + SLOT_EXT_AT);
  ram.page(0).writeUInt32LE(crc32cAt(ram.page(0), o, SLOT_CRC_AT), o + SLOT_CRC_AT);
  assert.equal(new HeaderView(ram.page(0)).current()!.slot.generation, cur.slot.generation, 'the slot reads back');
  const want = atimes(mountOn(copyRam(ram)));
  const lazy = mountOn(copyRam(ram), 'lazy');
  assert.ok(lazy.pram!.lazyLog, 'booted lazily');
  assert.deepEqual(atimes(lazy), want);
  assert.deepEqual(lazy.losses, []);
  lazy.detach();
  const vol = mountOn(ram);
  readAll(vol);
  const set = atimes(vol);
  assert.equal(vol.unmount(), 0);
  assert.equal(new HeaderView(ram.page(0)).version, 9);
  const m = bothMounts(ram, 'after the minor-3 image');
  assert.deepEqual(m.lazy, set);
  assert.deepEqual(m.full, set);
});

test('a bit flipped inside an ATIMES record: an exact loss (those files keep their earlier atime), the commits after it load whole — lazy and full', () => {
  const ram = tree();
  let vol = mountOn(ram);
  const first = atimes(vol);
  const files = [...walk(vol)].filter(([, a]) => (a.mode & 0o170000) === 0o100000).map(([ino, a]) => [ino, a.size] as const);
  const half = files.length >> 1;
  for (const [ino, size] of files.slice(0, half)) vol.read(ino, 0, size);
  assert.equal(vol.sync(), 0);                                  // commit 1: ATIMES of the first half (the record damaged below)
  for (const [ino, size] of files.slice(half)) vol.read(ino, 0, size);
  const made = (vol.mknod(1, 'later', 0o100644, 0, 0, 0) as { ino: number }).ino;
  assert.equal(vol.write(made, 0, Buffer.from('after the damage')), 16);
  const want = atimes(vol);
  assert.equal(vol.unmount(), 0);                               // commit 2: ATIMES of the second half, the new file
  const recs = logRecords(ram).filter((r) => r.type === RecordType.Atimes);
  assert.equal(recs.length, 2);
  const b = logByte(ram, recs[0]!, 16 + 8 + 16 * 2 + 9);         // entry 2's atime
  ram.page(b.pfn)[b.off]! ^= 0x10;
  for (const verify of ['full', 'lazy'] as const) {
    vol = mountOn(copyRam(ram), verify);
    const lost = vol.losses.filter((l) => /ATIMES.*atime updates of up to \d+ files in the commit at pfn:[0-9a-f]+ are lost: kept the earlier atime/.test(l.what));
    assert.equal(lost.length, 1, `${verify}: ${JSON.stringify(vol.losses)}`);
    assert.equal(vol.losses.length, 1, `${verify}: nothing else lost`);
    assert.equal(Buffer.from(vol.read(made, 0, 100) as Buffer).toString(), 'after the damage', `${verify}: the later commit loaded`);
    const got = atimes(vol);
    for (const [ino] of files.slice(0, half)) assert.equal(got.get(ino), first.get(ino), `${verify}: ino ${ino} keeps its earlier atime`);
    for (const [ino] of files.slice(half)) assert.equal(got.get(ino), want.get(ino), `${verify}: ino ${ino} has the later commit's atime`);
    vol.detach();
  }
});

test('an ATIMES record whose crc holds but whose inos are out of order: a full replay skips it as damage, a lazy mount finds it when a group first needs it — the same loss and atimes', () => {
  const ram = tree();
  let vol = mountOn(ram);
  const first = atimes(vol);
  readAll(vol);
  assert.equal(vol.unmount(), 0);
  const rec = logRecords(ram).find((r) => r.type === RecordType.Atimes)!;
  // Entries 0 and 1 swapped, the record's crc made to match (a writer's bug, or a hostile image).
  const total = RECORD_HEADER + align8(rec.length), bytes = Buffer.alloc(total);
  const byte = (k: number) => { const b = logByte(ram, rec, k); return ram.page(b.pfn).subarray(b.off, b.off + 1); };
  for (let k = 0; k < total; k++) bytes[k] = byte(k)[0]!;
  const e0 = Buffer.from(bytes.subarray(24, 40));
  bytes.copy(bytes, 24, 40, 56); e0.copy(bytes, 40);
  bytes.writeUInt32LE(crc32c(bytes.subarray(4)), 0);
  for (let k = 0; k < total; k++) byte(k)[0] = bytes[k]!;
  const got = new Map<string, Map<number, bigint>>();
  for (const verify of ['full', 'lazy'] as const) {
    vol = mountOn(copyRam(ram), verify);
    if (verify === 'lazy') assert.ok(vol.pram!.lazyLog?.tail?.atimes, 'booted lazily: the entries are not walked at mount');
    got.set(verify, atimes(vol));
    const lost = vol.losses.filter((l) => /ATIMES.*malformed.*atime updates of up to \d+ files in the commit at pfn:[0-9a-f]+ are lost: kept the earlier atime/.test(l.what));
    assert.equal(lost.length, 1, `${verify}: ${JSON.stringify(vol.losses)}`);
    vol.detach();
  }
  assert.deepEqual(got.get('lazy'), got.get('full'));
  const files = [...got.get('full')!].filter(([ino]) => first.get(ino) !== undefined);
  assert.ok(files.filter(([ino, t]) => t === first.get(ino)).length >= DIRS * FILES, 'the files keep their earlier atimes');
});

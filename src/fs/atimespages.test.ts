// ATIMES_PAGES records (v3 minor 6, docs/FORMAT.md §v3): a commit's large batch of atime-only
// changes goes into pages outside the log, which a small record names. A lazy mount reserves
// those pages unread and reads them when a group's adoption first needs them; a full replay
// reads them as it applies the record. Both must give what the session set; a damaged page
// costs its own atimes only; the pages are the log's until the next compaction frees them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { Owner } from '../boot/frames.js';
import { HeaderView, SLOT_CRC_AT, SLOT_EXT_AT, SLOT_EXT_LOG_PUBLISHED } from '../format/header.js';
import { crc32cAt } from '../format/crc.js';
import { decodePayload, RECORD_HEADER, RecordType, type AtimesPagesRecord } from '../format/v3.js';
import type { Volume } from './volume.js';
import { atimesPagesRead } from '../pram/atimespages.js';
import { copyRam, logByte, logRecords, mountOn as lkMount, PS, slicedCompaction } from './livekit.js';
import { runPfns } from '../pram/pageruns.js';
import { atimes, atimesTree, mountOn, readAll, tailRecordsOf, walk } from './atimeskit.js';

const DIRS = 8, FILES = 100;            // 808 atime-only changes after a read of everything: 4 pages of entries

/** DIRS directories (some nested) of FILES small files each, one in ten of 5000 bytes; unmounted (its log compacted with its index). */
const tree = (): SimRam => atimesTree(DIRS, FILES, (f) => f % 10 ? 100 : 5000);
const files = (vol: Volume) => [...walk(vol)].filter(([, a]) => (a.mode & 0o170000) === 0o100000).map(([ino, a]) => [ino, a.size] as const);
const tail = tailRecordsOf;

/** The ATIMES_PAGES records of the tail, decoded. */
function pagedRecords(ram: SimRam): AtimesPagesRecord[] {
  return tail(ram).filter((r) => r.type === RecordType.AtimesPages).map((r) => {
    const bytes = Buffer.alloc(r.length);
    for (let k = 0; k < r.length; k++) { const b = logByte(ram, r, RECORD_HEADER + k); bytes[k] = ram.page(b.pfn)[b.off]!; }
    const rec = decodePayload(RecordType.AtimesPages, bytes);
    if (typeof rec === 'string' || rec.type !== RecordType.AtimesPages) throw new Error(`ATIMES_PAGES: ${String(rec)}`);
    return rec.r;
  });
}

const pfnsOf = (r: AtimesPagesRecord): number[] => runPfns(r.runs);

/** A lazy mount (led by the index, none of the records' pages read at mount) and a full one: the atimes each gives every node, and their losses. */
function bothMounts(ram: SimRam, label: string): { lazy: Map<number, bigint>; full: Map<number, bigint>; losses: { lazy: string[]; full: string[] } } {
  const full = mountOn(copyRam(ram), 'full');
  const before = atimesPagesRead.pages;
  const lazy = mountOn(copyRam(ram), 'lazy');
  assert.ok(lazy.pram!.lazyLog?.tail?.atimes, `${label}: booted lazily, the atimes held`);
  assert.equal(atimesPagesRead.pages, before, `${label}: the lazy mount read none of the ATIMES_PAGES records' pages`);
  const out = { lazy: atimes(lazy), full: atimes(full), losses: { lazy: lazy.losses.map((l) => l.what), full: full.losses.map((l) => l.what) } };
  assert.ok(atimesPagesRead.pages > before, `${label}: read once a group needed them`);
  lazy.detach(); full.detach();
  return out;
}

test('a read-all session across several directories leaves ATIMES_PAGES (no ATIMES, no INODE); a lazy mount reads none of its pages at mount, and every atime after touching everything is the session\'s, as a full mount gives', () => {
  const ram = tree();
  const vol = mountOn(ram);
  const before = atimes(vol);
  readAll(vol);
  const set = atimes(vol);
  assert.ok([...set].filter(([ino, t]) => t !== before.get(ino)).length >= DIRS * FILES, 'the reads set the atimes');
  assert.equal(vol.unmount(), 0);
  const types = tail(ram).map((r) => r.type);
  assert.deepEqual(types, [RecordType.AtimesPages], 'one ATIMES_PAGES record is the whole tail');
  const [rec] = pagedRecords(ram);
  assert.ok(rec!.n >= DIRS * FILES && rec!.crcs.length === Math.ceil(rec!.n / (PS / 16)), `${rec!.n} entries over ${rec!.crcs.length} pages`);
  for (const pfn of pfnsOf(rec!)) assert.ok(!logRecords(ram).some((r) => r.pfn === pfn), 'its pages are no log page');
  const m = bothMounts(ram, 'read-all');
  assert.deepEqual(m.losses, { lazy: [], full: [] });
  assert.deepEqual(m.lazy, set, 'lazy: the session\'s atimes');
  assert.deepEqual(m.full, set, 'full: the session\'s atimes');
});

test('ordering: an INODE after an ATIMES_PAGES record wins (utimes after the read), an ATIMES_PAGES record after the INODEs wins (a read-all after utimes) — lazy and full', () => {
  const ram = tree();
  let vol = mountOn(ram);
  const all = files(vol), f = all[7]![0];
  readAll(vol);
  assert.equal(vol.sync(), 0);                                   // commit 1: ATIMES_PAGES of every file
  const back = 1_600_000_000_000_000_000n;
  vol.setattr(f, { atimeNs: back });                             // commit 2: f's INODE (atime set back)
  const want1 = atimes(vol);
  assert.equal(vol.unmount(), 0);
  assert.deepEqual(tail(ram).map((r) => r.type), [RecordType.AtimesPages, RecordType.Inode]);
  let m = bothMounts(ram, 'utimes after the read');
  assert.equal(m.lazy.get(f), back, 'the INODE after the ATIMES_PAGES wins');
  assert.deepEqual(m.lazy, want1);
  assert.deepEqual(m.full, want1);
  vol = mountOn(ram);
  for (const [ino] of all) vol.setattr(ino, { atimeNs: back });  // every file's INODE, atime back (<= mtime)...
  assert.equal(vol.sync(), 0);
  readAll(vol);                                                  // ...so relatime sets each: ATIMES_PAGES after the INODEs
  const want2 = atimes(vol);
  assert.equal(vol.unmount(), 0);
  const types = tail(ram).map((r) => r.type);
  assert.ok(types.lastIndexOf(RecordType.AtimesPages) > types.lastIndexOf(RecordType.Inode), types.join(','));
  m = bothMounts(ram, 'a read-all after the utimes');
  for (const [ino] of all) assert.ok(m.lazy.get(ino)! > back, `ino ${ino}: the read after the INODE wins`);
  assert.deepEqual(m.lazy, want2);
  assert.deepEqual(m.full, want2);
});

test('a bit flipped in a page of an ATIMES_PAGES record: an exact loss (the files of that page keep their earlier atime), the rest loads — lazy and full the same', () => {
  const ram = tree();
  const vol = mountOn(ram);
  const first = atimes(vol);
  readAll(vol);
  const set = atimes(vol);
  assert.equal(vol.unmount(), 0);
  const [rec] = pagedRecords(ram), hit = pfnsOf(rec!)[1]!;
  // Entries 256…511 (page 1) hold these inos: ascending, as written.
  const inPage = new Set<number>();
  for (let k = 0; k < PS / 16; k++) inPage.add(Number(ram.page(hit).readBigUInt64LE(16 * k)));
  ram.page(hit)[16 * 9 + 10]! ^= 0x20;                           // a bit of entry 9's atime
  const m = bothMounts(ram, 'a flipped bit');
  for (const side of ['lazy', 'full'] as const) {
    const l = m.losses[side];
    assert.equal(l.length, 1, `${side}: ${JSON.stringify(l)}`);
    assert.match(l[0]!, new RegExp(`\\(ATIMES_PAGES\\) its page pfn:${hit.toString(16)} failed crc32c .*: atime updates of up to 256 files in the commit at pfn:[0-9a-f]+ are lost: kept the earlier atime`));
    const got = m[side];
    for (const [ino, t] of set) assert.equal(got.get(ino), inPage.has(ino) ? first.get(ino) : t, `${side}: ino ${ino}`);
  }
  assert.deepEqual(m.lazy, m.full);
});

test('the pages are the log\'s until the next compaction: reserved by both mounts (statfs equal), free again once the compaction publishes, statfs then a full mount\'s', () => {
  const ram = tree();
  const vol = mountOn(ram);
  readAll(vol);
  assert.equal(vol.unmount(), 0);
  const pages = pfnsOf(pagedRecords(ram)[0]!);
  const fs: Record<string, ReturnType<Volume['statfs']>> = {};
  for (const verify of ['full', 'lazy'] as const) {
    const copy = copyRam(ram), v = mountOn(copy, verify);
    for (const pfn of pages) assert.equal(v.pram!.frames.owner[pfn], Owner.Meta, `${verify}: pfn ${pfn} reserved as the log's`);
    const before = v.statfs();
    const free = v.pram!.allocator.freeCount;
    (v as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;   // this sync compacts (a fresh log)
    assert.equal(v.sync(), 0);
    assert.deepEqual(tail(copy).map((r) => r.type), [], `${verify}: the compaction wrote no tail`);
    assert.ok(v.pram!.allocator.freeCount >= free + pages.length - 4, `${verify}: the pages count free (${free} -> ${v.pram!.allocator.freeCount})`);
    fs[verify] = v.statfs();
    assert.ok(fs[verify]!.bfree > before.bfree, `${verify}: statfs shows them free`);
    v.detach();
    const again = mountOn(copyRam(copy), 'full');
    assert.deepEqual(again.statfs(), fs[verify], `${verify}: statfs after the compaction is a full mount's`);
    for (const pfn of pages) assert.notEqual(again.pram!.frames.owner[pfn], Owner.Meta, `${verify}: pfn ${pfn} no longer the log's`);
    again.detach();
  }
  assert.deepEqual(fs['lazy'], fs['full']);
});

test('a lazy mount counts the records\' pages and lists them only when first needed (a compaction\'s free); the list is every pfn the records name, and the owners a full mount\'s', () => {
  const ram = tree();
  const vol = mountOn(ram);
  readAll(vol);
  assert.equal(vol.unmount(), 0);
  const pages = pagedRecords(ram).flatMap(pfnsOf).sort((a, b) => a - b);
  assert.ok(pages.length > 0, 'the session left ATIMES_PAGES');
  type Side = { side: number[] | { count: number }; sidePages: number[] };
  const lazy = mountOn(copyRam(ram), 'lazy'), full = mountOn(copyRam(ram), 'full');
  const l = lazy.pram as unknown as Side, f = full.pram as unknown as Side;
  assert.ok(!Array.isArray(l.side), 'not listed at the lazy mount');
  assert.equal((l.side as { count: number }).count, pages.length, 'counted at mount');
  assert.deepEqual([...l.sidePages].sort((a, b) => a - b), pages, 'listed on first need: the records\' pfns');
  assert.ok(Array.isArray(l.side), 'listed once, kept');
  assert.deepEqual([...f.sidePages].sort((a, b) => a - b), pages, 'the full mount\'s list is the same');
  // The records' runs, which meet the log's pages, reserved joined with them (lazyboot.ts reservable): the same owners.
  assert.ok(Buffer.from(lazy.pram!.frames.owner).equals(Buffer.from(full.pram!.frames.owner)), 'every pfn\'s owner is the full mount\'s');
  lazy.detach(); full.detach();
});

test('an image of v3 minor 5 (header version 8, slot extension 7: ATIMES inline) mounts lazily and whole; a read-all session on it writes ATIMES_PAGES and raises the header to 9', () => {
  const ram = tree();
  let vol = mountOn(ram);
  for (const [ino, size] of files(vol).slice(0, 100)) vol.read(ino, 0, size);   // under a page of entries: ATIMES inline
  const some = atimes(vol);
  assert.equal(vol.unmount(), 0);
  assert.deepEqual(tail(ram).map((r) => r.type), [RecordType.Atimes]);
  // What a minor-5 pram wrote: the same log, header version 8, slot extension 7.
  const h = new HeaderView(ram.page(0)), cur = h.current()!, o = h.slotAt(cur.which);
  assert.equal(h.version, 9);
  h.setVersion(8);
  ram.page(0).writeUInt32LE(SLOT_EXT_LOG_PUBLISHED, o + SLOT_EXT_AT);
  ram.page(0).writeUInt32LE(crc32cAt(ram.page(0), o, SLOT_CRC_AT), o + SLOT_CRC_AT);
  for (const verify of ['lazy', 'full'] as const) {
    const v = mountOn(copyRam(ram), verify);
    if (verify === 'lazy') assert.ok(v.pram!.lazyLog?.tail?.atimes, 'booted lazily');
    assert.deepEqual(atimes(v), some, `${verify}: the minor-5 image's atimes`);
    assert.deepEqual(v.losses, [], verify);
    v.detach();
  }
  vol = mountOn(ram);
  readAll(vol);
  const set = atimes(vol);
  assert.equal(vol.unmount(), 0);
  assert.equal(new HeaderView(ram.page(0)).version, 9);
  assert.ok(tail(ram).some((r) => r.type === RecordType.AtimesPages));
  const m = bothMounts(ram, 'after the minor-5 image');
  assert.deepEqual(m.losses, { lazy: [], full: [] });
  assert.deepEqual(m.lazy, set);
  assert.deepEqual(m.full, set);
});

test('a compaction in slices writes the atimes read while it ran inline (its last step is written twice, into a fresh log): no ATIMES_PAGES, no page taken for them, lazy and full mounts agree', () => {
  let made: number[] = [];
  const { ram, vol } = slicedCompaction(7, (v, step) => {
    if (step === 3) for (const ino of made) assert.equal((v.read(ino, 0, 10) as Buffer).length, 10);
  }, (v) => {
    const d = (v.mkdir(1, 'many', 0o755, 0, 0) as { ino: number }).ino;
    made = Array.from({ length: 400 }, (_, i) => (v.mknod(d, `m${i}`, 0o100644, 0, 0, 0) as { ino: number }).ino);
    for (const ino of made) assert.equal(v.write(ino, 0, Buffer.alloc(10, 7)), 10);
  });
  const want = new Map(made.map((ino) => [ino, (vol.getattr(ino) as { atimeNs: bigint }).atimeNs]));
  const types = logRecords(ram).map((r) => r.type);
  assert.ok(types.includes(RecordType.Atimes) && !types.includes(RecordType.AtimesPages), 'the publish step holds ATIMES');
  const fs = vol.statfs();
  vol.detach();
  for (const verify of ['lazy', 'full'] as const) {
    const v = lkMount(copyRam(ram), { verify }), got = atimes(v);
    for (const [ino, t] of want) assert.equal(got.get(ino), t, `${verify}: ino ${ino}`);
    assert.deepEqual(v.statfs(), fs, `${verify}: statfs as the volume left it`);
    assert.deepEqual(v.losses, [], verify);
    v.detach();
  }
});

// A lazy mount reads a group holding large files' SPANs without their page crcs (pram/groupthin.ts; here
// every group with such a SPAN, PRAM_THIN_GROUP_BYTES=0) — the group a tail touches at the mount too — and
// reads a file's crcs when it is adopted (its first read). Everything asked before or after is a full mount's:
// statfs and free pages right after the mount and after the adoption, every byte with the tail's writes in
// it; a flipped bit in a skipped page crc is found at the adoption and told as a group's load told it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { RECORD_HEADER, RecordType, SPAN_FIXED, type LogRecord, type SpanRecord } from '../format/v3.js';
import { beforeLoads, committedLog, copyRam, dump, indexOf, largeAndSmall, logByte, logRecords, mountOn, PS, shapeOf } from './livekit.js';
import { readGroup } from '../pram/groups.js';
import { readGroupThin } from '../pram/groupthin.js';
import { isThin } from '../pram/spans.js';
import type { Volume } from './volume.js';
import type { Inode } from './inode.js';

process.env['PRAM_THIN_GROUP_BYTES'] = '0';

const PAGES = 4096 + 700;     // two SPANs, both read thin: a whole block and 700 pages
const EIO = 5;

const nodes = (vol: Volume): Map<number, Inode> => (vol as unknown as { t: { inodes: Map<number, Inode> } }).t.inodes;
const pfnsOf = (vol: Volume, ino: number): number[] => [...nodes(vol).get(ino)!.pages!.entries()].map(([, pfn]) => pfn);
/** How many of `pfns` the engine has adopted (their frames flagged). */
const adopted = (vol: Volume, pfns: number[]): number => pfns.filter((pfn) => vol.pram!.frames.flags[pfn] !== 0).length;
const space = (vol: Volume) => ({ statfs: vol.statfs(), free: vol.pram!.allocator.freeCount });
/**
 * statfs, the space model and free pages right after a lazy mount: a full mount's; with tail records waiting for
 * their group's load (pram/taildefer.ts), conservative until it loads (livekit beforeLoads): no more free pages.
 */
function afterMount(lazy: Volume, full: Volume, label: string): void {
  beforeLoads(lazy, full.statfs(), shapeOf(full), label);
  const free = lazy.pram!.allocator.freeCount, want = full.pram!.allocator.freeCount;
  if (lazy.pram!.lazyLog?.tail?.deferred.size) assert.ok(free <= want, `${label}: free pages ${free} <= ${want}`);
  else assert.equal(free, want, `${label}: free pages`);
}

function readAll(vol: Volume, ino: number, bytes: number): Buffer {
  const got = vol.read(ino, 0, bytes);
  if (typeof got === 'number') assert.fail(`read ${got}`);
  return got;
}

/** A large file and a small one in the root, compacted; `tail`: then writes in both of its SPANs, an append and a small file made and unlinked, synced after the index. */
function image(seed: number, tail: boolean, more: (vol: Volume) => void = () => {}): { ram: SimRam; body: Buffer; big: number } {
  const made = largeAndSmall(seed, PAGES, more), { ram, big } = made;
  let body = made.body;
  if (tail) {
    const v = mountOn(ram, { verify: 'lazy' });
    for (const [at, len, fill] of [[300 * PS + 100, PS, 0xa5], [4200 * PS, 3 * PS, 0x5a], [PAGES * PS, 5 * PS + 9, 0x33]] as const) {
      const patch = Buffer.alloc(len, fill);
      assert.equal(v.write(big, at, patch), len);
      if (at + len > body.length) body = Buffer.concat([body, Buffer.alloc(at + len - body.length)]);
      patch.copy(body, at);
      assert.equal(v.sync(), 0);
    }
    const t = (v.mknod(1, 'scratch', 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(v.write(t, 0, Buffer.alloc(2 * PS, 1)), 2 * PS);
    assert.equal(v.sync(), 0);
    assert.equal(v.unlink(1, 'scratch'), 0);
    assert.equal(v.sync(), 0);
    v.detach();
  }
  return { ram, body, big };
}

for (const tail of [false, true]) {
  test(`a large file's group read without its page crcs (${tail ? 'tail writes in it' : 'no tail'}): statfs and free pages are a full mount's after the mount and after its first read; its bytes too`, () => {
    const { ram, body, big } = image(31, tail);
    const full = mountOn(copyRam(ram), { verify: 'full' });
    const lazy = mountOn(copyRam(ram), { verify: 'lazy' });
    assert.ok(lazy.pram!.lazyLog, 'booted lazily');
    const pfns = pfnsOf(full, big);
    assert.equal(adopted(lazy, pfns), 0, 'the large file waits for its first use');
    afterMount(lazy, full, 'statfs and free pages right after the mount');
    assert.ok(readAll(lazy, big, body.length).equals(body), 'every byte, the tail\'s writes in them');
    assert.equal(adopted(lazy, pfns), pfns.length, 'adopted by its first read');
    assert.ok(readAll(full, big, body.length).equals(body), 'the full mount reads the same');
    assert.deepEqual(space(lazy), space(full), 'statfs and free pages after the adoption');
    assert.deepEqual(dump(lazy), dump(full), 'the tree');
    assert.deepEqual(lazy.losses, []);
    full.detach(); lazy.detach();
  });

  test(`a flipped bit in a page crc the mount skipped (${tail ? 'tail writes in the file' : 'no tail'}): nothing until the file's first read, then the loss a group's load tells, that page EIO and a loss naming the file`, () => {
    const { ram, body, big } = image(32, tail);
    // The compaction's SPAN of the file's first block (the tail's come after it in the log).
    const span = logRecords(ram).find((r) => r.type === RecordType.Span && r.length === SPAN_FIXED + 4 * 4096)!;
    assert.ok(span, 'the first block\'s SPAN');
    const at = logByte(ram, span, RECORD_HEADER + SPAN_FIXED + 4 * 123 + 1);
    ram.page(at.pfn)[at.off]! ^= 0x04;
    const losses = (thin: boolean) => {
      process.env['PRAM_THIN_GROUP_BYTES'] = thin ? '0' : `${1 << 30}`;
      const v = mountOn(copyRam(ram), { verify: 'lazy' });
      assert.ok(v.pram!.lazyLog, 'booted lazily');
      v.getattr(1);                                       // the first request loads the root's group (a lazy mount loads none)
      const atMount = [...v.losses];
      assert.equal(v.read(big, 123 * PS, PS), -EIO, 'the page whose crc changed reads EIO');
      const next = v.read(big, 124 * PS, PS);
      assert.ok(Buffer.isBuffer(next) && next.equals(body.subarray(124 * PS, 125 * PS)), 'the next page reads');
      const all = [...v.losses];
      v.detach();
      process.env['PRAM_THIN_GROUP_BYTES'] = '0';
      return { atMount, all };
    };
    const thin = losses(true);
    assert.deepEqual(thin.atMount, [], 'the mount and the root group\'s load read no page crc of the file');
    const record = thin.all.filter((l) => l.path === null), file = thin.all.filter((l) => l.path !== null);
    assert.equal(record.length, 1, JSON.stringify(thin.all));
    assert.match(record[0]!.what, /log record at pfn:[0-9a-f]+ offset \d+: the page crcs of the SPAN of ino \d+, pages 0-4095, failed crc32c/);
    assert.equal(file.length, 1, JSON.stringify(thin.all));
    assert.equal(file[0]!.path, '/big');
    assert.match(file[0]!.what, /data page 123 \(bytes \d+-\d+\) failed crc32c/);
    assert.deepEqual(file[0]!.range, { start: 123 * PS, end: 124 * PS });
    if (!tail) {
      // The same losses, in the same words, as the group read whole tells them (at its load then).
      const whole = losses(false);
      assert.deepEqual(whole.atMount, record, 'read whole: the crcs\' loss at the root group\'s load');
      assert.deepEqual(thin.all, whole.all, 'the same losses');
    }
  });
}

test('a group read thin is the group read whole, less the large SPANs\' page crcs (each such SPAN names its record\'s place); by default a group of small files is read whole', () => {
  let d = 0;
  const { ram } = image(33, false, (vol) => {
    d = (vol.mkdir(1, 'small-files', 0o755, 0, 0) as { ino: number }).ino;
    for (let i = 0; i < 40; i++) assert.equal(vol.write((vol.mknod(d, `f${i}`, 0o100644, 0, 0, 0) as { ino: number }).ino, 0, Buffer.alloc(100 + 300 * i, i)), 100 + 300 * i);
    const mid = (vol.mknod(1, 'mid', 0o100644, 0, 0, 0) as { ino: number }).ino;
    assert.equal(vol.write(mid, 0, Buffer.alloc(77 * PS, 3)), 77 * PS);     // a SPAN too short to skip
  });
  const ix = indexOf(ram), log = committedLog(ram);
  if (typeof ix === 'string') assert.fail(ix);
  const root = ix.dirs.get(1)!, whole = readGroup(ram, log.pages, root, log.logId), thin = readGroupThin(ram, log.pages, root, log.logId, ix.runs!.homes);
  if (typeof whole === 'string' || !thin) assert.fail('both read');
  assert.deepEqual(thin.dir, whole.dir);
  assert.deepEqual(thin.names, whole.names);
  assert.deepEqual(thin.nodes, whole.nodes);
  assert.equal(thin.pages.length, whole.pages.length);
  let skipped = 0;
  for (const [k, p] of thin.pages.entries()) {
    const w: LogRecord = whole.pages[k]!;
    if (p.type !== RecordType.Span || w.type !== RecordType.Span) { assert.deepEqual(p, w); continue; }
    const got: SpanRecord = p.r, had: SpanRecord = w.r;
    const { crcs, ...fields } = got;
    const { crcs: wantCrcs, ...want } = had;
    if (isThin(p.r)) {
      skipped++;
      const { crcsPos, ...rest } = fields as typeof fields & { crcsPos: number };
      assert.deepEqual(rest, want, `SPAN ${k}: its fields`);
      assert.equal(crcs.length, 0, 'no crcs read');
      assert.ok(crcsPos >= root.pos && crcsPos < root.pos + root.bytes, 'its record\'s place in the group');
    } else assert.deepEqual({ ...fields, crcs: [...crcs] }, { ...want, crcs: [...wantCrcs] }, `SPAN ${k}: read whole`);
  }
  assert.equal(skipped, 2, 'the large file\'s two SPANs skipped, the 77-page one read whole');
  assert.ok(ix.dirs.has(d), `the directory's group (${d}; groups ${[...ix.dirs.keys()]})`);
  const small = ix.dirs.get(d)!;
  assert.deepEqual(readGroupThin(ram, log.pages, small, log.logId, ix.runs!.homes), readGroup(ram, log.pages, small, log.logId), 'a group with no SPAN to skip: the same');
  delete process.env['PRAM_THIN_GROUP_BYTES'];
  try {
    assert.equal(readGroupThin(ram, log.pages, small, log.logId, ix.runs!.homes), null, 'by default, a group of small files is read whole');
  } finally { process.env['PRAM_THIN_GROUP_BYTES'] = '0'; }
});

test('a damaged header of a log page holding only page crcs the mount skipped: told when the file is adopted, and nothing is lost', () => {
  const { ram, body, big } = image(34, false);
  const span = logRecords(ram).find((r) => r.type === RecordType.Span && r.length === SPAN_FIXED + 4 * 4096)!;
  const mid = logByte(ram, span, RECORD_HEADER + SPAN_FIXED + 4 * 2048);     // a page in the middle of 16 KiB of crcs
  ram.page(mid.pfn)[1]! ^= 0x01;                                              // its header's magic
  const v = mountOn(ram, { verify: 'lazy' });
  assert.ok(v.pram!.lazyLog, 'booted lazily');
  const losses = (): { what: string }[] => [...v.losses];
  assert.deepEqual(losses(), [], 'nothing at the mount');
  assert.ok(readAll(v, big, body.length).equals(body), 'every byte');
  const late = losses();
  assert.equal(late.length, 1, JSON.stringify(late));
  assert.match(late[0]!.what, new RegExp(`log page \\d+ pfn:${mid.pfn.toString(16)} has a damaged header .*nothing of it is lost`));
  v.detach();
});

test('seeded writes, truncates and appends in two large files after the compaction: statfs and free pages are a full mount\'s after the lazy mount and after every byte is read', () => {
  const seeds = process.env['PRAM_SEEDS'] ? process.env['PRAM_SEEDS'].split(',').map(Number) : [41, 42, 43, 44, 45, 46];
  for (const seed of seeds) {
    const r = new Prng(seed);
    let second = 0;
    const { ram, big } = image(seed, false, (vol) => {
      second = (vol.mknod(1, 'second', 0o100644, 0, 0, 0) as { ino: number }).ino;
      assert.equal(vol.write(second, 0, Buffer.from(r.bytes(1500 * PS))), 1500 * PS);
    });
    const v = mountOn(ram, { verify: 'lazy' });
    for (let i = 0; i < 12; i++) {
      const ino = r.below(2) === 0 ? big : second, size = (v.getattr(ino) as { size: number }).size, op = r.below(4);
      if (op === 0 && size > PS) assert.notEqual(typeof v.setattr(ino, { size: r.below(size) }), 'number', `seed ${seed}: truncate`);
      else {
        const at = op === 1 ? size : r.below(size + 1), len = 1 + r.below(40 * PS);
        assert.equal(v.write(ino, at, Buffer.from(r.bytes(len))), len, `seed ${seed}: write`);
      }
      assert.equal(v.sync(), 0);
    }
    v.detach();
    const full = mountOn(copyRam(ram), { verify: 'full' }), lazy = mountOn(copyRam(ram), { verify: 'lazy' });
    assert.ok(lazy.pram!.lazyLog, `seed ${seed}: booted lazily`);
    afterMount(lazy, full, `seed ${seed}: statfs and free pages right after the mount`);
    for (const ino of [big, second]) {
      const size = (full.getattr(ino) as { size: number }).size;
      assert.ok(readAll(lazy, ino, size).equals(readAll(full, ino, size)), `seed ${seed}: ino ${ino}'s bytes`);
    }
    assert.deepEqual(space(lazy), space(full), `seed ${seed}: statfs and free pages after the adoption`);
    assert.deepEqual(dump(lazy), dump(full), `seed ${seed}: the tree`);
    assert.deepEqual([...lazy.losses], [], `seed ${seed}: no loss`);
    full.detach(); lazy.detach();
  }
});

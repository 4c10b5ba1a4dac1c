// SPAN records (docs/FORMAT.md §v3, minor 1): a stretch of lone pages in one
// record, one crc32c per page. These tests pin that the same tree loads from
// a log written with SPANs and from one written the older way (a MAP per page,
// what an older pram left), lazy and full; that a flipped bit in a span's data
// page or in its page crc costs that page alone, named exactly, while the rest
// of the file loads (a flipped page crc is also reported at mount: the crcs
// have a crc of their own); and that a flipped bit in a span's own fields is a
// record loss reported as such (the file's map is then distrusted, never wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HeaderView } from '../format/header.js';
import { RECORD_HEADER, RecordType, SPAN_FIXED } from '../format/v3.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { EIO } from '../format/errno.js';
import { crc32c } from '../format/crc.js';
import { copyRam, dump, logByte, logRecords, newRam, PS, randomOp, type LogRecordAt } from './livekit.js';
import { stepClock } from './testkit.js';
import { Volume } from './volume.js';

function mountWith(ram: SimRam, opts: { verify?: 'full' | 'lazy'; spans?: boolean } = {}): Volume {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  return Volume.mount({ mem: ram, handoff, clock: stepClock(), keepMemOpen: true, verify: opts.verify ?? 'full', spans: opts.spans });
}

const count = (ram: SimRam, type: number) => logRecords(ram).filter((r) => r.type === type).length;

/** A seeded history: the random changes of livekit plus long writes (stretches of pages: spans), synced per round. */
function history(vol: Volume, seed: number, compactAt: number): void {
  const r = new Prng(seed);
  for (let round = 0; round < 10; round++) {
    for (let k = 1 + r.below(4); k > 0; k--) randomOp(vol, r);
    // The random changes may have renamed or unlinked it: then a new one.
    const found = vol.lookup(1, 'big');
    const big = typeof found === 'number' ? vol.mknod(1, 'big', 0o100644, 0, 0, 0) : found;
    if (typeof big === 'number') assert.fail(`seed ${seed}: mknod ${big}`);
    const pages = 40 + r.below(300), at = r.below(3) === 0 ? r.below(4200) : r.below(64);
    assert.equal(vol.write(big.ino, at * PS + r.below(3), r.bytes(pages * PS)), pages * PS, `seed ${seed}: write`);
    if (round === compactAt) (vol as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;   // this sync compacts (a fresh log)
    assert.equal(vol.sync(), 0, `seed ${seed} round ${round}: sync`);
  }
}

test('the same seeded history loads the same tree from a log with SPANs and from one with a MAP per page (lazy and full)', () => {
  for (const seed of [7, 8, 9]) {
    const withSpans = newRam(16384), mapOnly = newRam(16384);
    const a = mountWith(withSpans), b = mountWith(mapOnly, { spans: false });
    history(a, seed, seed % 2 ? 9 : 4);
    history(b, seed, seed % 2 ? 9 : 4);
    const expect = dump(a);
    assert.deepEqual(dump(b), expect, `seed ${seed}: the two volumes agree before unmount`);
    a.detach(); b.detach();
    assert.ok(count(withSpans, RecordType.Span) > 0, `seed ${seed}: SPAN records written`);
    assert.equal(count(mapOnly, RecordType.Span), 0, `seed ${seed}: the older encoding has none`);
    assert.ok(logRecords(withSpans).length < logRecords(mapOnly).length, `seed ${seed}: fewer records`);
    for (const verify of ['lazy', 'full'] as const) {
      for (const [what, ram] of [['spans', withSpans], ['map only', mapOnly]] as const) {
        const v = mountWith(copyRam(ram), { verify });
        assert.deepEqual(v.losses, [], `seed ${seed} ${what} ${verify}`);
        assert.deepEqual(dump(v), expect, `seed ${seed} ${what} ${verify}: the tree`);
        v.detach();
      }
    }
  }
});

/** A file of 600 pages written once: its log holds one SPAN per 4096-page block, here one. */
function oneSpanFile(): { ram: SimRam; span: LogRecordAt; body: Buffer } {
  const ram = newRam(4096);
  const vol = mountWith(ram);
  const f = vol.mknod(1, 'big', 0o100644, 0, 0, 0);
  if (typeof f === 'number') assert.fail('mknod');
  const body = Buffer.alloc(600 * PS);
  for (let i = 0; i < body.length; i += 4) body.writeUInt32LE((i * 2654435761) >>> 0, i);
  assert.equal(vol.write(f.ino, 0, body), body.length);
  assert.equal(vol.sync(), 0);
  vol.detach();
  const spans = logRecords(ram).filter((r) => r.type === RecordType.Span);
  assert.equal(spans.length, 1, 'one SPAN for the file');
  assert.equal(spans[0]!.length, SPAN_FIXED + 4 * 600);
  assert.equal(count(ram, RecordType.Map), 0, 'no MAP');
  return { ram, span: spans[0]!, body };
}

function readPages(vol: Volume, pages: number): (Buffer | number)[] {
  const ino = (vol.lookup(1, 'big') as { ino: number }).ino;
  const out: (Buffer | number)[] = [];
  for (let i = 0; i < pages; i++) { const r = vol.read(ino, i * PS, PS); out.push(typeof r === 'number' ? r : Buffer.from(r)); }
  return out;
}

test('a flipped bit in a page of a SPAN, or in its crc in the record, costs that page alone, named exactly (lazy and full)', () => {
  const { ram, span, body } = oneSpanFile();
  const byte = (k: number) => { const p = logByte(ram, span, k); return ram.page(p.pfn)[p.off]!; };
  const pfnOf = (byte(RECORD_HEADER + 16) | byte(RECORD_HEADER + 17) << 8 | byte(RECORD_HEADER + 18) << 16) >>> 0;   // the span's first pfn (below 2^24 here)
  for (const [what, flip] of [
    ['data page 123', (c: SimRam) => { c.page(pfnOf + 123)[77]! ^= 0x08; }],
    ['crc of page 123', (c: SimRam) => { const at = logByte(c, span, RECORD_HEADER + SPAN_FIXED + 4 * 123 + 2); c.page(at.pfn)[at.off]! ^= 0x01; }],
  ] as const) {
    for (const verify of ['lazy', 'full'] as const) {
      const c = copyRam(ram);
      flip(c);
      const v = mountWith(c, { verify });
      const pages = readPages(v, 600);
      const losses = v.losses;   // a lazy mount's first-read failures included
      const lost = losses.filter((l) => l.path !== null), record = losses.filter((l) => l.path === null);
      assert.equal(lost.length, 1, `${what} ${verify}: one page lost: ${JSON.stringify(losses)}`);
      if (what.startsWith('crc')) {
        assert.equal(record.length, 1, `${what} ${verify}: the damaged crcs reported at mount`);
        assert.match(record[0]!.what, /log record at pfn:[0-9a-f]+ offset \d+: the page crcs of the SPAN of ino \d+, pages 0-599, failed crc32c/);
      } else assert.equal(record.length, 0, `${what} ${verify}: nothing else`);
      const l = lost[0]!;
      assert.equal(l.path, '/big', `${what} ${verify}: the file named`);
      assert.match(l.what, /data page 123 \(bytes 503808-507903\) failed crc32c/, `${what} ${verify}: the page named`);
      assert.deepEqual(l.range, { start: 123 * PS, end: 124 * PS });
      for (let i = 0; i < 600; i++) {
        if (i === 123) assert.equal(pages[i], -EIO, `${what} ${verify}: page 123 reads EIO`);
        else assert.deepEqual(pages[i], body.subarray(i * PS, (i + 1) * PS), `${what} ${verify}: page ${i} loads`);
      }
      v.detach();
    }
  }
});

test('a flipped bit in a SPAN\'s own fields fails its record: reported, and the file reads EIO rather than anything wrong', () => {
  const { ram, span } = oneSpanFile();
  for (const k of [4, 13, RECORD_HEADER + 9, RECORD_HEADER + 26, RECORD_HEADER + 33]) {   // type, generation, index, count, the crcs' crc
    const c = copyRam(ram);
    const at = logByte(c, span, k);
    c.page(at.pfn)[at.off]! ^= 0x02;
    const v = mountWith(c, { verify: 'lazy' });
    if (typeof v.getattr(v.rootIno) === 'number') assert.fail('getattr /');     // a lazy mount: the root's group loads on this first request
    const text = v.losses.map((l) => l.what).join('\n');
    assert.match(text, /log record at pfn:[0-9a-f]+ offset \d+ .*(failed crc32c|is malformed)/, `byte ${k}: the record's loss`);
    assert.match(text, /page map holds 0 page\(s\), its INODE record says 600/, `byte ${k}: the file's map is distrusted`);
    for (const p of readPages(v, 600)) assert.equal(p, -EIO, `byte ${k}: no page of the file reads as anything`);
    v.detach();
  }
});

test('a log written the older way (MAP only, slot extension 2, header version 3) still mounts; its first compaction writes SPANs under extension 8 and version 9', () => {
  const ram = newRam(4096);
  const vol = mountWith(ram, { spans: false });
  const f = vol.mknod(1, 'old', 0o100644, 0, 0, 0);
  if (typeof f === 'number') assert.fail('mknod');
  const body = Buffer.alloc(300 * PS, 0x3c);
  assert.equal(vol.write(f.ino, 0, body), body.length);
  assert.equal(vol.sync(), 0);
  const expect = dump(vol);
  vol.detach();
  // As an older pram left it: slot extension 2.
  const h = new HeaderView(ram.page(0)), which = h.current()!.which, o = h.slotAt(which);
  const slot = h.current()!.slot;
  assert.ok(slot.log);
  ram.page(0).writeUInt32LE(2, o + 32);
  ram.page(0).writeUInt32LE(crc32c(ram.page(0).subarray(o, o + 60)), o + 60);
  assert.deepEqual(new HeaderView(ram.page(0)).current()!.slot, slot, 'the slot reads the same as extension 2');
  assert.equal(count(ram, RecordType.Span), 0);
  assert.equal(count(ram, RecordType.Map), 300);
  ram.page(0).writeUInt32LE(3, 4);                            // and header version 3, as an older pram keeps it
  ram.page(0).writeUInt32LE(crc32c(ram.page(0).subarray(0, 28)), 28);
  for (const verify of ['lazy', 'full'] as const) {
    const v = mountWith(copyRam(ram), { verify });
    assert.deepEqual(v.losses, [], verify);
    assert.deepEqual(dump(v), expect, verify);
    v.detach();
  }
  const v = mountWith(ram);
  (v as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;
  assert.equal(v.write(f.ino, 0, Buffer.from('x')), 1);
  assert.equal(v.sync(), 0);
  const after = dump(v);
  v.detach();
  assert.equal(ram.page(0).readUInt32LE(h.slotAt(h.current()!.which) + 32), 8, 'the compaction\'s slot says extension 8 (v3 minor 6)');
  assert.equal(h.version, 9, 'the header raised to version 9 (v3 minor 6) once that slot is durable');
  assert.ok(count(ram, RecordType.Span) >= 1 && count(ram, RecordType.Map) <= 2, 'the fresh log names the file with SPANs');
  const w = mountWith(ram, { verify: 'full' });
  assert.deepEqual(w.losses, []);
  assert.deepEqual(dump(w), after);
  w.detach();
});

// A lazy mount's tail is checked and classified without decoding its records (tailread.ts tailRecords, format/v3-peek.ts
// recordFields): the fields it reads in place must be the decoded records' fields, it must take exactly the payloads the
// decoders take (a record it passes is decoded at a group's load, where it must not fail), and it must refuse exactly
// the tails recordsIn refuses, in the same words. Seeded: random tails of the six kinds a commit writes (names of
// other than ASCII, bad UTF-8), then payload bytes set to values that break a check (a u64 over 2^53, '/', '.', NUL,
// a count across a group, a SPAN's reserved word, a shorter length), then bits flipped anywhere, and kinds no decoder knows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodePayload, encodeRecord, encodeSpan, framedCrc, RECORD_HEADER, RecordType, type LogRecord } from '../format/v3.js';
import { recordFields, type RecordFields } from '../format/v3-peek.js';
import { recordsIn } from './groups.js';
import { tailDecoded, tailRecords } from './tailread.js';
import { Prng } from '../machine/prng.js';

const GEN = 0x1_0000_0009;
const NAMES = ['a', 'ü', 'n\u20ac', '..x', '.h', 'lo\u{1f600}ng'];

function record(r: Prng): Buffer {
  const ino = 2 + r.below(50) + (r.below(8) ? 0 : 2 ** 40);
  switch (r.below(6)) {
    case 0: return encodeRecord({ type: RecordType.Inode, r: { ino, mode: r.below(2) ? 0o40755 : 0o100644, uid: 1, gid: 2, rdev: 0, size: r.below(1 << 20), atimeNs: 1n, mtimeNs: 2n,
      ctimeNs: 3n, pages: 1, xattrs: Uint8Array.from({ length: r.below(3) * 9 }, () => r.below(256)), inline: Uint8Array.from({ length: r.below(40) }, () => r.below(256)) } }, GEN);
    case 1: {
      const b = encodeRecord({ type: RecordType.Name, r: { parent: 1 + r.below(9), ino: r.below(2) ? ino : 0, name: `${NAMES[r.below(NAMES.length)]}${r.below(1000)}` } }, GEN);
      if (r.below(4) === 0) {                                            // a byte of no UTF-8 sequence: 3 bytes once decoded
        b[RECORD_HEADER + 24] = 0xff;
        b.writeUInt32LE(framedCrc(b, 0, RecordType.Name, b.readUInt32LE(8)), 0);
      }
      return b;
    }
    case 2: return encodeRecord({ type: RecordType.Map, r: { ino, index: 32 * r.below(30), pfn: 100 + r.below(1 << 20) + (r.below(4) ? 0 : 2 ** 35), count: 1 + r.below(32), csum: r.below(2 ** 32), flags: 0 } }, GEN);
    case 3: return encodeRecord({ type: RecordType.Unmap, r: { ino, index: r.below(1000), count: 1 + r.below(9) } }, GEN);
    case 4: return encodeRecord({ type: RecordType.Drop, ino }, GEN);
    default: {
      const count = 1 + r.below(9);
      return encodeSpan({ ino, index: 64 * r.below(10), pfn: 100 + r.below(1 << 20), count, flags: 0 }, Array.from({ length: count }, () => r.below(2 ** 32)), GEN);
    }
  }
}

/** What the fields must be, from the decoded record (v3-peek.ts RecordFields). */
function want(rec: LogRecord): { type: number; ino: number; x: number; n: number; m: number } {
  switch (rec.type) {
    case RecordType.Inode: return { type: rec.type, ino: rec.r.ino, x: rec.r.mode, n: rec.r.xattrs.length, m: rec.r.inline.length };
    case RecordType.Name: return { type: rec.type, ino: rec.r.parent, x: rec.r.ino, n: Buffer.byteLength(rec.r.name), m: 0 };
    case RecordType.Map: case RecordType.Span: return { type: rec.type, ino: rec.r.ino, x: rec.r.pfn, n: rec.r.count, m: 0 };
    case RecordType.Unmap: return { type: rec.type, ino: rec.r.ino, x: 0, n: 0, m: 0 };
    case RecordType.Drop: return { type: rec.type, ino: rec.ino, x: 0, n: 0, m: 0 };
    default: return { type: rec.type, ino: 0, x: 0, n: 0, m: 0 };
  }
}

const got = (f: RecordFields, k: number) => ({ type: f.type[k]!, ino: f.ino[k]!, x: f.x[k]!, n: f.n[k]!, m: f.m[k]! });

test('recordFields takes exactly the payloads the decoders take, and reads their fields (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 21);
  const r = new Prng(seed);
  let refused = 0, taken = 0;
  for (let round = 0; round < 4000; round++) {
    const b = record(r), type = b.readUInt16LE(4), length = b.readUInt32LE(8), room = b.length - RECORD_HEADER;
    // Bytes set to what breaks a check: a high word over 2^21, a name's '/', '.', NUL or a byte over 0x7f, a count.
    for (let i = 0, n = r.below(3); i < n; i++) {
      const at = RECORD_HEADER + r.below(room);
      b[at] = [0x00, 0x2e, 0x2f, 0x20, 0xff, 0x80, r.below(256)][r.below(7)]!;
    }
    if (r.below(10) === 0) b.writeUInt32LE(r.below(length + 1), 8);   // a shorter length (the record's bytes stay)
    const len = b.readUInt32LE(8), dec = decodePayload(type, b.subarray(RECORD_HEADER, RECORD_HEADER + len));
    const { f, bad } = recordFields(b, [0]);
    const where = `seed ${seed} round ${round}: ${b.subarray(0, 64).toString('hex')}`;
    assert.equal(bad === -1, typeof dec !== 'string', `${where}: taken by recordFields iff decoded (${dec as string})`);
    if (typeof dec === 'string') { refused++; continue; }
    taken++;
    assert.deepEqual(got(f, 0), want(dec), `${where}: the fields`);
  }
  assert.ok(refused > 500 && taken > 1000, `seed ${seed}: ${refused} refused, ${taken} taken`);
});

test('tailRecords refuses what recordsIn refuses, in its words, and otherwise gives its records\' places and fields (seeded bit flips)', () => {
  const seed = Number(process.env['SEED'] ?? 22);
  const r = new Prng(seed);
  const b = Buffer.concat(Array.from({ length: 80 }, () => record(r)).filter((x) => typeof decodePayload(x.readUInt16LE(4), x.subarray(RECORD_HEADER, RECORD_HEADER + x.readUInt32LE(8))) !== 'string'));
  let damaged = 0, spans = 0;
  for (let i = 0; i < 2000; i++) {
    const at = r.below(b.length), bit = 1 << r.below(8);
    if (i > 0) b[at] ^= bit;                                           // the first round: the tail whole
    const t = tailRecords(b, 'the tail'), recs = recordsIn(b, 'the tail'), where = `seed ${seed}: byte ${at} bit ${bit}`;
    if (typeof recs === 'string') {
      damaged++;
      assert.equal(t, recs, `${where}: the same refusal`);
    } else {
      assert.ok(typeof t !== 'string', `${where}: ${t as string}`);
      assert.deepEqual(Array.from(t.at), recs.map((x) => x.at), `${where}: the records' places`);
      recs.forEach((x, k) => assert.deepEqual(got(t.f, k), want(x.rec), `${where}: record ${k}'s fields`));
      const marked = recs.filter((x) => x.rec.type === RecordType.Span && x.rec.r.crcsDamage).map((x) => x.at);
      assert.deepEqual([...(t.spanDamage ?? [])], marked, `${where}: the SPANs whose page crcs are damaged`);
      if (marked.length) spans++;
      // Each record decodes later as recordsIn decodes it now (a SPAN: its damage aside, marked above).
      const later = tailDecoded(t.b, t.at);
      recs.forEach((x, k) => { if (!marked.includes(x.at)) assert.deepEqual(later[k], x.rec, `${where}: record ${k} decoded later`); });
    }
    if (i > 0) b[at] ^= bit;
  }
  assert.ok(damaged > 500 && spans > 0, `seed ${seed}: ${damaged} flips damaged a record, ${spans} a SPAN's page crcs only`);
});

test('tailRecords refuses a record of a kind no decoder knows, its crc good (a type past 255 too), in recordsIn\'s words', () => {
  const r = new Prng(23);
  for (const type of [0, 12, 255, 256 + RecordType.Inode, 0xffff]) {
    const before = record(r), b = Buffer.concat([before, record(r), record(r)]), head = before.length;
    b.writeUInt16LE(type, head + 4);
    const length = b.readUInt32LE(head + 8);
    b.writeUInt32LE(framedCrc(b, head, type, length), head);
    const want = recordsIn(b, 'the tail');
    assert.equal(typeof want, 'string', `type ${type}: recordsIn refuses it`);
    assert.equal(tailRecords(b, 'the tail'), want, `type ${type}: the same words`);
  }
});

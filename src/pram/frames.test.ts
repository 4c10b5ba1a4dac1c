// framesChecked (native/records.c recordFrames) must take exactly the record streams the format's rules take, with their
// places: each header whole, a length at most RECORD_PAYLOAD_MAX, the padded payload within the bytes, the generation
// when asked, the framed crc (v3.ts framedCrc: a SPAN's covers bytes 4..55 and its padding) and a SPAN's page crcs'
// crc. The reference below reads them one by one with the JS crcs. Seeded: streams of every kind (SPANs of odd and
// even counts, of lengths no SPAN has, of fewer bytes than a SPAN's fixed ones; kinds no decoder knows), then bit
// flips, lengths and generations rewritten with the crc made good again, and cut streams.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32cAt } from '../format/crc.js';
import { align8, encodeRecord, encodeSpan, framedCrc, RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType, SPAN_CRCS_CRC_AT, SPAN_FIXED } from '../format/v3.js';
import { framesChecked, offs, shrinkScratch } from './frames.js';
import { Prng } from '../machine/prng.js';

const GEN = 0xfffffff5;

/** The records' first bytes by the format's rules, one record at a time, or null when one does not check. */
function reference(b: Buffer, logId: number | null): number[] | null {
  const out: number[] = [];
  for (let at = 0; at < b.length;) {
    if (at + RECORD_HEADER > b.length) return null;
    const type = b.readUInt16LE(at + 4), length = b.readUInt32LE(at + 8);
    if (length > RECORD_PAYLOAD_MAX) return null;
    const total = RECORD_HEADER + align8(length);
    if (at + total > b.length || (logId !== null && b.readUInt32LE(at + 12) !== logId >>> 0)) return null;
    if (framedCrc(b, at, type, length) !== b.readUInt32LE(at)) return null;
    const p = at + RECORD_HEADER;
    if (type === RecordType.Span && length >= SPAN_FIXED && crc32cAt(b, p + SPAN_FIXED, length - SPAN_FIXED) !== b.readUInt32LE(p + SPAN_CRCS_CRC_AT)) return null;
    out.push(at);
    at += total;
  }
  return out;
}

/** The record at b[at] given a good crc again (its bytes changed on purpose: a length, a generation), when it lies in b. */
function recrc(b: Buffer, at: number): void {
  if (at + RECORD_HEADER + align8(b.readUInt32LE(at + 8)) > b.length) return;       // past the bytes: refused by its length
  b.writeUInt32LE(framedCrc(b, at, b.readUInt16LE(at + 4), b.readUInt32LE(at + 8)), at);
}

/** A record of `type` with `length` payload bytes of random content, framed (its crc good). */
function raw(r: Prng, type: number, length: number): Buffer {
  const b = Buffer.alloc(RECORD_HEADER + align8(length));
  r.fill(b.subarray(RECORD_HEADER, RECORD_HEADER + length));
  b.writeUInt16LE(type, 4); b.writeUInt32LE(length, 8); b.writeUInt32LE(GEN, 12);
  recrc(b, 0);
  return b;
}

function record(r: Prng): Buffer {
  const ino = 2 + r.below(50);
  switch (r.below(9)) {
    case 0: return encodeRecord({ type: RecordType.Name, r: { parent: 1, ino, name: `n${r.below(1000)}` } }, GEN);
    case 1: return encodeRecord({ type: RecordType.Map, r: { ino, index: 32 * r.below(30), pfn: 100 + r.below(1 << 20), count: 1 + r.below(32), csum: r.below(2 ** 32), flags: 0 } }, GEN);
    case 2: return encodeRecord({ type: RecordType.Drop, ino }, GEN);
    case 3: case 4: {
      const count = 1 + r.below(9);                                      // odd counts: 4 bytes of padding in the framed crc
      return encodeSpan({ ino, index: 64 * r.below(10), pfn: 100 + r.below(1 << 20), count, flags: 0 }, Array.from({ length: count }, () => r.below(2 ** 32)), GEN);
    }
    case 5: {                                                            // a SPAN of a length no SPAN has: padding of 1..7 bytes
      const b = raw(r, RecordType.Span, SPAN_FIXED + 1 + r.below(30)), length = b.readUInt32LE(8);
      b.writeUInt32LE(crc32cAt(b, RECORD_HEADER + SPAN_FIXED, length - SPAN_FIXED), RECORD_HEADER + SPAN_CRCS_CRC_AT);
      recrc(b, 0);
      return b;
    }
    case 6: return raw(r, RecordType.Span, r.below(SPAN_FIXED));        // fewer bytes than a SPAN's fixed ones: the plain crc
    case 7: return raw(r, [0, RecordType.Atimes, RecordType.AtimesPages, 300, 0xffff][r.below(5)]!, r.below(100));
    default: return raw(r, RecordType.Inode, 80 + r.below(40));
  }
}

/** framesChecked's answer as the reference gives it. */
function got(b: Buffer, logId: number | null): number[] | null {
  const n = framesChecked(b, logId);
  return n === null ? null : Array.from(offs.subarray(0, n));
}

test('framesChecked takes exactly the streams the format\'s rules take, with their records\' places (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 31);
  const r = new Prng(seed);
  let taken = 0, refused = 0;
  for (let round = 0; round < 3000; round++) {
    const recs = Array.from({ length: 1 + r.below(12) }, () => record(r)), starts: number[] = [];
    let at = 0;
    for (const x of recs) { starts.push(at); at += x.length; }
    // Sometimes 1 byte into a larger buffer (the records not 4-aligned in memory).
    const whole = Buffer.concat(recs), odd = r.below(4) === 0, b = odd ? Buffer.alloc(whole.length + 1).subarray(1) : whole;
    if (odd) whole.copy(b);
    const k = starts[r.below(starts.length)]!;
    switch (r.below(6)) {
      case 0: break;
      case 1: b[r.below(b.length)] ^= 1 << r.below(8); break;
      case 2: b.writeUInt32LE(r.below(4) ? r.below(200) : RECORD_PAYLOAD_MAX + r.below(2), k + 8); recrc(b, k); break;   // crc good: the framing must refuse it
      case 3: b.writeUInt32LE((GEN ^ 1) >>> 0, k + 12); recrc(b, k); break;
      case 4: { const cut = b.subarray(0, r.below(b.length)); assertSame(cut, null, seed, round); assertSame(cut, GEN, seed, round); continue; }
      default: if (b.readUInt16LE(k + 4) === RecordType.Span && b.readUInt32LE(k + 8) > SPAN_FIXED) b[k + RECORD_HEADER + SPAN_FIXED] ^= 4; break;   // a page crc
    }
    const want = assertSame(b, null, seed, round);
    assertSame(b, GEN, seed, round);
    if (want) taken++; else refused++;
  }
  assert.ok(taken > 500 && refused > 500, `seed ${seed}: ${taken} taken, ${refused} refused`);
});

function assertSame(b: Buffer, logId: number | null, seed: number, round: number): number[] | null {
  const want = reference(b, logId);
  assert.deepEqual(got(b, logId), want, `seed ${seed} round ${round} logId ${logId}: ${b.subarray(0, 64).toString('hex')}`);
  return want;
}

test('framesChecked grows its offsets for a stream of more records than they hold, and shrinks them after', () => {
  const r = new Prng(32), recs = Array.from({ length: 70_000 }, () => encodeRecord({ type: RecordType.Drop, ino: 2 + r.below(1000) }, GEN));
  const b = Buffer.concat(recs);
  assert.equal(framesChecked(b, GEN), recs.length);
  assert.deepEqual(offs.subarray(0, 3), Uint32Array.of(0, 24, 48));
  assert.equal(offs[recs.length - 1], b.length - 24);
  b[b.length - 1] ^= 1;
  assert.equal(framesChecked(b, GEN), null, 'the last record\'s crc');
  shrinkScratch();
  assert.ok(offs.length <= 1 << 16);
  assert.equal(framesChecked(b.subarray(0, 24 * 3), GEN), 3);
  assert.equal(framesChecked(b.subarray(0, 24 * 3), 0), null, 'log id 0 asked, the records\' is another');
});

test('framesChecked refuses a payload over RECORD_PAYLOAD_MAX though its bytes are there and its crc good', () => {
  const b = Buffer.alloc(RECORD_HEADER + RECORD_PAYLOAD_MAX + 8);
  b.writeUInt16LE(RecordType.Inode, 4); b.writeUInt32LE(GEN, 12);
  for (const [length, ok] of [[RECORD_PAYLOAD_MAX, true], [RECORD_PAYLOAD_MAX + 1, false]] as const) {
    b.writeUInt32LE(length, 8); recrc(b, 0);
    assert.equal(framesChecked(b.subarray(0, RECORD_HEADER + align8(length)), GEN), ok ? 1 : null, `${length} bytes`);
  }
});

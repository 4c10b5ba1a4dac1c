// recordFields (native/records.c) gives a NAME's length in UTF-8 once decoded as Buffer decodes it: each maximal part
// of a sequence that is not valid becomes U+FFFD. pram/tailrecords.test.ts holds every field and refusal to the
// decoders'; here the names are random bytes over the whole range of UTF-8's lead and continuation bytes (seeded).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeRecord, RECORD_HEADER, RecordType } from './v3.js';
import { recordFields } from './v3-peek.js';
import { Prng } from '../machine/prng.js';

/** A byte of a name: mostly the ones UTF-8's rules tell apart (leads, continuations at their bounds, ones no sequence has). */
const BYTES = [0x41, 0x2e, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xfe, 0xff];

/** Mostly one of BYTES, else any but NUL and '/' (those refuse the name: tailrecords.test.ts). */
function byte(r: Prng): number {
  const v = r.below(8) ? BYTES[r.below(BYTES.length)]! : 1 + r.below(255);
  return v === 0x2f ? 0x41 : v;
}

test('recordFields gives a NAME\'s UTF-8 length once decoded, for names of any bytes (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 41);
  const r = new Prng(seed);
  let odd = 0;
  for (let round = 0; round < 20_000; round++) {
    const len = 1 + r.below(r.below(4) ? 8 : 255);
    const name = Buffer.from(Array.from({ length: len }, () => byte(r)));
    const b = encodeRecord({ type: RecordType.Name, r: { parent: 1, ino: 2, name: 'x'.repeat(len) } }, 7);
    name.copy(b, RECORD_HEADER + 24);
    const { f, bad } = recordFields(b, [0]), text = name.toString('utf8');
    const where = `seed ${seed} round ${round}: name ${name.toString('hex')}`;
    assert.equal(bad, text === '.' || text === '..' ? 0 : -1, where);
    if (bad === 0) continue;
    assert.equal(f.n[0], Buffer.byteLength(text), where);
    if (f.n[0] !== len) odd++;
  }
  assert.ok(odd > 5000, `seed ${seed}: ${odd} names whose length changed once decoded`);
});

test('recordFields throws a RangeError for a record past its bytes (the caller framed them), not reading there', () => {
  const b = encodeRecord({ type: RecordType.Drop, ino: 5 }, 7);
  assert.throws(() => recordFields(b.subarray(0, RECORD_HEADER + 4), [0]), RangeError);
  assert.throws(() => recordFields(b, [8]), RangeError);
  assert.throws(() => recordFields(b, [2 ** 32 - 4]), RangeError);
  assert.equal(recordFields(b, [0]).bad, -1);
});

test('recordFields lists the ks of the records of a kind other than the six, before the refused one', () => {
  const drop = (ino: number) => encodeRecord({ type: RecordType.Drop, ino }, 7);
  const other = (type: number) => { const b = drop(3); b.writeUInt16LE(type, 4); return b; };
  const recs = [drop(2), other(RecordType.AtimesPages), drop(4), other(0), other(300), drop(5)];
  const at = Uint32Array.from(recs, (_, k) => 24 * k), b = Buffer.concat(recs);
  const { f, bad, others } = recordFields(b, at);
  assert.equal(bad, -1);
  assert.deepEqual(Array.from(others), [1, 3, 4]);
  assert.deepEqual(Array.from(f.type), [RecordType.Drop, RecordType.AtimesPages, RecordType.Drop, 0, 300, RecordType.Drop]);
  assert.deepEqual(Array.from(f.ino), [2, 0, 4, 0, 0, 5]);
  b.writeUInt32LE(2 ** 22, 24 * 2 + RECORD_HEADER + 4);                // record 2's ino over 2^53: refused, the list stops there
  const cut = recordFields(b, at);
  assert.equal(cut.bad, 2);
  assert.deepEqual(Array.from(cut.others), [1]);
});

// recordsIn (groups.ts) sums every record's crc in one native call and reads the records again one by one only when
// something does not check: the answer must be the one-by-one reading's in every case (recordsSalvaged reads the
// same records one by one). A tail of every record type (SPANs with and without padding after their page crcs,
// ATIMES viewed in place) read whole; then each of many single flipped bits: the same records, the same SPAN page
// crc damage, or the same first damaged record named.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { atimesRecord, decodePayload, encodeRecord, encodeSpan, RecordType, type LogRecord } from '../format/v3.js';
import { indexPayload, locatePayload } from '../format/v3-index.js';
import { decodedAt, recordsIn, recordsSalvaged } from './groups.js';
import { Prng } from '../machine/prng.js';

const GEN = 0x1_0000_0007;

function tail(r: Prng): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < 60; i++) {
    const ino = 2 + r.below(50);
    switch (r.below(7)) {
      case 0: parts.push(encodeRecord({ type: RecordType.Inode, r: { ino, mode: 0o100644, uid: 1, gid: 2, rdev: 0, size: r.below(1 << 20), atimeNs: 1n, mtimeNs: 2n,
        ctimeNs: 3n, pages: 1, xattrs: Uint8Array.from({ length: r.below(3) }, () => r.below(256)), inline: Uint8Array.from({ length: r.below(40) }, () => r.below(256)) } }, GEN)); break;
      case 1: parts.push(encodeRecord({ type: RecordType.Name, r: { parent: 1, ino: r.below(2) ? ino : 0, name: `n${r.below(1000)}` } }, GEN)); break;
      case 2: parts.push(encodeRecord({ type: RecordType.Map, r: { ino, index: 32 * r.below(30), pfn: 100 + r.below(1 << 20), count: 1 + r.below(32), csum: r.below(2 ** 32), flags: 0 } }, GEN)); break;
      case 3: parts.push(encodeRecord({ type: RecordType.Unmap, r: { ino, index: r.below(1000), count: 1 + r.below(9) } }, GEN)); break;
      case 4: parts.push(encodeRecord({ type: RecordType.Drop, ino }, GEN)); break;
      case 5: {
        const count = 1 + r.below(9);                  // odd counts: padding after the page crcs
        parts.push(encodeSpan({ ino, index: 64 * r.below(10), pfn: 100 + r.below(1 << 20), count, flags: 0 }, Array.from({ length: count }, () => r.below(2 ** 32)), GEN));
        break;
      }
      default: {
        const n = 1 + r.below(20), inos = Array.from({ length: n }, (_, k) => 2 + 3 * k);
        parts.push(encodeRecord({ type: RecordType.Atimes, r: atimesRecord(inos, inos.map((x) => BigInt(x) * 1000n)) } as LogRecord, GEN));
      }
    }
  }
  return Buffer.concat(parts);
}

/** What a reading gave, comparable: each record's type, place, generation and decoded fields. */
const shape = (recs: { type: number; generation: number; at: number; total: number; rec: LogRecord }[]) => recs.map((x) => {
  const r = (x.rec as { r?: Record<string, unknown> }).r;
  const fields = x.rec.type === RecordType.Atimes ? { n: (r as { n: number }).n, words: Array.from((r as { words: Uint32Array }).words) }
    : x.rec.type === RecordType.Span ? { ...r, crcs: Array.from((r as { crcs: Uint32Array }).crcs) } : x.rec;
  return [x.type, x.at, x.total, x.generation, fields];
});

test('recordsIn: a tail read whole, then each flipped bit, gives what the records read one by one give (seeded)', () => {
  const seed = Number(process.env['SEED'] ?? 13);
  const r = new Prng(seed);
  const b = tail(r);
  const whole = recordsIn(b, 'the tail');
  assert.ok(typeof whole !== 'string', `seed ${seed}: ${whole as string}`);
  assert.deepEqual(shape(whole), shape(recordsSalvaged(b).recs), `seed ${seed}: the records`);
  let damaged = 0, spanCrcs = 0;
  for (let i = 0; i < 3000; i++) {
    const at = r.below(b.length), bit = 1 << r.below(8);
    b[at] ^= bit;
    const got = recordsIn(b, 'the tail'), one = recordsSalvaged(b);
    if (one.damage.length) {
      damaged++;
      assert.equal(typeof got, 'string', `seed ${seed}: byte ${at} bit ${bit}: a damaged record`);
      assert.match(got as string, new RegExp(`^the tail: the record at byte ${one.damage[0]!.at} `), `seed ${seed}: byte ${at} bit ${bit}: the first damaged record named`);
    } else {
      assert.ok(typeof got !== 'string', `seed ${seed}: byte ${at} bit ${bit}: ${got as string}`);
      assert.deepEqual(shape(got), shape(one.recs), `seed ${seed}: byte ${at} bit ${bit}: the records`);
      if (got.some((x) => x.rec.type === RecordType.Span && x.rec.r.crcsDamage)) spanCrcs++;
    }
    b[at] ^= bit;
  }
  assert.ok(damaged > 100 && spanCrcs > 0, `seed ${seed}: ${damaged} flips damaged a record, ${spanCrcs} a SPAN's page crcs only`);
});

test('decodedAt: a LOCATE and an INDEX decoded in place (every lazy mount\'s) as decodePayload decodes them, whole, short, long or malformed', () => {
  const locate = locatePayload({ indexPos: 4096, indexBytes: 40, nodes: 7, names: 6, maxIno: 9, indexRecords: 1, entries: 1, runsBytes: 64, indexPfn: 12 });
  const index = indexPayload([{ ino: 1, home: 1, pos: 80, bytes: 96 }, { ino: 5, home: 1, pos: 0, bytes: 0 }]);
  const badRuns = Buffer.from(locate); badRuns.writeUInt32LE(0, 56);       // RUNS without the index's page
  const badIndex = Buffer.from(index); badIndex.writeUInt32LE(1, 4);        // its reserved field
  const cases: [number, Buffer][] = [[RecordType.Locate, locate], [RecordType.Locate, locate.subarray(0, 40)], [RecordType.Locate, Buffer.concat([locate, Buffer.alloc(8)])],
    [RecordType.Locate, badRuns], [RecordType.Index, index], [RecordType.Index, index.subarray(0, 4)], [RecordType.Index, index.subarray(0, index.length - 8)], [RecordType.Index, badIndex]];
  for (const [type, p] of cases) {
    const b = Buffer.concat([Buffer.alloc(24), p]);           // at an offset, as in a page
    assert.deepEqual(decodedAt(b, type, 24, p.length), decodePayload(type, Buffer.from(p)), `type ${type}, ${p.length} bytes`);
  }
  assert.equal(typeof decodedAt(Buffer.concat([Buffer.alloc(24), locate]), RecordType.Locate, 24, locate.length), 'object', 'a whole LOCATE decodes');
});

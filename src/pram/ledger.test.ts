// The space ledger's rule and its rare branches, each test named after the branch it proves.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENOSPC } from '../format/errno.js';
import { SpaceLedger, type TreeShape } from './ledger.js';
import { chainPagesFor } from './save.js';

/** A ledger over plain counters: free pages and returning pages set by the test. */
function ledger(free: number, returning = 0) {
  const src = { freePages: free, returningPages: returning };
  const l = new SpaceLedger({ free: () => src.freePages, returning: () => src.returningPages }, (s) => chainPagesFor(s, 4096));
  return { l, src };
}

test('chainPagesFor: a record or copy is a page, and every 169 entries take a link page', () => {
  const shape = (records: number, data: number, copies = 0): TreeShape => ({ records, bytes: 0, data, copies, inline: 0 });
  assert.equal(chainPagesFor(shape(0, 0), 4096), 0);
  assert.equal(chainPagesFor(shape(1, 0), 4096), 2);            // META + one link page
  assert.equal(chainPagesFor(shape(1, 168), 4096), 2);          // 169 entries: still one link page
  assert.equal(chainPagesFor(shape(1, 169), 4096), 3);          // 170: a second link page
  assert.equal(chainPagesFor(shape(1, 0, 2), 4096), 4);         // two banned copies, one link page
});

test('charge: growth that fits is admitted and the shape grows', () => {
  const { l } = ledger(100);
  assert.equal(l.charge(1, { records: 1, data: 1 }), 0);
  assert.deepEqual(l.shape, { records: 1, bytes: 0, data: 1, copies: 0, inline: 0 });
  // need = 1 + 1 link = 2; nothing returning, so the rule keeps 2 * need.
  assert.equal(l.room(), 100 - 2 * 2);
});

test('charge: growth that would break the rule fails with ENOSPC and changes nothing', () => {
  const { l, src } = ledger(5);
  assert.equal(l.charge(0, { records: 1 }), 0);          // keeps 2 * 2 = 4 of 5
  src.freePages = 5;
  assert.equal(l.charge(1, { data: 1 }), 0);             // 4 free after, still >= 4
  src.freePages = 4;
  assert.equal(l.charge(1, { data: 1 }), -ENOSPC);       // 3 free after < 4
  assert.deepEqual(l.shape, { records: 1, bytes: 0, data: 1, copies: 0, inline: 0 }, 'unchanged by the refusal');
});

test('returning pages: a step that gives back at least need keeps only need', () => {
  const { l } = ledger(10, 50);
  assert.equal(l.charge(0, { records: 4 }), 0);          // need 5; returning 50 covers the step after
  assert.equal(l.room(), 10 - 5);
 const short = ledger(7, 2).l;
  assert.equal(short.charge(0, { records: 4 }), -ENOSPC, 'need 5 + (5 - 2 returning) = 8 > 7 free');
  assert.equal(ledger(8, 2).l.charge(0, { records: 4 }), 0, '8 free is exactly enough');
});

test('reserve: takes only the room there is, and refill() tops it up when room comes back', () => {
  const { l, src } = ledger(10);
  assert.equal(l.reserve(16), 10);
  assert.equal(l.room(), 0);
  assert.equal(l.charge(1, { data: 1 }), -ENOSPC, 'reserved pages are not for ordinary growth');
  src.freePages = 30;
  assert.equal(l.refill(), 16);
  assert.equal(l.room(), 30 - 16);
  l.release();
  assert.equal(l.reserved, 0);
});

test('charge fromReserve: a shortfall is drawn from the reserved pages', () => {
  const { l, src } = ledger(8);
  assert.equal(l.reserve(8), 8);
  src.freePages = 8;
  assert.equal(l.charge(1, { records: 1, data: 1 }, { fromReserve: true }), 0);
  // after: free 7 (the test stands in for the allocator), need 2 -> 4 kept, 7 - 4 = 3 left of the reserve
  assert.equal(l.reserved, 8 - (1 + 4));
});

test('charge fromReserve: a shortfall larger than the reserve fails with ENOSPC', () => {
  const { l } = ledger(3);
  assert.equal(l.reserve(1), 1);
  assert.equal(l.charge(2, { records: 1 }, { fromReserve: true }), -ENOSPC);
  assert.equal(l.reserved, 1, 'the reserve is untouched by the refusal');
  assert.deepEqual(l.shape, { records: 0, bytes: 0, data: 0, copies: 0, inline: 0 });
});

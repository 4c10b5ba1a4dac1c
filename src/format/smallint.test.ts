// smallInt keeps every count's value: a small integer comes back as one (the
// same number), and anything V8 cannot hold as one (past 31 bits, fractions,
// NaN) comes back untouched, never wrapped by the int32 conversion.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { smallInt } from './smallint.js';

test('smallInt: the same number for counts in and out of the small-integer range', () => {
  const values = [0, 1, -1, 4096, 1_052_672, 0x3fffffff, -0x40000000, 0x40000000, -0x40000001, 2 ** 31 + 5, 2 ** 32 + 7, 2 ** 52, -(2 ** 40), 1.5, -2.25, Infinity, -Infinity];
  for (const v of values) assert.equal(smallInt(v), v, `smallInt(${v})`);
  // An integral double made by arithmetic on a boxed number (a Float64Array's element): the same count.
  const f = new Float64Array([1_048_576, 3]);
  assert.equal(smallInt(f[0]! + f[1]!), 1_048_579);
  assert.ok(Number.isNaN(smallInt(NaN)));
  assert.ok(Object.is(smallInt(-0), 0), '-0 counts as 0');
});

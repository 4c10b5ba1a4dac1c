// File times from wallClock(): never before the wall clock read just before,
// never after the one read just after, and never going backwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { wallClock } from './clock.js';

test('wallClock: within the wall clock read around it, and non-decreasing', () => {
  const clock = wallClock();
  let last = 0n;
  for (let i = 0; i < 20_000; i++) {
    const before = BigInt(Date.now()) * 1_000_000n;
    const t = clock();
    const after = BigInt(Date.now() + 1) * 1_000_000n;
    assert.ok(t >= before, `read ${i}: ${t} is before the wall clock ${before}`);
    assert.ok(t <= after, `read ${i}: ${t} is after the wall clock ${after}`);
    assert.ok(t >= last, `read ${i}: ${t} went back from ${last}`);
    last = t;
  }
});

// The background driver (driver.ts): at most one slice between two ticks of a
// 1 ms timer (a slice is SLICE_MS of work; two in one turn of the loop were a
// stall of twice that), work chained while there is some, restarted by the
// driver's own tick, nothing after stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { SLICE_MS, TICK_MS, startBackground, type Driven } from './driver.js';

test('one slice per turn of the loop at most, chains restarted by the tick, none after stop', async () => {
  let ticks = 0, calls = 0, worst = 0, sinceTick = 0, chains = 0, left = 0;
  const vol: Driven = {
    isMounted: true,
    driveBackground() {},
    background(budgetMs: number): boolean {
      assert.equal(budgetMs, SLICE_MS);
      for (const end = performance.now() + budgetMs; performance.now() < end;);   // a slice's work
      calls++;
      worst = Math.max(worst, ++sinceTick);
      if (left === 0) { chains++; left = 4; }     // each chain: 4 slices with more to do, then done
      return --left > 0;
    },
  };
  const timer = setInterval(() => { ticks++; sinceTick = 0; }, 1);
  const stop = startBackground(vol);
  await sleep(20 * TICK_MS);
  stop();
  const after = calls;
  await sleep(3 * TICK_MS);
  clearInterval(timer);
  assert.ok(chains >= 5, `chains restarted by the driver's tick (${chains})`);
  assert.ok(ticks > 20, `the 1 ms timer ran (${ticks} ticks)`);
  assert.equal(worst, 1, 'never two slices between two timer ticks');
  assert.ok(calls - after <= 1, 'nothing after stop (one already scheduled may run)');
});

test('the driver makes its tick\'s timer at the first turn of the loop, not when started (a mount returns before it); stopped before that turn, none', async () => {
  const vol: Driven = { isMounted: true, driveBackground: () => {}, background: () => false };
  const real = globalThis.setInterval;
  let made = 0;
  globalThis.setInterval = ((...a: Parameters<typeof real>) => { made++; return real(...a); }) as typeof real;
  try {
    const stop = startBackground(vol);
    assert.equal(made, 0, 'no timer made by the start');
    await new Promise((r) => setImmediate(r));
    assert.equal(made, 1, 'the timer made at the first turn');
    stop();
    const early = startBackground(vol);
    early();
    await new Promise((r) => setImmediate(r));
    assert.equal(made, 1, 'stopped before its first turn: no timer made');
  } finally {
    globalThis.setInterval = real;
  }
});

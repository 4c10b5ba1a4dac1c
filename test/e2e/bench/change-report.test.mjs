// The report of "cost of a change vs image size" (bench/lib/change-report.js)
// from raw samples made up here: percentiles by nearest rank, every table
// figure backed by the JSON (the figures check), and each target met or not as
// its goal says. Reads nothing and measures nothing: fast.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { changeReport, percentiles } from '../../../bench/lib/change-report.js';
import { unbackedFigures } from '../../../bench/lib/figures.js';

const GIB = 2 ** 30;
const pairs = (ms, n = 200) => Array.from({ length: n }, (_, i) => [ms * 0.1, ms * 0.9 + (i === n - 1 ? ms : 0)]);

/** A raw run whose every figure is `scale` times an engine that just meets the issue's goals. */
function raw(scale) {
  const image = (img) => ({
    ...img, sizeBytes: 2 * GIB, usedEmpty: 16384, usedFull: 16384 + (img.files ?? 0) * 400 * scale,
    ops: { write: pairs(0.5 * scale), create: pairs(0.6 * scale), rename: pairs(0.4 * scale), unlink: pairs(0.4 * scale) },
    unmountMs: Array(20).fill(2 * scale),
    mount: {
      lazy: Array.from({ length: 5 }, (_, i) => ({ mountMs: 10 * scale, ...(i < 3 ? { readAllMs: 100 * scale } : {}), unmountMs: i === 0 ? 123.4 * scale : 0.2 })),
      full: Array.from({ length: 5 }, (_, i) => ({ mountMs: ((img.bytes ?? 1e6) / 5e9) * 1000 * scale, ...(i < 3 ? { readAllMs: 95 } : {}) })),
    },
    stall: { maxMs: 5 * scale, p99Ms: 1.5, gapMs: 6 * scale, writes: 9000, ranMs: 10_000 },
  });
  return {
    images: [image({ kind: 'large', bytes: 4 * GIB }), image({ kind: 'large', bytes: 12 * GIB }), image({ kind: 'small', files: 1_000_000 }),
      { kind: 'small', files: 10, unavailable: 'not enough free memory' },
      { kind: 'small', files: 20, usedEmpty: 16384, usedFull: 16384 + 20 * 400 * scale, unavailable: 'Maximum call stack size exceeded' }],
    tmpfs: pairs(0.05),
  };
}
const run = { mode: 'full', runId: 'test-run', params: { change: { ops: { samples: 200, budgetMs: 20_000, min: 3 }, unmount: { samples: 20, budgetMs: 15_000 }, mounts: 5, readAllReps: 3, stallSeconds: 10, checkpointIntervalMs: 2000 } } };

test('percentiles: nearest rank over the finite samples', () => {
  const ms = Array.from({ length: 100 }, (_, i) => i + 1);
  assert.deepEqual(percentiles([...ms, NaN].reverse()), { p50: 50, p99: 99, max: 100, n: 100 });
  assert.deepEqual(percentiles([3, 1, 2]), { p50: 2, p99: 3, max: 3, n: 3 });
  assert.equal(percentiles([]), null);
});

test('an engine within every goal is reported met on every target, one 3x slower on none', () => {
  for (const [scale, want] of [[1, 'met'], [3, 'NOT met']]) {
    const { targets } = changeReport(raw(scale), run);
    assert.equal(targets.length, 11);
    for (const t of targets) assert.equal(t.status, want, `${t.what}: ${t.measured} at scale ${scale}`);
  }
  // A stall the histogram missed but the writer saw fails the target.
  const r = raw(1);
  r.images[0].stall.gapMs = 40;
  const stall = changeReport(r, run).targets.find((t) => /event-loop stall/.test(t.what));
  assert.deepEqual([stall.status, stall.measured], ['NOT met', '40.0 ms']);
});

test('every number of the section\'s tables is a figure of its JSON; an unavailable image says why', () => {
  const { figures, markdown, targets } = changeReport(raw(1), run);
  const md = `Run id: test-run\n\n${markdown}\n\n| target | goal | measured | status |\n|---|---|---|---|\n${targets.map((t) => `| ${t.what} | ${t.goal} | ${t.measured} | ${t.status} |`).join('\n')}`;
  const json = { runId: 'test-run', figures: { change: figures, targets } };
  assert.deepEqual(unbackedFigures(md, json), []);
  assert.match(markdown, /\| 10 files of 100 B \| unavailable: not enough free memory \|/);
  assert.match(markdown, /\| 20 files of 100 B \| unavailable: Maximum call stack size exceeded \(built: 400 arena B per file\) \|/);
  assert.match(markdown, /\| 12 GiB \(large files\) \| 0\.50 \/ 0\.50 \/ 1\.00 \(200\)/, 'write + fsync p50 / p99 / max (n) of the 12 GiB image');
  // The unmount after the first read-all session (the one that commits every file's atime) is its own column.
  assert.equal(figures.images[0].firstReadUnmount, 123.4);
  // 12 GiB: reads 100 vs 95 ms; mount + read all 10 + 100 vs 12 GiB / 5 GB/s + 95 ms.
  assert.match(markdown, /\| 12 GiB .*\| 1\.05 \[1\.05–1\.05\]× \| 0\.04 \[0\.04–0\.04\]× \| 123 \|/, 'lazy / full, mount + read all, then the unmount after the first read all');
  assert.ok(Math.abs(figures.images.find((x) => x.bytes === 12 * 2 ** 30).lazyOverFullWhole.median - 110 / (12 * 2 ** 30 / 5e6 + 95)) < 1e-9);
  const forged = md.replace('0.50 / 0.50 / 1.00 (200)', '0.50 / 0.50 / 7.77 (200)');
  assert.match(unbackedFigures(forged, json).join('\n'), /7\.77/);
});

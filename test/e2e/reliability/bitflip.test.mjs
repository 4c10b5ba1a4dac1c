// Fault injection on real arena files (issue 7): per run, one seeded image
// (v1; v2; v2 with extents and an older checkpoint in the other header slot;
// v2 with a long chain) copied, random bits flipped in 1-3 random pages of one
// class (header, link, meta, data), mounted, everything read. No wrong
// content without an error; untouched paths identical; every flip in a chain
// page reported; no crash, no hang (each batch is a child process with a
// per-run watchdog, so a crash or a hang names its seed).
//   PRAM_BITFLIP_SEED=n    run only seed n      PRAM_BITFLIP_RUNS=n   (default 2000)
// No failure is tolerated (the engine bugs these runs found are fixed; their
// seeds are regression tests in known-bugs.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLines } from './lines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const worker = path.join(here, 'bitflip-worker.mjs');
const dir = fs.mkdtempSync('/dev/shm/pram-rel-bitflip-');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

const one = process.env['PRAM_BITFLIP_SEED'];
const RUNS = Number(process.env['PRAM_BITFLIP_RUNS'] ?? 2000);
const BATCH = 250;
const PER_RUN_MS = 20_000;
const totals = { runs: 0, byClass: {}, refused: 0, losses: 0, covered: 0, rolledTo0: 0 };

/** Runs seeds in one child; resolves with its lines, rejects naming the seed of a crash or a hang. */
function batch(imageSeed, seeds) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [worker, dir, String(imageSeed), ...seeds.map(String)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const lines = [];
    let err = '', current = null;
    let guard = setTimeout(() => child.kill('SIGKILL'), 60_000 + PER_RUN_MS);
    child.stderr.on('data', (d) => { err += d; });
    onLines(child.stdout, (line) => {
      lines.push(line);
      if (line.startsWith('start ')) {
        current = line.slice(6);
        clearTimeout(guard);
        guard = setTimeout(() => child.kill('SIGKILL'), PER_RUN_MS);
      }
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (code === 0) return resolve(lines);
      reject(new Error(`SEED=${current} (image seed ${imageSeed}): the worker ${signal === 'SIGKILL' ? `hung (no answer in ${PER_RUN_MS} ms)` : `died (${signal ?? code})`}: ${err.slice(-2000)}`));
    });
  });
}

const plan = one !== undefined
  ? [{ imageSeed: Number(process.env['PRAM_BITFLIP_IMAGE_SEED'] ?? 1), seeds: [Number(one)] }]
  : Array.from({ length: Math.ceil(RUNS / BATCH) }, (_, b) => ({
    imageSeed: b + 1, seeds: Array.from({ length: Math.min(BATCH, RUNS - b * BATCH) }, (_, i) => 100_000 + b * BATCH + i),
  }));

for (const { imageSeed, seeds } of plan) {
  test(`bit flips: image seed ${imageSeed}, seeds ${seeds[0]}…${seeds.at(-1)} (${seeds.length} runs)`, { timeout: 600_000 }, async () => {
    const lines = await batch(imageSeed, seeds);
    const failures = [];
    for (const l of lines) {
      if (l.startsWith('fail ')) { const [, seed, ...m] = l.split(' '); failures.push(`SEED=${seed} PRAM_BITFLIP_IMAGE_SEED=${imageSeed}: ${m.join(' ')}`); }
      if (!l.startsWith('ok ')) continue;
      const o = JSON.parse(l.slice(l.indexOf('{')));
      totals.runs++;
      totals.byClass[o.cls] = (totals.byClass[o.cls] ?? 0) + 1;
      totals.refused += o.refused ? 1 : 0;
      totals.losses += o.losses;
      totals.covered += o.covered ?? 0;
      totals.rolledTo0 += o.rolledTo === 0 ? 1 : 0;
    }
    assert.equal(lines.filter((l) => l.startsWith('start ')).length, seeds.length, 'every seed ran');
    assert.deepEqual(failures, []);
  });
}

test('bit flips: every page class was hit often', (t) => {
  t.diagnostic(JSON.stringify(totals));
  if (one !== undefined) return;
  assert.ok(totals.runs >= 1000, `${totals.runs} runs`);
  for (const c of ['header', 'link', 'meta', 'data']) assert.ok(totals.byClass[c] >= totals.runs / 8, `class ${c}: ${totals.byClass[c]} runs`);
  // Flips only inside LOCATE/INDEX (v3 minor 2): about 1/5 (v3) x 1/4 (meta) x 1/3 of the runs.
  assert.ok(totals.byClass.index >= totals.runs / 100, `class index: ${totals.byClass.index ?? 0} runs`);
  // Flips only inside ATIMES records (v3 minor 4): 1/40 of the runs x 1/2 (meta or link) x 2/3.
  assert.ok(totals.byClass.atimes >= totals.runs / 250, `class atimes: ${totals.byClass.atimes ?? 0} runs`);
  // Flips only inside the pages of ATIMES_PAGES records (v3 minor 6): 1/40 of the runs x 1/2 (meta or link) x 2/3 x 1/2.
  assert.ok(totals.byClass.atimespages >= totals.runs / 500, `class atimespages: ${totals.byClass.atimespages ?? 0} runs`);
});

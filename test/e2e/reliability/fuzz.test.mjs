// The loader's fuzz target in CI, for a bounded time (issue 7): random and
// mutated images (fuzz-worker.mjs) for PRAM_FUZZ_SECONDS (default 20) from
// PRAM_FUZZ_BASE (default 1); a case that throws anything but a MountError,
// hangs (no next case within 20 s), crashes the process or grows memory past
// 1.5 GiB fails, naming its seed. PRAM_FUZZ_SEED=n reruns one case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { onLines } from './lines.mjs';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuzz-worker.mjs');
const dir = fs.mkdtempSync('/dev/shm/pram-rel-fuzz-');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const SECONDS = Number(process.env['PRAM_FUZZ_SECONDS'] ?? 20);
const one = process.env['PRAM_FUZZ_SEED'];
const CASE_MS = 20_000;

test(`fuzz the loader: ${one !== undefined ? `seed ${one}` : `${SECONDS} s`}`, { timeout: SECONDS * 1000 + 120_000 }, async (t) => {
  const args = one !== undefined ? [worker, dir, 'one', one] : [worker, dir, String(SECONDS), process.env['PRAM_FUZZ_BASE'] ?? '1'];
  const child = spawn(process.execPath, ['--expose-gc', '--max-old-space-size=1024', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const fails = [];
  let err = '', current = null, done = null;
  let guard = setTimeout(() => child.kill('SIGKILL'), 60_000 + CASE_MS);
  child.stderr.on('data', (d) => { err += d; });
  onLines(child.stdout, (line) => {
    if (line.startsWith('c ')) {
      current = line.slice(2);
      clearTimeout(guard);
      guard = setTimeout(() => child.kill('SIGKILL'), CASE_MS);
    } else if (line.startsWith('fail ')) fails.push(`SEED=${line.slice(5, 5 + line.slice(5).indexOf(' '))} (PRAM_FUZZ_SEED reruns it): ${line.slice(5 + line.slice(5).indexOf(' ') + 1, 2000)}`);
    else if (line.startsWith('known ')) t.diagnostic(`skipped (known engine bug, see known-bugs.test.mjs): SEED=${line.slice(6)}`);
    else if (line.startsWith('done ')) done = JSON.parse(line.slice(line.indexOf('{')));
  });
  const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])));
  clearTimeout(guard);
  assert.ok(code === 0 && done, `SEED=${current}: the fuzz worker ${signal === 'SIGKILL' ? `hung (no next case in ${CASE_MS} ms)` : `died (${signal ?? code})`}: ${err.slice(-2000)}`);
  t.diagnostic(JSON.stringify(done));
  assert.deepEqual(fails, []);
  if (one === undefined) assert.ok(done.mounted > 0 && done.refused > 0 && done.losses > 0, 'the cases reached both refusal and salvage');
});

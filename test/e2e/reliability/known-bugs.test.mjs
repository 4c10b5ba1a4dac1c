// Engine bugs found by the fault-injection runs (bitflip.test.mjs), one seed
// each, kept as regression tests now that they are fixed (the bitflip runs
// tolerate none of them any more; the fuzz run's readlink case is
// fuzz-worker.mjs's). Reproduce one by hand:
//   node test/e2e/reliability/bitflip-worker.mjs /dev/shm IMAGE_SEED SEED
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const worker = path.join(path.dirname(fileURLToPath(import.meta.url)), 'bitflip-worker.mjs');
const dir = fs.mkdtempSync('/dev/shm/pram-rel-known-');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

/** Runs one seed; returns the run's JSON (it failed the test if the run failed). */
function strict(imageSeed, seed) {
  const out = execFileSync(process.execPath, [worker, dir, String(imageSeed), String(seed)], {
    encoding: 'utf8', timeout: 60_000, env: { ...process.env, PRAM_BITFLIP_STRICT: '1' },
  });
  const line = out.split('\n').find((l) => l.startsWith('ok ') || l.startsWith('fail '));
  assert.ok(line?.startsWith('ok '), `SEED=${seed} PRAM_BITFLIP_IMAGE_SEED=${imageSeed}: ${line}`);
  return JSON.parse(line.slice(line.indexOf('{')));
}

test('fixed: data entries lost with a damaged link page read back as zeros, not EIO (SEED=100032)', () => strict(1, 100032));
test('fixed: entries after a damaged link page join the file before it (wrong content, SEED=100927)', () => strict(4, 100927));
test('fixed: a damaged newest header slot falls back to the older checkpoint and reports it (SEED=100200)', () => {
  // The worker requires the slot loss and compares against the older checkpoint's tree.
  const o = strict(1, 100200);
  assert.equal(o.cls, 'header');
  assert.equal(o.refused, false);
  assert.ok(o.losses >= 1, 'the damaged slot is a loss');
});
test('fixed: a damaged only header slot refuses the mount (EIO), never an empty file system (SEED=100002)', () => {
  const o = strict(1, 100002);
  assert.equal(o.refused, true);
  assert.equal(o.code, 'EIO');
  assert.match(o.message, /arena header slot A is damaged \(crc saved 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\).*pram format --force/);
});
test('fixed: a damaged head link page loses only its entries: the chain resumes at the slot\'s second link pfn (SEED=100261)', () => {
  const o = strict(2, 100261);
  assert.equal(o.cls, 'link');
  assert.ok(o.losses >= 1);
});

test('fixed: listing a directory whose hard-linked node\'s home group lost its record drops the dangling name, no TypeError (lazy, SEED=102659)', () => {
  const o = strict(11, 102659);
  assert.equal(o.variant, 'v3-sliced');
  assert.ok(o.losses >= 1 && o.lostPaths >= 1, 'the lost node is named as a loss');
});

test('fixed: flips in the records that published a compaction in slices (a directory moved while it ran) brought the old name back silently, then (one copy of the step) lost everything with a commit after them; the step is written twice: its damaged PUBLISHED is read from the other copy, nothing lost (SEED=104679)', () => {
  const o = strict(7, 104679);
  assert.equal(o.variant, 'v3-sliced-tail');
  assert.equal(o.rolledTo, undefined, 'nothing rolled back');
  assert.equal(o.generation, 34, 'the newest commit, after the publish');
  assert.equal(o.covered, 1, 'the damage is said covered by the other copy');
  assert.equal(o.lostPaths, 0);
});
test('fixed (v3 minor 5): a log page before the publish step whose header alone is damaged is walked past (the log\'s index names it): the publish loads, what the damaged records held an exact loss; it cut the log and loaded the commit before from the older slot (SEED=101759)', () => {
  const o = strict(7, 101759);
  assert.equal(o.variant, 'v3-sliced-publish');
  assert.equal(o.generation, 34);
  assert.equal(o.rolledTo, undefined, 'nothing rolled back: the worker compared the tree with the publish\'s');
  assert.ok(o.lostPaths > 0, 'the damaged compaction records\' nodes (pages hit) are the loss');
});

test('bug: a symlink with a hostile saved size makes readlink allocate that size (4 GiB, fuzz SEED=1880)', () => {
  const fuzz = path.join(path.dirname(worker), 'fuzz-worker.mjs');
  const out = execFileSync(process.execPath, ['--expose-gc', fuzz, dir, 'one', '1880'], {
    encoding: 'utf8', timeout: 120_000, env: process.env,
  });
  assert.doesNotMatch(out, /^fail /m, `PRAM_FUZZ_SEED=1880: ${out.split('\n').find((l) => l.startsWith('fail ')) ?? ''}`);
});

// Owner crashes (issue 7): a child process mounts an arena with the library
// API and performs a seeded mix of write, truncate, rename, unlink, fsync and
// sync; the parent SIGKILLs it at a seeded moment (after the k-th op, on a
// sync's start, after a delay, or — from inside the child — just before or
// after the n-th msync of a checkpoint's commit); then the parent mounts the
// arena and requires it to be exactly the state of the last completed sync
// (or, for a sync cut short, of that sync) with no loss reported: every
// synced byte back, nothing that was never written. Each run crashes twice:
// the second owner starts from the first crash's image.
//   PRAM_SIGKILL_SEED=n     run only seed n (PRAM_SIGKILL_REPEAT times, default 10)
//   PRAM_SIGKILL_RUNS=n     runs (default 100, i.e. 200 kills)
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';
import { Prng } from '../../../dist/machine/prng.js';
import { DIRS, diffTrees, genOps, readTree, syncStates } from './model.mjs';
import { onLines } from './lines.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, 'writer.mjs');
const base = `/dev/shm/pram-rel-sigkill-${process.pid}`;
const template = `${base}-template.arena`, arena = `${base}.arena`;
process.on('exit', () => { for (const p of [template, arena]) fs.rmSync(p, { force: true }); });

const one = process.env['PRAM_SIGKILL_SEED'];
const RUNS = Number(process.env['PRAM_SIGKILL_RUNS'] ?? 100);
const seeds = one !== undefined
  ? Array(Number(process.env['PRAM_SIGKILL_REPEAT'] ?? 10)).fill(Number(one))
  : Array.from({ length: RUNS }, (_, i) => 7000 + i);
const stats = { kills: 0, modes: {}, inSync: 0, newer: 0, older: 0, ops: 0, syncs: 0 };

/** Where to kill: drawn from the run's generator. */
function plan(r, ops) {
  const syncs = ops.flatMap((o, i) => (o.op === 'sync' || o.op === 'fsync' ? [i] : []));
  const k = r.below(100);
  if (k < 30) return { mode: 'op', at: r.below(ops.length) };
  if (k < 55) return { mode: 'sync', at: syncs[r.below(syncs.length)] };
  if (k < 75) return { mode: 'msync', env: `${r.range(1, 2 * syncs.length)}:${r.chance(0.5) ? 'after' : 'before'}` };
  return { mode: 'delay', ms: r.below(25) };
}

/** Run the writer on `arena` until it is killed; returns what it said. */
function crash(ops, kill) {
  return new Promise((resolve, reject) => {
    const env = { ...process.env, KILL_AT_MSYNC: kill.env ?? '' };
    const child = spawn(process.execPath, [writer, arena], { stdio: ['pipe', 'pipe', 'pipe'], env });
    const said = [];
    let err = '';
    const die = () => child.kill('SIGKILL');
    const guard = setTimeout(() => { die(); reject(new Error('the writer did not finish in 60 s')); }, 60_000);
    child.stderr.on('data', (d) => { err += d; });
    onLines(child.stdout, (line) => {
      said.push(line);
      const [tag, n] = line.split(' ');
      if (tag === 'D') die();
      else if (tag === 'R' && kill.mode === 'delay') setTimeout(die, kill.ms);
      else if (tag === 'o' && kill.mode === 'op' && Number(n) === kill.at) die();
      else if (tag === 's' && kill.mode === 'sync' && Number(n) === kill.at) die();
    });
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      const e = said.find((l) => l.startsWith('E '));
      if (e || signal !== 'SIGKILL') reject(new Error(`the writer ended with ${signal ?? code}: ${e ?? ''} ${err}`));
      else resolve(said);
    });
    child.stdin.end(JSON.stringify(ops) + '\n');
  });
}

/** One owner life and its crash; returns the model the arena must come back as. */
async function phase(seed, label, r, start) {
  const ops = genOps(r.next(), start);
  const kill = plan(r, ops);
  const said = await crash(ops, kill);
  const done = said.filter((l) => l.startsWith('S ')).map((l) => Number(l.slice(2)));
  const begun = said.filter((l) => l.startsWith('s ')).map((l) => Number(l.slice(2)));
  const lastDone = done.length ? Math.max(...done) : -1;
  const inflight = begun.filter((i) => i > lastDone);
  const states = syncStates(ops, start);
  const older = lastDone >= 0 ? states.get(lastDone) : start;
  const newer = inflight.length ? states.get(Math.max(...inflight)) : null;
  stats.kills++; stats.modes[kill.mode] = (stats.modes[kill.mode] ?? 0) + 1;
  stats.ops += said.filter((l) => l.startsWith('o ')).length; stats.syncs += done.length;
  if (newer) stats.inSync++;

  const pfs = await mount({ arena, cmdline: '', verify: 'full', warn: () => {} });
  let got, losses;
  try {
    losses = pfs.losses.map((l) => `${l.path}: ${l.what}`);
    got = await readTree(pfs);
    for (const d of DIRS) assert.ok((await pfs.stat(d)).isDirectory(), `SEED=${seed} ${label}: ${d} is gone`);
  } finally {
    await pfs.unmount({ save: false });
  }
  const why = `SEED=${seed} ${label} (kill ${JSON.stringify(kill)}, last completed sync at op ${lastDone}, sync cut short: ${newer ? Math.max(...inflight) : 'none'}, ${ops.length} ops)`;
  assert.deepEqual(losses, [], `${why}: losses reported after a crash`);
  const dOld = diffTrees(got, older);
  if (dOld === '') { stats.older++; return older; }
  const dNew = newer ? diffTrees(got, newer) : 'no sync was in flight';
  if (dNew === '') { stats.newer++; return newer; }
  assert.fail(`${why}: the arena is neither the last synced state (${dOld}) nor the one being synced (${dNew})`);
}

test('setup: a template arena (16 MiB, two directories, synced)', async () => {
  const pfs = await mount({ arena: template, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '' });
  await pfs.mkdir('/d/e', { recursive: true });
  await pfs.unmount();
  assert.equal(fs.statSync(template).mode & 0o777, 0o600);
});

const BATCH = 25;
for (let b = 0; b < seeds.length; b += BATCH) {
  const batch = seeds.slice(b, b + BATCH);
  test(`SIGKILL of the owner: seeds ${batch[0]}…${batch.at(-1)} (${batch.length} runs, 2 kills each)`, { timeout: 600_000 }, async () => {
    for (const seed of batch) {
      fs.copyFileSync(template, arena);
      const r = new Prng(seed);
      const first = await phase(seed, 'first crash', r, new Map());
      await phase(seed, 'second crash', r, first);
    }
  });
}

test('the kills covered every mode and syncs cut short', (t) => {
  t.diagnostic(JSON.stringify(stats));
  assert.ok(stats.kills >= (one !== undefined ? 1 : 200), `${stats.kills} kills`);
  if (one === undefined) {
    for (const m of ['op', 'sync', 'msync', 'delay']) assert.ok(stats.modes[m] > 10, `mode ${m}: ${stats.modes[m]}`);
    assert.ok(stats.inSync > 10, `${stats.inSync} kills during a sync`);
    assert.ok(stats.newer > 5 && stats.older > 5, `came back newer ${stats.newer}, older ${stats.older}`);
  }
});

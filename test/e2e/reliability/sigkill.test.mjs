// Owner crashes (issues 7, 13): a child process mounts an arena with the
// library API and performs a seeded mix of write, truncate, rename (over
// existing files, symlinks, other names of the same inode, empty directories),
// unlink, mkdir, rmdir, symlink, link, chmod, utimes, setxattr, removexattr,
// reads (relatime atimes: ATIMES records; a directory of many files read at
// once: ATIMES_PAGES, and a second owner's compaction freeing its pages),
// fsync and sync; the parent SIGKILLs it at a seeded moment (after the k-th
// op, on a sync's start, after a delay, or — from inside the child — just
// before or after the n-th msync of a checkpoint's commit); then the parent
// mounts the arena and requires it to be exactly the state of the last
// completed sync (or, for a sync cut short, of that sync) with no loss
// reported. "Exactly", by an independent model (model.mjs, model-tree.mjs):
// every path's type, mode, size and bytes, symlink target, nlink, which paths
// are one inode, xattrs, and mtime/atime/ctime (exact where utimes set them,
// else inside the clock interval of the op that set them). Each run crashes
// twice: the second owner starts from the first crash's image.
//   PRAM_SIGKILL_SEED=n     run only seed n (PRAM_SIGKILL_REPEAT times, default 10)
//   PRAM_SIGKILL_RUNS=n     runs (default 250, i.e. 500 kills)
//   PRAM_SIGKILL_FIRST=n    the first run's seed (default 7000; run k has seed n + k)
//   PRAM_SIGKILL_PACE_MS=n  the writer pauses n ms before each op (each op's clock interval apart from the next's)
//   PRAM_SIGKILL_MANY=x     the share of first owners that make the many files (default 0.2)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';
import { Prng } from '../../../dist/machine/prng.js';
import { DIRS, MANY, genOps, syncStates } from './model.mjs';
import { diffTrees, modelOf, readTree } from './model-tree.mjs';
import { onLines } from './lines.mjs';
import { tailTypes } from './image.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const writer = path.join(here, 'writer.mjs');
const base = `/dev/shm/killmeta-sigkill-${process.pid}`;
const template = `${base}-template.arena`;
/**
 * Two lanes of runs side by side, each with its own arena and spare writers: a
 * run waits for its child often enough (start, kill, exit) that a second lane
 * uses the time. Each run is still decided by its seed alone.
 */
const LANES = Number(process.env['PRAM_SIGKILL_LANES'] ?? 2);
const lanes = Array.from({ length: LANES }, (_, k) => ({ arena: `${base}-${k}.arena`, pool: [] }));
process.on('exit', () => { for (const p of [template, ...lanes.map((l) => l.arena)]) fs.rmSync(p, { force: true }); });

const one = process.env['PRAM_SIGKILL_SEED'];
const RUNS = Number(process.env['PRAM_SIGKILL_RUNS'] ?? 250);
const seeds = one !== undefined
  ? Array(Number(process.env['PRAM_SIGKILL_REPEAT'] ?? 10)).fill(Number(one))
  : Array.from({ length: RUNS }, (_, i) => Number(process.env['PRAM_SIGKILL_FIRST'] ?? 7000) + i);
const stats = { kills: 0, modes: {}, inSync: 0, newer: 0, older: 0, ops: 0, syncs: 0, done: {}, pages: { images: 0, killedIn: 0, cameBack: 0, second: 0, freed: 0, killedInCompaction: 0 } };
const ATIMES_PAGES = 12;   // record type (docs/FORMAT.md §v3, minor 6)
let templateModel = null;
/** Where the time goes (ms summed over runs; the lanes overlap): input to mounted (toR), to exit, the crash in all, the model, the check. */
const time = { toR: 0, toExit: 0, crash: 0, model: 0, check: 0 };

/** Where to kill: drawn from the run's generator. */
function plan(r, ops) {
  const syncs = ops.flatMap((o, i) => (o.op === 'sync' || o.op === 'fsync' ? [i] : []));
  // A run with the many files: most kills in the commit of their atimes (msyncs 3-4: the second sync's, an
  // ATIMES_PAGES record) and the next (5-6: after the idle op); a second owner that aged them, in the commit
  // that publishes the compaction the background wrote while idle (5-6: it frees the pages) or the next (7-8).
  const at = ops.some((o) => o.op === 'ageall') ? 5 : ops.some((o) => o.op === 'many') ? 3 : 0;
  if (at && r.chance(0.7)) return { mode: 'msync', env: `${r.range(at, at + 3)}:${r.chance(0.5) ? 'after' : 'before'}` };
  const k = r.below(100);
  if (k < 30) return { mode: 'op', at: r.below(ops.length) };
  if (k < 55) return { mode: 'sync', at: syncs[r.below(syncs.length)] };
  if (k < 75) return { mode: 'msync', env: `${r.range(1, 2 * syncs.length)}:${r.chance(0.5) ? 'after' : 'before'}` };
  return { mode: 'delay', ms: r.below(25) };
}

/**
 * Writers started ahead: node and pram's modules load (most of a run's cost on
 * a busy machine) while the previous run goes; a writer waits for its op list
 * on stdin before it mounts.
 */
const SPARES = 1;
/**
 * A writer lives for one short run: optimising JIT and GC helper threads cost it more CPU than
 * they save (measured: ~400 -> ~270 ms of CPU a writer), and CPU is what bounds the kills a minute.
 */
const WRITER_FLAGS = ['--no-opt', '--single-threaded-gc'];
function spareWriter(arena) {
  const child = spawn(process.execPath, [...WRITER_FLAGS, writer, arena], { stdio: ['pipe', 'pipe', 'pipe'] });
  // 'close', not 'exit': exit can come before the last lines on stdout are read (seen on a loaded machine: a
  // run judged as if no op had begun), and what the writer said decides which states the arena may hold.
  const w = { child, err: '', exited: new Promise((r) => child.on('close', (code, signal) => r({ code, signal }))) };
  child.stderr.on('data', (d) => { w.err += d; });
  return w;
}
after(() => { for (const l of lanes) for (const w of l.pool.splice(0)) w.child.kill('SIGKILL'); });

/** Run a writer on the lane's arena until it is killed; returns what it said. */
function crash(lane, ops, kill) {
  while (lane.pool.length < SPARES + 1) lane.pool.push(spareWriter(lane.arena));
  const w = lane.pool.shift();
  const { child } = w;
  return new Promise((resolve, reject) => {
    const said = [];
    const die = () => child.kill('SIGKILL');
    const guard = setTimeout(() => { die(); reject(new Error('the writer did not finish in 60 s')); }, 60_000);
    const tS = Date.now();
    onLines(child.stdout, (line) => {
      if (line === 'R') time.toR += Date.now() - tS;
      said.push(line);
      const [tag, n] = line.split(' ');
      if (tag === 'D') die();
      else if (tag === 'R' && kill.mode === 'delay') setTimeout(die, kill.ms);
      else if (tag === 'o' && kill.mode === 'op' && Number(n) === kill.at) die();
      else if (tag === 's' && kill.mode === 'sync' && Number(n) === kill.at) die();
    });
    w.exited.then(({ code, signal }) => {
      time.toExit += Date.now() - tS;
      clearTimeout(guard);
      const e = said.find((l) => l.startsWith('E '));
      if (e || signal !== 'SIGKILL') reject(new Error(`the writer ended with ${signal ?? code}: ${e ?? ''} ${w.err}`));
      else resolve(said);
    });
    child.stdin.end(JSON.stringify({ ops, killAtMsync: kill.env ?? '' }) + '\n');
  });
}

/** Op i's clock interval: Date.now() before it and before whatever the writer said next with a time. */
function timesOf(said) {
  const stamps = said.filter((l) => l.startsWith('o ') || l.startsWith('D ')).map((l) => l.split(' '));
  const times = [];
  stamps.forEach(([tag, n, t], k) => { if (tag === 'o' && k + 1 < stamps.length) times[Number(n)] = { lo: Number(t), hi: Number(stamps[k + 1].at(-1)), i: Number(n) }; });
  return times;
}

/**
 * The ATIMES_PAGES path's coverage: `images` crashed images whose tail held such a record; `killedIn` kills in
 * the sync after a readall of the many files (the commit that writes one), `cameBack` of them came back as that
 * sync; `second` second owners that started from an image with one, `freed` of them came back with none left (a
 * compaction freed its pages), `killedInCompaction` of them were killed in the sync after an idle op (the one that
 * publishes the compaction the background wrote meanwhile, when the tail is due).
 */
function countPages(ops, said, newer, came, held) {
  const c = stats.pages;
  if (held.now) c.images++;
  const inflight = newer ? Number(said.findLast((l) => l.startsWith('s ')).slice(2)) : -1;
  const since = ops.slice(ops.slice(0, Math.max(inflight, 0)).findLastIndex((o) => o.op === 'sync' || o.op === 'fsync') + 1, inflight);
  if (newer && since.some((o) => o.op === 'readall' && o.paths.length >= 256)) { c.killedIn++; if (came === 'newer') c.cameBack++; }
  if (!held.before) return;
  c.second++;
  if (!held.now) c.freed++;
  if (newer && since.some((o) => o.op === 'idle')) c.killedInCompaction++;
}

/** One owner life and its crash; returns the model the arena came back as (the next owner's start). */
async function phase(lane, seed, label, r, start, heldBefore = false) {
  const ops = genOps(r.next(), start);
  const kill = plan(r, ops);
  let t0 = Date.now();
  const said = await crash(lane, ops, kill);
  time.crash += Date.now() - t0; t0 = Date.now();
  const done = said.filter((l) => l.startsWith('S ')).map((l) => Number(l.slice(2)));
  const begun = said.filter((l) => l.startsWith('s ')).map((l) => Number(l.slice(2)));
  const lastDone = done.length ? Math.max(...done) : -1;
  const inflight = begun.filter((i) => i > lastDone);
  const states = syncStates(ops, start, timesOf(said));
  const older = lastDone >= 0 ? states.get(lastDone) : start;
  const newer = inflight.length ? states.get(Math.max(...inflight)) : null;
  stats.kills++; stats.modes[kill.mode] = (stats.modes[kill.mode] ?? 0) + 1;
  const performed = said.filter((l) => l.startsWith('o ')).map((l) => ops[Number(l.split(' ')[1])].op);
  for (const op of performed.slice(0, -1)) stats.done[op] = (stats.done[op] ?? 0) + 1;   // the last may be cut short
  stats.ops += performed.length; stats.syncs += done.length;
  if (newer) stats.inSync++;

  time.model += Date.now() - t0; t0 = Date.now();
  const pfs = await mount({ arena: lane.arena, cmdline: '', verify: 'full', warn: () => {} });
  let got, losses;
  try {
    losses = pfs.losses.map((l) => `${l.path}: ${l.what}`);
    got = await readTree(pfs);
    for (const d of DIRS) assert.ok((await pfs.stat(d)).isDirectory(), `SEED=${seed} ${label}: ${d} is gone`);
  } finally {
    await pfs.unmount({ save: false });
  }
  time.check += Date.now() - t0;
  const why = `SEED=${seed} ${label} (kill ${JSON.stringify(kill)}, last completed sync at op ${lastDone}, sync cut short: ${newer ? Math.max(...inflight) : 'none'}, ${ops.length} ops; ` +
    `reproduce: PRAM_SIGKILL_SEED=${seed} PRAM_SIGKILL_REPEAT=1 node --test test/e2e/reliability/sigkill.test.mjs)`;
  assert.deepEqual(losses, [], `${why}: losses reported after a crash`);
  const dOld = diffTrees(got, older);
  let came = 'older';
  if (dOld === '') stats.older++;
  else {
    const dNew = newer ? diffTrees(got, newer) : 'no sync was in flight';
    if (dNew !== '') assert.fail(`${why}: the arena is neither the last synced state (${dOld}) nor the one being synced (${dNew})`);
    stats.newer++; came = 'newer';
  }
  // Only a tree with the many files can have one (and reading the image costs the parent ~5 ms).
  const held = { before: heldBefore, now: got.has(MANY) && tailTypes(fs.readFileSync(lane.arena)).includes(ATIMES_PAGES) };
  countPages(ops, said, newer, came, held);
  return { model: modelOf(got), held: held.now };
}

test('setup: a template arena (16 MiB, two directories, synced)', async () => {
  const pfs = await mount({ arena: template, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '' });
  await pfs.mkdir('/d/e', { recursive: true });
  await pfs.unmount();
  assert.equal(fs.statSync(template).mode & 0o777, 0o600);
  const back = await mount({ arena: template, cmdline: '', warn: () => {} });
  try { templateModel = modelOf(await readTree(back)); } finally { await back.unmount({ save: false }); }
  assert.deepEqual([...templateModel.paths.keys()].sort(), ['/', ...DIRS]);
});

const BATCH = 25;
for (let b = 0; b < seeds.length; b += BATCH) {
  const batch = seeds.slice(b, b + BATCH);
  test(`SIGKILL of the owner: seeds ${batch[0]}…${batch.at(-1)} (${batch.length} runs, 2 kills each)`, { timeout: 600_000 }, async () => {
    // A failure stops both lanes (each after its current run): no run may outlive its test.
    const failures = [];
    await Promise.all(lanes.map(async (lane, k) => {
      for (const seed of batch.filter((_, i) => i % LANES === k)) {
        if (failures.length) return;
        try {
          fs.copyFileSync(template, lane.arena);
          const r = new Prng(seed);
          const first = await phase(lane, seed, 'first crash', r, templateModel);
          await phase(lane, seed, 'second crash', r, first.model, first.held);
        } catch (e) { failures.push(e); }
      }
    }));
    if (failures.length) throw failures[0];
  });
}

const OPS = ['write', 'truncate', 'rename', 'unlink', 'mkdir', 'rmdir', 'symlink', 'link', 'chmod', 'utimes', 'setxattr', 'removexattr', 'read', 'readall', 'fsync', 'sync'];
test('the kills covered every mode, every op and syncs cut short', (t) => {
  const cpu = process.cpuUsage();
  t.diagnostic(`ms in: ${JSON.stringify(time)}; parent cpu ${((cpu.user + cpu.system) / 1000).toFixed(0)} ms; ${JSON.stringify(stats)}`);
  assert.ok(stats.kills >= 2 * seeds.length, `${stats.kills} kills`);
  if (one === undefined) {
    // Floors for the default 250 runs, scaled down for shorter runs.
    const min = (n) => Math.max(1, Math.floor((n * RUNS) / 250));
    for (const m of ['op', 'sync', 'msync', 'delay']) assert.ok(stats.modes[m] >= min(40), `mode ${m}: ${stats.modes[m]}`);
    assert.ok(stats.inSync >= min(40), `${stats.inSync} kills during a sync`);
    assert.ok(stats.newer >= min(10) && stats.older >= min(10), `came back newer ${stats.newer}, older ${stats.older}`);
    for (const op of OPS) assert.ok((stats.done[op] ?? 0) >= min(40), `${op} performed ${stats.done[op] ?? 0} times`);
  }
  // The atimes of a read-all of the many files: a campaign that stopped writing ATIMES_PAGES records must fail.
  const c = stats.pages;
  if (one === undefined && RUNS >= 20) {
    assert.ok(c.images >= 1, `no crashed image held an ATIMES_PAGES record: ${JSON.stringify(c)}`);
    assert.ok(c.killedIn >= 1, `no kill in a sync writing ATIMES_PAGES: ${JSON.stringify(c)}`);
  }
  if (one === undefined && RUNS >= 100) assert.ok(c.freed >= 1 && c.killedInCompaction >= 1, `no compaction freed ATIMES_PAGES pages, or none killed: ${JSON.stringify(c)}`);
});

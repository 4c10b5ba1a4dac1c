// Crashes of the FUSE server (issue 18), a test that cannot pass vacuously.
// A Python writer (fuse-writer.py) works through a `pram mount` with a seeded
// mix of creates, writes, truncates, renames, unlinks, mkdir/rmdir, symlinks,
// hard links, chmod, utime, xattrs, reads (atimes: not checked, but the checkpoints after them write ATIMES
// records) and writes on files kept open, with random fsync, fdatasync,
// directory fsync, sync(2) and syncfs(2). The server is SIGKILLed at a seeded
// moment (after some op, just after a durable call begins, or after a delay);
// the dead mount is detached, the server started again on the same arena, and
// the tree must be exactly what the model (fuse-model.mjs) says the last
// durable call that returned before the kill saved — or what a durable call
// cut short by the kill would have saved (or, rarely, what a sync(2) by some
// other process on the machine checkpointed between two later ops: counted,
// bounded): every path's type, mode, bytes,
// symlink target, xattrs, nlink, which paths are one inode, and an mtime set by
// utime (fuse-model.mjs says what it checks of times and why). Also checked: every op before the
// kill succeeded, and the ones after failed only as a dead mount does; the
// mount reports no loss; and each kind of outcome happened at least a few
// times (a run killed before its first durable call, one that lost writes
// after a durable call, one killed inside a durable call...). Runs chain:
// each starts from what the previous crash left.
//   PRAM_FUSE_KILL_RUNS=n (default 500)   PRAM_FUSE_KILL_SEED=n (first seed; printed)
//   PRAM_FUSE_KILL_OPS=n (ops per run, default 24)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prng } from '../../../dist/machine/prng.js';
import { forceUnmount, isMounted, pram, PRAM } from '../fuse/helpers.mjs';
import { DURABLE, HELD, HELD_PAGES, MUTATING, PS, apply, cloneTree, diffTree, dirtyPagesCovered, genOps, treeOf } from './fuse-model.mjs';
import { onLines } from './lines.mjs';

const writerPy = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuse-writer.py');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'killmeta-fuse-kill-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/killmeta-fuse-kill-${process.pid}.arena`;
const env = { ...process.env, PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
const RUNS = Number(process.env['PRAM_FUSE_KILL_RUNS'] ?? 500);
const SEED = Number(process.env['PRAM_FUSE_KILL_SEED'] ?? 1800);
const OPS = Number(process.env['PRAM_FUSE_KILL_OPS'] ?? 24);
/** Each outcome must have happened at least this often in a full run (scaled down for short runs). */
const MIN = (n) => Math.max(1, Math.floor((n * RUNS) / 220));
/**
 * How calls fail once the server is dead: ENOTCONN/ECONNABORTED from the
 * aborted connection, EIO from close(2) or fsync(2) when the kernel's
 * writeback of cached data to the dead server failed, ECANCELED from a request
 * that reached a dead server's io_uring entry (fs/fuse/dev_uring.c).
 */
/** Servers kept starting ahead: two, so one is warm even when runs are shorter than node's start. */
const SPARES = 2;
const DEAD = new Set(['ENOTCONN', 'ECONNABORTED', 'EIO', 'ECANCELED']);

let server = null, writer = null;
const spares = new Set();
/** Every server started: their loop devices (placeholder pram-fuseblk-PID-N) must all be gone at the end. */
const serverPids = new Set();
after(() => {
  try { if (server) process.kill(server.pid, 'SIGKILL'); } catch { /* gone */ }
  for (const c of spares) c.kill('SIGKILL');
  writer?.proc.kill('SIGKILL');
  forceUnmount(mnt);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(arena, { force: true });
});

const spareJs = path.join(path.dirname(fileURLToPath(import.meta.url)), 'spare-server.mjs');

/**
 * Spawn a spare `pram mount --foreground` (spare-server.mjs) that waits; its
 * start() lets it mount and resolves at its ready line: { pid, exited, notes }.
 */
function spareServer(extra = []) {
  const log = fs.openSync(path.join(tmp, 'server.log'), 'a');
  const args = ['mount', mnt, '--foreground', '--ready-fd', '3', '--arena', arena, '--checkpoint-interval', '0', ...extra];
  const child = spawn(process.execPath, [spareJs, ...args], { env, stdio: ['pipe', log, log, 'pipe'] });
  fs.closeSync(log);
  const exited = new Promise((r) => child.on('exit', r));
  const ready = new Promise((resolve, reject) => {
    const notes = [];
    let transport = '';
    onLines(child.stdio[3], (line) => {
      if (line === 'ready') resolve({ pid: child.pid, exited, notes, transport });
      else if (line.startsWith('note: ')) notes.push(line.slice(6));
      else if (line.startsWith('transport: ')) transport = line.slice(11);   // /dev/fuse or io_uring (issue 14)
      else reject(new Error(`pram mount: ${line}`));
    });
    exited.then((code) => {
      let tail = '';
      try { tail = fs.readFileSync(path.join(tmp, 'server.log'), 'utf8').trim().split('\n').slice(-3).join(' | '); } catch { /* the test is over */ }
      reject(new Error(`pram mount exited (${code}) before it was ready: ${tail}`));
    });
  });
  ready.catch(() => {});
  spares.add(child);
  serverPids.add(child.pid);
  exited.then(() => spares.delete(child));
  return { child, start: () => { child.stdin.end('go\n'); return ready; } };
}

/** A writer silent this long is stuck: no op of a run takes more than a few seconds, even on a busy machine. */
const WRITER_STUCK_MS = 120_000;

/** Why the writer may be stuck, from its kernel stack: sync(2) waits for every FUSE mount of the machine, also a hung one that is not ours. */
function stuckWriter(pid) {
  let where = '';
  try { where = fs.readFileSync(`/proc/${pid}/stack`, 'utf8').split('\n').slice(0, 6).join(' < '); } catch { /* gone */ }
  let waiting = '';
  try {
    waiting = fs.readdirSync('/sys/fs/fuse/connections')
      .map((c) => [c, fs.readFileSync(`/sys/fs/fuse/connections/${c}/waiting`, 'utf8').trim()]).filter(([, n]) => n !== '0')
      .map(([c, n]) => `connection ${c}: ${n} waiting`).join(', ');
  } catch { /* no fusectl */ }
  return `the writer said nothing for ${WRITER_STUCK_MS / 1000} s; kernel stack: ${where || 'unknown'}; FUSE requests waiting: ${waiting || 'none'}` +
    ' (a sync(2) in fuse_sync_fs waits for every FUSE mount on the machine: a hung server elsewhere blocks this test)';
}

/** The persistent writer: send(line) and wait for lines with next(). */
function startWriter() {
  const proc = spawn('python3', [writerPy, mnt], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue = [], waiting = [];
  onLines(proc.stdout, (l) => { if (waiting.length) waiting.shift()(l); else queue.push(l); });
  proc.on('exit', (code) => { for (const w of waiting.splice(0)) w(`exit ${code}`); });
  return {
    proc,
    send: (line) => proc.stdin.write(line + '\n'),
    next: () => (queue.length ? Promise.resolve(queue.shift()) : new Promise((resolve, reject) => {
      const stuck = setTimeout(() => reject(new Error(stuckWriter(proc.pid))), WRITER_STUCK_MS);
      waiting.push((l) => { clearTimeout(stuck); resolve(l); });
    })),
    onLine: null,
  };
}

async function dump() {
  writer.send('dump');
  const got = JSON.parse(await writer.next());
  if (got.error) throw new Error(`reading the tree back: ${got.error} at ${got.path}`);
  return got;
}

/** Where to kill, drawn from the run's generator: after any op, just after a durable call (or a few ops later), inside one, or after a delay. */
function plan(r, ops) {
  const durable = ops.flatMap((o, i) => (DURABLE.includes(o.op) ? [i] : []));
  const k = r.below(100);
  if (k < 30 || !durable.length) return { mode: 'after-op', at: r.below(ops.length) };
  if (k < 55) return { mode: 'after-op', at: Math.min(ops.length - 1, durable[r.below(durable.length)] + r.below(3)) };
  if (k < 80) return { mode: 'in-durable', at: durable[r.below(durable.length)], us: r.below(1500) };
  return { mode: 'delay', ms: r.below(40) };
}

/**
 * A checkpoint nobody in this test asked for: sync(2) by any process on the
 * machine reaches this mount too (FUSE_SYNCFS), at any moment. Its state is
 * the tree between two ops after the last durable call, or inside a create
 * (the file made, its bytes not yet written): returns which, or null.
 */
function unaskedState(got, ops, start, from, to) {
  let t = start;
  for (let i = 0; i <= to; i++) {
    if (i > from && ops[i].op === 'create' && diffTree(got, apply(cloneTree(t), { ...ops[i], data: '' })) === '') return `inside op ${i} create`;
    t = apply(cloneTree(t), ops[i]);
    if (i > from && diffTree(got, t) === '') return `after op ${i} ${ops[i].op}`;
  }
  return null;
}

function busyWait(us) { const end = process.hrtime.bigint() + BigInt(us) * 1000n; while (process.hrtime.bigint() < end); }

test(`SIGKILL of the FUSE server: ${RUNS} kills from SEED=${SEED}, ${OPS} ops a run`, { timeout: 1_800_000 }, async (t) => {
  const started = Date.now();
  t.diagnostic(`SEED=${SEED} (PRAM_FUSE_KILL_SEED=${SEED} PRAM_FUSE_KILL_RUNS=${RUNS} PRAM_FUSE_KILL_OPS=${OPS} reproduce this run)`);
  fs.mkdirSync(mnt);
  server = await spareServer(['--size', '64M']).start();
  t.diagnostic(`requests by ${server.transport || 'an older pram mount (no transport line)'}`);
  assert.deepEqual(server.notes.filter((n) => !n.startsWith('created arena')), [], 'notes at the first mount');
  writer = startWriter();
  // The held files exist from the start, saved, so every run can keep them open.
  let model = new Map([['/', { type: 'd', mode: 0, xattrs: new Map(), mtime: null }]]);   // '/' as read below
  const setup = [
    ...HELD.map((h, i) => ({ op: 'create', path: h, mode: 0o644, data: Buffer.alloc(HELD_PAGES * PS, 0x41 + i).toString('base64') })),
    { op: 'mkdir', path: '/d0', mode: 0o755 }, { op: 'dirfsync', path: '/' },
  ];
  writer.send(JSON.stringify(setup));
  for (let l = await writer.next(); l !== 'end'; l = await writer.next()) assert.ok(!l.startsWith('e '), `setup: ${l}`);
  for (const op of setup) apply(model, op);
  // The first run starts from the tree as read (with '/'), its times not yet known: a live mount's are the kernel's view.
  const first = await dump();
  assert.equal(diffTree(first, treeOf(first, false)), '');
  assert.deepEqual(Object.keys(first).sort(), [...model.keys()].sort());
  model = treeOf(first, false);

  const seen = { kills: 0, unasked: 0, beforeDurable: 0, lostAfterDurable: 0, exactAtDurable: 0, inDurableOld: 0, inDurableNew: 0,
    honoured: Object.fromEntries(DURABLE.map((k) => [k, 0])), cacheFlushedBySync: 0, opsOk: {}, opsDead: 0 };
  const time = { ops: 0, umount: 0, mount: 0, dump: 0 };
  const pool = [];
  for (let run = 0; run < RUNS; run++) {
    const seed = SEED + run;
    const r = new Prng(seed);
    const start = cloneTree(model);
    const ops = genOps(r.next(), cloneTree(model), OPS);
    const kill = plan(r, ops);
    const why = `SEED=${SEED} run ${run} (op-list seed ${seed}, kill ${JSON.stringify(kill)}; runs chain, so reproduce with ` +
      `PRAM_FUSE_KILL_SEED=${SEED} PRAM_FUSE_KILL_RUNS=${run + 1} PRAM_FUSE_KILL_OPS=${OPS} node --test test/e2e/reliability/fuse-sigkill.test.mjs)`;

    // Model states: after each durable op, what it saves.
    const saves = new Map(), covered = new Map();
    const m = cloneTree(model);
    ops.forEach((op, i) => {
      if (DURABLE.includes(op.op)) covered.set(i, dirtyPagesCovered(m, op));
      apply(m, op);
      if (DURABLE.includes(op.op)) saves.set(i, cloneTree(m));
    });

    // Run until the kill; every line is judged as it comes.
    let killSent = false;
    const sure = new Set(), unsure = new Set(), begun = new Set();
    let mutatedAfter = -1;
    const die = () => {
      if (killSent) return;
      killSent = true;
      process.kill(server.pid, 'SIGKILL');
      seen.kills++;
    };
    while (pool.length < SPARES) pool.push(spareServer());   // they warm up while this run goes
    const spare = pool.shift();
    const timer = kill.mode === 'delay' ? setTimeout(die, kill.ms) : null;
    let t0 = Date.now();
    writer.send(JSON.stringify(ops));
    for (let line = await writer.next(); line !== 'end'; line = await writer.next()) {
      const [tag, n, code] = line.split(' ');
      const i = Number(n);
      if (tag === 'b') {
        begun.add(i);
        if (kill.mode === 'in-durable' && kill.at === i) { busyWait(kill.us); die(); }
      } else if (tag === 'k') {
        if (killSent) unsure.add(i); else sure.add(i);
        if (!killSent && MUTATING.includes(ops[i].op)) mutatedAfter = i;
        seen.opsOk[ops[i].op] = (seen.opsOk[ops[i].op] ?? 0) + 1;
        if (kill.mode === 'after-op' && kill.at === i) die();
      } else if (tag === 'e') {
        assert.ok(killSent, `${why}: op ${i} ${JSON.stringify(ops[i]).slice(0, 200)} failed with ${code} while the server was alive`);
        assert.ok(DEAD.has(code), `${why}: op ${i} (${ops[i].op}) failed with ${code} after the kill; a dead mount gives ${[...DEAD].join(' or ')}`);
        unsure.add(i);
        seen.opsDead++;
      } else assert.fail(`${why}: the writer said ${line}`);
    }
    clearTimeout(timer);
    time.ops += Date.now() - t0; t0 = Date.now();
    die();   // a run that finished before its kill point is killed after its last op
    await server.exited;
    const u = spawnSync('umount', ['-i', '-l', mnt], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(u.status, 0, `${why}: umount -l of the dead mount: ${u.stderr}`);

    // Candidates: the last durable call that returned before the kill, and every one the kill may have cut short.
    const durable = (i) => DURABLE.includes(ops[i].op);
    const lastSure = Math.max(-1, ...[...sure].filter(durable));
    const inflight = [...begun].filter((i) => durable(i) && !sure.has(i) && i > lastSure);
    time.umount += Date.now() - t0; t0 = Date.now();
    server = await spare.start();
    time.mount += Date.now() - t0; t0 = Date.now();
    assert.deepEqual(server.notes, [], `${why}: the mount after the crash reported losses`);
    const got = await dump();
    time.dump += Date.now() - t0;
    const older = lastSure >= 0 ? saves.get(lastSure) : start;
    const dOld = diffTree(got, older);
    const newer = inflight.find((i) => diffTree(got, saves.get(i)) === '');
    const unasked = dOld !== '' && newer === undefined ? unaskedState(got, ops, start, lastSure, Math.max(-1, ...begun)) : null;
    if (unasked) {
      seen.unasked++;
      process.stdout.write(`# ${why}: a checkpoint the writer did not ask for (a sync(2) elsewhere on the machine): the tree is the state ${unasked}\n`);
      model = treeOf(got);
      continue;
    }
    if (dOld !== '' && newer === undefined) {
      // Which model state the tree does match, if any (older or newer than expected): the lead to the cause.
      const states = [['the run start', start], ...[...saves].map(([i, st]) => [`op ${i} ${ops[i].op}`, st])];
      const pageStates = [];
      for (let i = 0; i < ops.length; i++) pageStates.push([`after op ${i} ${ops[i].op}`, apply(cloneTree(i ? pageStates[i - 1][1] : start), ops[i])]);
      const matches = [...states, ...pageStates].filter(([, st]) => diffTree(got, st) === '').map(([name]) => name);
      process.stdout.write(`# ${why}: the tree matches ${matches.length ? matches.join(', ') : 'no model state'}\n`);
      assert.fail(`${why}: the tree is not what the last durable call (${lastSure >= 0 ? `op ${lastSure} ${ops[lastSure].op}` : 'none: the run start'}) saved: ${dOld}` +
        `${inflight.length ? `; nor what the cut-short ${inflight.map((i) => `op ${i} ${ops[i].op}`).join(', ')} would have: ${diffTree(got, saves.get(inflight[0]))}` : ''}`);
    }
    const matched = dOld === '' ? lastSure : newer;
    if (inflight.length) { if (dOld === '') seen.inDurableOld++; else seen.inDurableNew++; }
    else if (lastSure < 0) seen.beforeDurable++;
    else if (mutatedAfter > lastSure) seen.lostAfterDurable++;
    else seen.exactAtDurable++;
    if (matched >= 0) {
      seen.honoured[ops[matched].op]++;
      if (covered.get(matched) > 0) seen.cacheFlushedBySync++;
    }
    model = treeOf(got);
  }
  const secs = ((Date.now() - started) / 1000).toFixed(1);
  t.diagnostic(`${secs} s (ms in: ${JSON.stringify(time)}): ${JSON.stringify(seen)}`);
  process.stdout.write(`# fuse-sigkill SEED=${SEED}: ${secs} s, ${JSON.stringify(seen)}\n`);

  // Not vacuous: enough kills, and every kind of outcome and op happened.
  assert.ok(seen.kills >= RUNS, `only ${seen.kills} kills`);
  for (const [k, n] of Object.entries({ beforeDurable: 8, lostAfterDurable: 40, exactAtDurable: 8, inDurableOld: 5, inDurableNew: 5, cacheFlushedBySync: 10 })) {
    assert.ok(seen[k] >= MIN(n), `${k}: ${seen[k]} runs, want >= ${MIN(n)}`);
  }
  // Foreign syncs are rare (1 run in ~200 on a busy shared machine); many would mean the server checkpoints by itself.
  assert.ok(seen.unasked <= Math.max(2, RUNS / 20), `${seen.unasked} runs came back at a checkpoint nobody in this test asked for`);
  for (const k of DURABLE) assert.ok(seen.honoured[k] >= MIN(5), `${k} was the durable point honoured in ${seen.honoured[k]} runs, want >= ${MIN(5)}`);
  // rmdir needs an empty directory, which the random walk leaves rarely (7 to ~20 in 220 runs): a lower floor, still never zero.
  for (const k of [...MUTATING, 'hopen']) {
    const want = MIN(k === 'rmdir' ? 3 : 15);
    assert.ok((seen.opsOk[k] ?? 0) >= want, `${k} succeeded ${seen.opsOk[k] ?? 0} times, want >= ${want}`);
  }

  for (const p of pool) p.child.kill('SIGKILL');
  writer.proc.stdin.end();
  const u = pram(['umount', mnt], { env });
  assert.equal(u.code, 0, u.err);
  server = null;
  const c = pram(['check', '--json', '--arena', arena], { env });
  assert.equal(c.code, 0, c.out + c.err);
  assert.deepEqual(JSON.parse(c.out).losses, []);
  const loops = spawnSync('losetup', ['-a'], { encoding: 'utf8' }).stdout.split('\n')
    .filter((l) => [...serverPids].some((pid) => l.includes(`pram-fuseblk-${pid}-`)));
  assert.deepEqual(loops, [], 'loop devices left behind by the killed servers');
});

// Owner crashes through the FUSE mount (issue 7): a writer process works on
// files inside `pram mount` (fsync of a file or of the root directory is a
// checkpoint); the FUSE server is SIGKILLed at a seeded moment; `pram umount`
// clears the dead mount; a new `pram mount` must show exactly the state of
// the last completed fsync (or of the fsync cut short). Runs chain: each
// starts from the state the previous crash left.
//   PRAM_FUSE_KILL_RUNS=n (default 20)   PRAM_FUSE_KILL_SEED=n (first seed)
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Prng } from '../../../dist/machine/prng.js';
import { forceUnmount, isMounted, pram } from '../fuse/helpers.mjs';
import { DIRS, diffTrees, genOps, syncStates } from './model.mjs';
import { onLines } from './lines.mjs';

const writer = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fuse-writer.mjs');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-rel-fuse-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/pram-rel-fuse-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
const RUNS = Number(process.env['PRAM_FUSE_KILL_RUNS'] ?? 20);
const FIRST = Number(process.env['PRAM_FUSE_KILL_SEED'] ?? 500);
after(() => {
  if (isMounted(mnt)) pram(['umount', mnt], { env });
  forceUnmount(mnt);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(arena, { force: true });
});

function serverPid() {
  const run = fs.readdirSync(env.PRAM_RUN_DIR).find((f) => f.endsWith('.pid'));
  return JSON.parse(fs.readFileSync(path.join(env.PRAM_RUN_DIR, run), 'utf8')).pid;
}

function readTree() {
  const out = new Map();
  const walk = (d) => {
    for (const e of fs.readdirSync(path.join(mnt, d), { withFileTypes: true })) {
      const p = `${d === '/' ? '' : d}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else { try { out.set(p, fs.readFileSync(mnt + p)); } catch (err) { out.set(p, err.code); } }
    }
  };
  walk('/');
  for (const d of DIRS) out.delete(d);
  return out;
}

function run(ops, kill) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [writer, mnt], { stdio: ['pipe', 'pipe', 'pipe'] });
    const pid = serverPid();
    const said = [];
    let killed = false;
    const die = () => { if (!killed) { killed = true; try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } } setTimeout(() => child.kill('SIGKILL'), 200); };
    const guard = setTimeout(() => { die(); reject(new Error('the writer did not finish in 60 s')); }, 60_000);
    onLines(child.stdout, (line) => {
      said.push(line);
      const [tag, n] = line.split(' ');
      if (tag === 'D' || tag === 'X') die();
      else if (tag === 'R' && kill.mode === 'delay') setTimeout(die, kill.ms);
      else if (tag === 'o' && kill.mode === 'op' && Number(n) === kill.at) die();
      else if (tag === 's' && kill.mode === 'sync' && Number(n) === kill.at) die();
    });
    child.on('exit', () => { clearTimeout(guard); if (!killed) die(); resolve(said); });
    child.stdin.end(JSON.stringify(ops) + '\n');
  });
}

test(`SIGKILL of the FUSE server: ${RUNS} runs from seed ${FIRST}`, { timeout: 900_000 }, async (t) => {
  fs.mkdirSync(mnt);
  let r0 = pram(['mount', mnt, '--arena', arena, '--size', '64M'], { env });
  assert.equal(r0.code, 0, r0.err);
  fs.mkdirSync(path.join(mnt, 'd/e'), { recursive: true });
  const fd = fs.openSync(mnt, 'r'); fs.fsyncSync(fd); fs.closeSync(fd);
  let model = new Map();
  const seen = { newer: 0, older: 0, inSync: 0 };
  for (let seed = FIRST; seed < FIRST + RUNS; seed++) {
    const r = new Prng(seed);
    const ops = genOps(r.next(), model);
    const syncs = ops.flatMap((o, i) => (o.op === 'sync' || o.op === 'fsync' ? [i] : []));
    const k = r.below(3);
    const kill = k === 0 ? { mode: 'op', at: r.below(ops.length) } : k === 1 ? { mode: 'sync', at: syncs[r.below(syncs.length)] } : { mode: 'delay', ms: r.below(300) };
    const said = await run(ops, kill);
    const done = said.filter((l) => l.startsWith('S ')).map((l) => Number(l.slice(2)));
    const begun = said.filter((l) => l.startsWith('s ')).map((l) => Number(l.slice(2)));
    const lastDone = done.length ? Math.max(...done) : -1;
    const inflight = begun.filter((i) => i > lastDone);
    const states = syncStates(ops, model);
    const older = lastDone >= 0 ? states.get(lastDone) : model;
    const newer = inflight.length ? states.get(Math.max(...inflight)) : null;
    if (newer) seen.inSync++;
    const why = `SEED=${seed} (PRAM_FUSE_KILL_SEED=${seed} PRAM_FUSE_KILL_RUNS=1 reruns it from an empty mount only if it was the first; kill ${JSON.stringify(kill)}, last fsync at op ${lastDone})`;
    const u = pram(['umount', mnt], { env, timeoutMs: 60_000 });
    assert.equal(u.code, 0, `${why}: pram umount of the dead mount: ${u.err}`);
    assert.ok(!isMounted(mnt), `${why}: still mounted`);
    const m = pram(['mount', mnt, '--arena', arena], { env });
    assert.equal(m.code, 0, `${why}: pram mount after the crash: ${m.err}`);
    const got = readTree();
    for (const d of DIRS) assert.ok(fs.statSync(mnt + d).isDirectory(), `${why}: ${d} is gone`);
    const dOld = diffTrees(got, older);
    const dNew = dOld && newer ? diffTrees(got, newer) : 'no fsync was in flight';
    if (dOld === '') { seen.older++; model = older; }
    else if (dNew === '') { seen.newer++; model = newer; }
    else assert.fail(`${why}: neither the last fsynced state (${dOld}) nor the one being fsynced (${dNew})`);
  }
  t.diagnostic(JSON.stringify(seen));
  const u = pram(['umount', mnt], { env });
  assert.equal(u.code, 0, u.err);
  const c = pram(['check', '--json', '--arena', arena], { env });
  assert.equal(c.code, 0, c.out + c.err);
  assert.equal(JSON.parse(c.out).ok, true);
});

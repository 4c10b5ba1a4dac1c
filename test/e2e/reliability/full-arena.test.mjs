// A full arena never loses data silently (issue 17). Seeded workers create,
// write, extend, truncate, rename, link, set xattrs and make symlinks and
// directories until the arena is full and past it, through the library and
// through `pram mount` (several processes at once). The oracle is each
// worker's own model of the calls that returned success (full-model.mjs):
// the tree read back, the tree after dropping the kernel's caches and the
// tree after unmount and a mount in a new process must all equal it; every
// ENOSPC must come from a call that did not fit (the room left, net of
// reservations, was below what the op may need).
//   PRAM_FULL_SEED=n reproduces a run (printed first).
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';
import { forceUnmount, isMounted, pram } from '../fuse/helpers.mjs';
import { diffDumps, dumpTree } from './full-model.mjs';
import { runWorker } from './full-worker.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const SEED = Number(process.env['PRAM_FULL_SEED'] ?? 1717);
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-full-'));
const mnt = path.join(tmp, 'mnt');
fs.mkdirSync(mnt);
const libArena = `/dev/shm/pram-full-lib-${process.pid}.arena`;
const fuseArena = `/dev/shm/pram-full-fuse-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
console.log(`SEED=${SEED} (PRAM_FULL_SEED reproduces)`);
after(() => {
  if (isMounted(mnt)) pram(['umount', mnt], { env });
  forceUnmount(mnt);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(libArena, { force: true });
  fs.rmSync(fuseArena, { force: true });
});

/** Every ENOSPC came from a call that did not fit: the room around it was below the op's need (+ slack for others). */
function assertEnospcHonest(res, slack, what) {
  for (const e of res.enospc) {
    assert.ok(Math.min(e.before, e.after) < e.need + slack,
      `${what}: ${e.op} (op ${e.seq}) failed with ENOSPC at ${e.at} while ${Math.min(e.before, e.after)} pages were free net of reservations; it needs at most ${e.need} (+${slack}); SEED=${SEED}`);
  }
}

const pfsXattrs = (pfs) => async (p) => Promise.all((await pfs.listxattr(p)).map(async (k) => [k, await pfs.getxattr(p, k)]));

test('library: a full arena refuses at the call that does not fit and loses nothing acknowledged', async () => {
  const pfs = await mount({ arena: libArena, create: { sizeBytes: 16 << 20 }, cmdline: '' });
  const lib = { fsp: pfs, base: '', xattr: (p, k, v) => pfs.setxattr(p, k, v), avail: async () => pfs.volume.statfs().bavail };
  const res = await runWorker(lib, { seed: SEED, root: '/w', opsMax: 4000, enospcMax: 40 });
  console.log(`library: ${res.ops} ops, ${res.enospc.length} ENOSPC (${[...new Set(res.enospc.map((e) => e.op))].join(', ')})`);
  assert.ok(res.enospc.length > 0, `the arena filled up (SEED=${SEED})`);
  assertEnospcHonest(res, 0, 'library');
  const xattrs = pfsXattrs(pfs);
  assert.equal(diffDumps(await dumpTree(pfs, '', '/w', xattrs), res.tree), '', `live tree vs model, SEED=${SEED}`);
  assert.equal(await pfs.sync().then(() => 'ok'), 'ok', 'a checkpoint of the full arena fits');
  await pfs.unmount();   // throws if the final save fails
  // A new process mounts the arena and dumps the tree.
  const child = spawnSync(process.execPath, [path.join(here, 'full-dump.mjs'), 'lib', libArena, '/w'], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(child.status, 0, child.stderr);
  assert.equal(diffDumps(JSON.parse(child.stdout), res.tree), '', `remounted tree vs model, SEED=${SEED}`);
});

function worker(opts) {
  return new Promise((resolve, reject) => {
    const c = spawn(process.execPath, [path.join(here, 'full-worker.mjs'), mnt, JSON.stringify(opts)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (d) => { out += d; });
    c.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker ${opts.root} exited ${code}; SEED=${SEED}`))));
  });
}

function mountDump() {
  const c = spawnSync(process.execPath, [path.join(here, 'full-dump.mjs'), 'mount', mnt], { encoding: 'utf8', timeout: 60_000 });
  assert.equal(c.status, 0, c.stderr);
  return JSON.parse(c.stdout);
}

test('mount: several processes fill the arena; what the kernel acknowledged is what the server stored', async () => {
  const WORKERS = 3;
  let r = pram(['mount', mnt, '--arena', fuseArena, '--size', '32M'], { env });
  assert.equal(r.code, 0, r.err);
  const results = await Promise.all(Array.from({ length: WORKERS }, (_, i) => worker({ seed: SEED * 31 + i, root: `/w${i}`, opsMax: 3000, enospcMax: 15 })));
  const want = Object.assign({}, ...results.map((x) => x.tree));
  for (const [i, x] of results.entries()) {
    assert.deepEqual(x.closeErrors, [], `worker ${i}: no write was acknowledged and then refused (SEED=${SEED})`);
    // The others may each allocate one op's worth (at most 64 data pages and its records) between our statfs and our call.
    assertEnospcHonest(x, (WORKERS - 1) * 2 * 80, `worker ${i}`);
  }
  console.log(`mount: ${results.map((x) => `${x.ops} ops, ${x.enospc.length} ENOSPC`).join('; ')}`);
  assert.ok(results.some((x) => x.enospc.length > 0), `the arena filled up (SEED=${SEED})`);
  const seen = mountDump();
  assert.equal(diffDumps(seen, want), '', `mounted tree vs models, SEED=${SEED}`);
  fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
  assert.equal(diffDumps(mountDump(), want), '', `tree after drop_caches vs models, SEED=${SEED}`);
  r = pram(['umount', mnt], { env });
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /saved/);
  r = pram(['mount', mnt, '--arena', fuseArena], { env });
  assert.equal(r.code, 0, r.err);
  assert.equal(diffDumps(mountDump(), want), '', `tree in a new server vs models, SEED=${SEED}`);
  r = pram(['umount', mnt], { env });
  assert.equal(r.code, 0, r.err);
});

test('pram umount: a save that cannot be made exits non-zero in one line and leaves the mount up', () => {
  const arena = `/dev/shm/pram-full-umount-${process.pid}.arena`;
  try {
    let r = pram(['mount', mnt, '--arena', arena, '--size', '16M'], { env });
    assert.equal(r.code, 0, r.err);
    const data = Buffer.alloc(8 << 20, 7);
    fs.writeFileSync(path.join(mnt, 'big'), data);
    fs.writeFileSync(path.join(mnt, 'small'), 'kept');
    r = pram(['umount', mnt], { env });
    assert.equal(r.code, 0, r.err);
    // The next boot bans almost all of the arena: every saved data page must be copied out of
    // the banned region at the next checkpoint, and there is no room for that (taken outside the ledger).
    const banned = { ...env, PRAM_CMDLINE: 'pram_banned=0x10000-0xffffff' };
    r = pram(['mount', mnt, '--arena', arena], { env: banned });
    assert.equal(r.code, 0, r.err);
    r = pram(['umount', mnt], { env: banned });
    assert.equal(r.code, 1, `exit status (${r.out}${r.err})`);
    assert.doesNotMatch(r.out + r.err, /saved/);
    assert.equal(r.err.trim().split('\n').length, 1, r.err);
    assert.match(r.err, /ENOSPC.*stays mounted/);
    assert.ok(isMounted(mnt), 'the mount is still up');
    assert.deepEqual(fs.readFileSync(path.join(mnt, 'big')), data, 'and serves what it had');
    // Giving up is the user's choice: a lazy kernel unmount ends the server, whose final save fails the
    // same way; the previous checkpoint is intact.
    const pid = JSON.parse(fs.readFileSync(path.join(env.PRAM_RUN_DIR, fs.readdirSync(env.PRAM_RUN_DIR).find((f) => f.endsWith('.pid'))), 'utf8')).pid;
    assert.equal(spawnSync('umount', ['-i', '-l', mnt]).status, 0);
    for (let i = 0; i < 200 && fs.existsSync(`/proc/${pid}`); i++) spawnSync('sleep', ['0.05']);
    r = pram(['mount', mnt, '--arena', arena], { env });
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(path.join(mnt, 'small'), 'utf8'), 'kept');
    assert.deepEqual(fs.readFileSync(path.join(mnt, 'big')), data);
    assert.equal(pram(['umount', mnt], { env }).code, 0);
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

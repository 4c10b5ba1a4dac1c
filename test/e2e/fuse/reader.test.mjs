// The two /dev/fuse readers on the real kernel (src/fuse/loop.ts): the default
// poll reader (the server's /dev/fuse fd is non-blocking, woken by uv_poll on
// the main thread) and the classic pool reader (PRAM_FUSE_READER=pool, blocking
// reads in libuv's pool) each serve real programs byte for byte, many
// processes at once, and end cleanly at `pram umount`; a bad PRAM_FUSE_READER
// fails the mount with one line naming it. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive, isMounted, makeTree, pram, serverPidIn, sh, tearDown } from './helpers.mjs';

const T = { timeout: 180_000 };
const O_NONBLOCK = 0o4000;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-reader-'));
const mnt = path.join(tmp, 'mnt'), src = path.join(tmp, 'src');
const arena = `/dev/shm/pram-e2e-reader-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run') };

/** The flags of the server's /dev/fuse fd, from /proc (the one fd whose link is /dev/fuse). */
function devFuseFlags(pid) {
  const dir = `/proc/${pid}/fd`;
  const fd = fs.readdirSync(dir).find((f) => { try { return fs.readlinkSync(path.join(dir, f)) === '/dev/fuse'; } catch { return false; } });
  assert.ok(fd !== undefined, `server ${pid} holds no /dev/fuse fd`);
  return parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))[1], 8);
}

/** Mount with `reader` (undefined: the default), use it as programs do, unmount; returns the server's fd flags. */
function roundTrip(reader, name) {
  const r = pram(['mount', mnt, '--arena', arena, '--size', '256M'], { env: { ...env, ...(reader ? { PRAM_FUSE_READER: reader } : {}) }, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
  const pid = serverPidIn(env.PRAM_RUN_DIR);
  const flags = devFuseFlags(pid);
  sh(`cp -a '${src}' '${mnt}/${name}' && diff -r --no-dereference '${src}' '${mnt}/${name}'`);
  // Eight processes at once: requests queue in the kernel, the reader takes them in batches.
  sh(`for i in $(seq 8); do (mkdir '${mnt}/${name}-p'$i && for j in $(seq 200); do : > '${mnt}/${name}-p'$i/f$j; done && ` +
    `stat '${mnt}/${name}-p'$i/* > /dev/null && rm '${mnt}/${name}-p'$i/f*) & done; wait`);
  for (let i = 1; i <= 8; i++) assert.deepEqual(fs.readdirSync(path.join(mnt, `${name}-p${i}`)), []);
  const u = pram(['umount', mnt], { env, timeoutMs: 60_000 });
  assert.equal(u.code, 0, `pram umount failed: ${u.err}${u.out}`);
  assert.ok(!isMounted(mnt));
  for (let t = 0; t < 100 && alive(pid); t++) sh('sleep 0.1');
  assert.ok(!alive(pid), 'the server exits after the unmount');
  return flags;
}

describe('/dev/fuse readers', () => {
  before(() => {
    fs.mkdirSync(mnt);
    makeTree(src);
  });

  after(() => tearDown({ mnt, arena, tmp, env }));

  test('the default poll reader: a non-blocking /dev/fuse fd serves cp, diff and 8 processes at once', T, () => {
    assert.equal(roundTrip(undefined, 'poll') & O_NONBLOCK, O_NONBLOCK);
  });

  test('PRAM_FUSE_READER=pool: blocking reads in the pool serve the same, and see what the poll reader wrote', T, () => {
    assert.equal(roundTrip('pool', 'pool') & O_NONBLOCK, 0);
    // Back under the default reader: both trees are there.
    const r = pram(['mount', mnt, '--arena', arena], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
    sh(`diff -r --no-dereference '${src}' '${mnt}/poll' && diff -r --no-dereference '${src}' '${mnt}/pool'`);
    assert.equal(pram(['umount', mnt], { env, timeoutMs: 60_000 }).code, 0);
  });

  test('a bad PRAM_FUSE_READER fails the mount with one line naming it; nothing stays mounted', T, () => {
    const r = pram(['mount', mnt, '--arena', arena], { env: { ...env, PRAM_FUSE_READER: 'epoll' }, timeoutMs: 60_000 });
    assert.equal(r.code, 1, `exit 1: ${r.err}${r.out}`);
    assert.match(r.err.trim(), /^pram: .*PRAM_FUSE_READER: 'epoll' is not a reader \(poll, pool\)$/);
    assert.ok(!isMounted(mnt));
  });
});

// The table "what survives what" of docs/RELIABILITY.md, one test per row,
// through the real `pram mount`: each row makes a change, does its call, then
// SIGKILLs the server (or does the row's own ending), clears the dead mount
// with `pram umount`, mounts again and checks what came back. Rows not killed
// by SIGKILL (umount, SIGTERM) check that everything came back. The kexec
// column is the same as the SIGKILL column for a pmem arena (the arena's RAM
// survives, the server does not); test/e2e/kexec and test/e2e/luo prove it on
// real kernels.
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forceUnmount, isMounted, pram } from '../fuse/helpers.mjs';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-durability-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/pram-durability-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
const T = { timeout: 120_000 };
fs.mkdirSync(mnt);
after(() => {
  if (isMounted(mnt)) pram(['umount', '--lazy', mnt], { env });
  forceUnmount(mnt);
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.rmSync(arena, { force: true });
});

const at = (p) => path.join(mnt, p);

/** A fresh arena, mounted, with /base saved (fsync) before the row's change. */
function fresh(interval = '0') {
  fs.rmSync(arena, { force: true });
  const r = pram(['mount', mnt, '--arena', arena, '--size', '16M', '--checkpoint-interval', interval], { env });
  assert.equal(r.code, 0, r.err + r.out);
  assert.doesNotMatch(r.out, /fuse, not fuseblk/, 'this kernel should forward syncfs to a fuseblk mount');
  fs.writeFileSync(at('base'), 'saved');
  const fd = fs.openSync(at('base'), 'r'); fs.fsyncSync(fd); fs.closeSync(fd);
}

function serverPid() {
  const run = fs.readdirSync(env.PRAM_RUN_DIR).find((f) => f.endsWith('.pid'));
  return JSON.parse(fs.readFileSync(path.join(env.PRAM_RUN_DIR, run), 'utf8')).pid;
}

async function gone(pid) {
  for (let i = 0; i < 600; i++) {
    try { process.kill(pid, 0); } catch { return; }
    if (/ Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''))) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`server ${pid} still alive`);
}

/** SIGKILL the server, clear the dead mount, mount again: what came back (path -> text, or absent). */
async function crashAndRemount(heldFds = []) {
  const pid = serverPid();
  process.kill(pid, 'SIGKILL');
  await gone(pid);
  for (const fd of heldFds) try { fs.closeSync(fd); } catch { /* a dead mount */ }
  const u = pram(['umount', mnt], { env });
  assert.equal(u.code, 0, u.err);
  assert.match(u.out, /had died/);
  return remount();
}

function remount() {
  const m = pram(['mount', mnt, '--arena', arena, '--checkpoint-interval', '0'], { env });
  assert.equal(m.code, 0, m.err);
  assert.doesNotMatch(m.out, /lost/, 'no loss may be reported');
  const got = {};
  for (const n of fs.readdirSync(mnt, { recursive: true })) if (fs.statSync(at(n)).isFile()) got[n] = fs.readFileSync(at(n), 'utf8');
  const u = pram(['umount', mnt], { env });
  assert.equal(u.code, 0, u.err);
  return got;
}

/** A write that stays in the kernel's page cache: the fd is kept open. */
function heldWrite(name, text) {
  const fd = fs.openSync(at(name), 'w');
  fs.writeSync(fd, text);
  return fd;
}

describe('what survives a SIGKILL of the server (docs/RELIABILITY.md, the table)', () => {
  test('write (file kept open, no durable call): lost; what was saved before is intact', T, async () => {
    fresh();
    const fd = heldWrite('w', 'unsaved');
    assert.deepEqual(await crashAndRemount([fd]), { base: 'saved' });
  });

  test('close: not a checkpoint by itself (lost), but the data has reached the server, so the next durable call of any kind saves it', T, async () => {
    fresh();
    fs.writeFileSync(at('c'), 'closed');
    assert.deepEqual(await crashAndRemount(), { base: 'saved' });
    fresh();
    fs.writeFileSync(at('c'), 'closed');
    const fd = fs.openSync(at('base'), 'r'); fs.fsyncSync(fd); fs.closeSync(fd);   // another file's fsync
    assert.deepEqual(await crashAndRemount(), { base: 'saved', c: 'closed' });
  });

  test('fsync of the file: survives, including data the kernel still cached', T, async () => {
    fresh();
    const fd = heldWrite('f', 'fsynced');
    fs.fsyncSync(fd);
    assert.deepEqual(await crashAndRemount([fd]), { base: 'saved', f: 'fsynced' });
  });

  test('fdatasync of the file: survives', T, async () => {
    fresh();
    const fd = heldWrite('f', 'fdatasynced');
    fs.fdatasyncSync(fd);
    assert.deepEqual(await crashAndRemount([fd]), { base: 'saved', f: 'fdatasynced' });
  });

  test('directory fsync: its entries survive (a new file, a rename), with the data of files already closed', T, async () => {
    fresh();
    fs.mkdirSync(at('d'));
    fs.writeFileSync(at('d/new'), 'entry');
    fs.renameSync(at('base'), at('d/moved'));
    const fd = fs.openSync(at('d'), 'r'); fs.fsyncSync(fd); fs.closeSync(fd);
    assert.deepEqual(await crashAndRemount(), { 'd/new': 'entry', 'd/moved': 'saved' });
  });

  // sync(2)/syncfs(2) do not wait for FUSE writeback (the kernel gives FUSE no data integrity
  // on sync), so a file kept open has its cached bytes saved only as far as the kernel handed
  // them over before FUSE_SYNCFS: the file itself (its entry) survives, its bytes are old or new.
  test('sync(1) (sync(2)): everything that reached the server survives (closed files, entries); a file kept open, as far as the kernel handed it over', T, async () => {
    fresh();
    fs.writeFileSync(at('a.txt'), 'data\n');
    const fd = heldWrite('held', 'cached');
    assert.equal(spawnSync('sync', { timeout: 60_000 }).status, 0);
    const got = await crashAndRemount([fd]);
    assert.ok(['', 'cached'].includes(got.held), `held: ${JSON.stringify(got.held)}`);
    assert.deepEqual({ ...got, held: undefined }, { base: 'saved', 'a.txt': 'data\n', held: undefined });
  });

  test('sync -f (syncfs(2)): as sync, for this mount', T, async () => {
    fresh();
    fs.writeFileSync(at('b.txt'), 'more\n');
    const fd = heldWrite('held', 'cached');
    assert.equal(spawnSync('sync', ['-f', at('b.txt')], { timeout: 60_000 }).status, 0);
    const got = await crashAndRemount([fd]);
    assert.ok(['', 'cached'].includes(got.held), `held: ${JSON.stringify(got.held)}`);
    assert.deepEqual({ ...got, held: undefined }, { base: 'saved', 'b.txt': 'more\n', held: undefined });
  });

  test('the checkpoint interval: what reached the server survives after one interval; an idle interval saves nothing', T, async () => {
    fresh('300ms');
    fs.writeFileSync(at('i'), 'interval');
    await new Promise((r) => setTimeout(r, 1200));
    assert.deepEqual(await crashAndRemount(), { base: 'saved', i: 'interval' });
    // Idle: mount, wait many intervals, unmount. The checkpoints made must be exactly
    // those of the same idle mount with the interval off (what pram umount saves itself).
    const gen = () => JSON.parse(pram(['info', '--json', '--arena', arena], { env }).out).generation;
    const idle = async (interval) => {
      const before = gen();
      const m = pram(['mount', mnt, '--arena', arena, '--checkpoint-interval', interval], { env });
      assert.equal(m.code, 0, m.err);
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(pram(['umount', mnt], { env }).code, 0);
      return gen() - before;
    };
    const unmountOnly = await idle('off');
    assert.equal(unmountOnly, 0, 'pram umount of an idle mount commits nothing (a v3 log: nothing changed, nothing written)');
    assert.equal(await idle('100ms'), unmountOnly, 'an interval with nothing changed must not save');
  });

  test('pram umount: everything survives', T, async () => {
    fresh();
    fs.writeFileSync(at('u'), 'unmounted');
    assert.equal(pram(['umount', mnt], { env }).code, 0);
    assert.deepEqual(remount(), { base: 'saved', u: 'unmounted' });
  });

  test('SIGTERM of the server: everything survives', T, async () => {
    fresh();
    fs.writeFileSync(at('t'), 'terminated');
    const pid = serverPid();
    process.kill(pid, 'SIGTERM');
    await gone(pid);
    assert.ok(!isMounted(mnt));
    assert.deepEqual(remount(), { base: 'saved', t: 'terminated' });
  });

  test('SIGKILL of the server: exactly the last checkpoint, and pram umount says which calls made one', T, async () => {
    fresh();
    fs.writeFileSync(at('late'), 'lost');
    const pid = serverPid();
    process.kill(pid, 'SIGKILL');
    await gone(pid);
    const u = pram(['umount', mnt], { env });
    assert.equal(u.code, 0, u.err);
    assert.match(u.out, /holds its last checkpoint intact: the one saved by the last fsync\/fdatasync of a file or directory or sync\/syncfs before the crash/);
    assert.deepEqual(remount(), { base: 'saved' });
  });
});

// pram as a real file system: the real `pram mount`, /dev/fuse, util-linux
// mount, and real programs (cp, diff, stat, tar, dd, sha256sum, git) — then
// all of it again after `pram umount` and a `pram mount` by a new process, and
// a SIGKILLed server whose mount `pram umount` clears. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive, isMounted, serverPidIn, makeTree, pram, renameat2, sh, statTree, tearDown } from './helpers.mjs';

const T = { timeout: 180_000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-fuse-'));
const mnt = path.join(tmp, 'mnt'), src = path.join(tmp, 'src'), out = path.join(tmp, 'out');
const arena = `/dev/shm/pram-e2e-fuse-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run') };
const GIB_CHUNKS = 16, CHUNK_MIB = 64;
let bigSha = '';

function mount(extra = []) {
  const r = pram(['mount', mnt, '--arena', arena, ...extra], { env, timeoutMs: 300_000 });
  assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
  assert.ok(isMounted(mnt), 'mounted after pram mount returned');
  return r;
}

function umount() {
  const r = pram(['umount', mnt], { env, timeoutMs: 300_000 });
  assert.equal(r.code, 0, `pram umount failed: ${r.err}${r.out}`);
  assert.ok(!isMounted(mnt), 'not mounted after pram umount returned');
  return r;
}

const serverPid = () => serverPidIn(env.PRAM_RUN_DIR);

/** What every phase must find in the mount (first after writing it, then after remounts). */
function checkContents() {
  sh(`diff -r --no-dereference '${src}' '${mnt}/src'`);
  assert.equal(statTree(path.join(mnt, 'src')), statTree(src));
  assert.equal(sh(`cd '${mnt}/repo' && git fsck --strict 2>&1 && git log --format=%s`).trim().split('\n').at(-1), 'first commit in pram');
  assert.equal(sh(`cd '${mnt}/repo' && git status --porcelain`), '');
  sh(`cmp '${tmp}/dd-src' '${mnt}/dd-4k' && cmp '${tmp}/dd-src' '${mnt}/dd-1m'`);
  assert.equal(fs.readFileSync(path.join(mnt, 'ren/target'), 'utf8'), 'new');
  assert.equal(fs.readFileSync(path.join(mnt, 'ren/x'), 'utf8'), 'Y');
  assert.ok(fs.lstatSync(path.join(mnt, 'fifo')).isFIFO());
}

describe('pram mount (FUSE)', () => {
  before(() => {
    fs.mkdirSync(mnt);
    makeTree(src);
    sh(`head -c ${16 << 20} /dev/urandom > '${tmp}/dd-src' && head -c ${CHUNK_MIB << 20} /dev/urandom > '${tmp}/chunk'`);
    bigSha = sh(`for i in $(seq ${GIB_CHUNKS}); do cat '${tmp}/chunk'; done | sha256sum`).split(' ')[0];
    fs.chmodSync(tmp, 0o755);   // the unprivileged-write test reaches the mount through it
    mount(['--size', '2G', '--allow-other']);
  });

  after(() => tearDown({ mnt, arena, tmp, env, timeoutMs: 120_000 }));

  test('pram mount returns with the mount answering, its server recorded', T, () => {
    assert.equal(fs.statSync(mnt).ino, 1, 'the root is pram\'s inode 1');
    assert.ok(alive(serverPid()));
    assert.match(sh(`stat -f -c %T '${mnt}'`), /fuse/);
  });

  test('pram info on the mounted arena says where, by whom and how it is served (it cannot open it beside the server)', T, () => {
    const r = pram(['info', '--arena', arena], { env });
    assert.equal(r.code, 0, `pram info: ${r.err}${r.out}`);
    assert.match(r.out, new RegExp(`^mounted +on ${mnt} by server pid ${serverPid()} since .* \\(requests by (/dev/fuse|io_uring .*); checkpoint interval`, 'm'));
    assert.match(r.out, /^in use +[\d.]+ \w+ of 2\.00 GiB, \d+ files/m);
    const j = JSON.parse(pram(['info', '--json', '--arena', arena], { env }).out);
    assert.deepEqual([j.mounted.length, j.mounted[0].dir, j.mounted[0].pid], [1, mnt, serverPid()]);
  });

  test('cp -a of files, symlinks, hard links and empty dirs: diff -r and stat agree', T, () => {
    sh(`cp -a '${src}' '${mnt}/src'`);
    sh(`diff -r --no-dereference '${src}' '${mnt}/src'`);
    assert.equal(statTree(path.join(mnt, 'src')), statTree(src));
    const a = fs.statSync(path.join(mnt, 'src/a/hello.txt')), b = fs.statSync(path.join(mnt, 'src/a/b/hard-hello'));
    assert.equal(a.ino, b.ino, 'hard link shares the inode');
    assert.equal(a.nlink, 2);
    assert.equal(fs.readlinkSync(path.join(mnt, 'src/dangling')), '/nonexistent/target');
  });

  test('tar c | tar x round trip, into the mount and back out', T, () => {
    sh(`mkdir '${mnt}/tarred' && tar -C '${src}' -cf - . | tar -C '${mnt}/tarred' -xpf -`);
    sh(`mkdir '${out}' && tar -C '${mnt}/tarred' -cf - . | tar -C '${out}' -xpf -`);
    sh(`diff -r --no-dereference '${src}' '${out}'`);
    assert.equal(statTree(out, { ns: false }), statTree(src, { ns: false }));
  });

  test('dd with 4 KiB and 1 MiB blocks', T, () => {
    sh(`dd if='${tmp}/dd-src' of='${mnt}/dd-4k' bs=4k status=none && dd if='${tmp}/dd-src' of='${mnt}/dd-1m' bs=1M conv=fsync status=none`);
    sh(`cmp '${tmp}/dd-src' '${mnt}/dd-4k' && cmp '${tmp}/dd-src' '${mnt}/dd-1m'`);
    sh(`dd if=/dev/zero of='${mnt}/zeros' bs=4k count=4096 status=none`);
    assert.equal(fs.statSync(path.join(mnt, 'zeros')).size, 16 << 20);
    assert.equal(sh(`dd if='${mnt}/dd-4k' bs=4k skip=100 count=3 status=none | sha256sum`), sh(`dd if='${tmp}/dd-src' bs=4k skip=100 count=3 status=none | sha256sum`));
  });

  test('a 1 GiB file reads back with the same sha256, from the server (caches dropped)', T, () => {
    sh(`for i in $(seq ${GIB_CHUNKS}); do cat '${tmp}/chunk'; done > '${mnt}/big'`);
    assert.equal(fs.statSync(path.join(mnt, 'big')).size, GIB_CHUNKS * (CHUNK_MIB << 20));
    sh('sync; echo 3 > /proc/sys/vm/drop_caches');
    assert.equal(sh(`sha256sum '${mnt}/big'`).split(' ')[0], bigSha);
  });

  test('rename: over an existing file, NOREPLACE, EXCHANGE, directories', T, () => {
    const d = path.join(mnt, 'ren');
    fs.mkdirSync(d);
    fs.writeFileSync(path.join(d, 'target'), 'old');
    fs.writeFileSync(path.join(d, 'source'), 'new');
    const old = fs.openSync(path.join(d, 'target'), 'r');   // an open file replaced by rename stays readable
    fs.renameSync(path.join(d, 'source'), path.join(d, 'target'));
    assert.equal(fs.readFileSync(path.join(d, 'target'), 'utf8'), 'new');
    assert.ok(!fs.existsSync(path.join(d, 'source')));
    assert.equal(fs.readFileSync(old, 'utf8'), 'old');
    fs.closeSync(old);
    fs.writeFileSync(path.join(d, 'x'), 'X');
    fs.writeFileSync(path.join(d, 'y'), 'Y');
    assert.equal(renameat2(path.join(d, 'x'), path.join(d, 'y'), 1), -17, 'RENAME_NOREPLACE: EEXIST');
    assert.equal(renameat2(path.join(d, 'x'), path.join(d, 'y'), 2), 0, 'RENAME_EXCHANGE');
    assert.equal(fs.readFileSync(path.join(d, 'x'), 'utf8'), 'Y');
    assert.equal(fs.readFileSync(path.join(d, 'y'), 'utf8'), 'X');
    fs.mkdirSync(path.join(d, 'd1'));
    fs.mkdirSync(path.join(d, 'd2/inner'), { recursive: true });
    assert.throws(() => fs.renameSync(path.join(d, 'd1'), path.join(d, 'd2')), { code: 'ENOTEMPTY' });
    assert.throws(() => fs.renameSync(path.join(d, 'y'), path.join(d, 'd1')), { code: 'EISDIR' });
    assert.throws(() => fs.renameSync(path.join(d, 'd2'), path.join(d, 'd2/inner/sub')), { code: 'EINVAL' });
    fs.renameSync(path.join(d, 'd2/inner'), path.join(d, 'd1'));   // a directory over an empty one
    assert.deepEqual(fs.readdirSync(path.join(d, 'd2')), []);
  });

  test('git init, add and commit inside the mount', T, () => {
    sh(`mkdir '${mnt}/repo' && cp -a '${src}/.' '${mnt}/repo/' && cd '${mnt}/repo' && git init -q . && git add -A && ` +
      `git -c user.name=pram -c user.email=pram@example.invalid commit -q -m 'first commit in pram' && git fsck --strict`);
    assert.equal(sh(`cd '${mnt}/repo' && git log --format=%s`).trim(), 'first commit in pram');
    assert.equal(sh(`cd '${mnt}/repo' && git status --porcelain`), '');
  });

  test('fifos and extended attributes', T, () => {
    sh(`mkfifo '${mnt}/fifo'`);
    assert.ok(fs.lstatSync(path.join(mnt, 'fifo')).isFIFO());
    const py = (code) => sh(`python3 -c "import os; ${code}"`).trim();
    py(`os.setxattr('${mnt}/src/a/hello.txt', 'user.color', b'blue')`);
    assert.equal(py(`print(os.getxattr('${mnt}/src/a/hello.txt', 'user.color').decode())`), 'blue');
    assert.equal(py(`print(os.listxattr('${mnt}/src/a/hello.txt'))`), "['user.color']");
    py(`os.removexattr('${mnt}/src/a/hello.txt', 'user.color')`);
    assert.equal(py(`print(os.listxattr('${mnt}/src/a/hello.txt'))`), '[]');
  });

  test('fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range, statfs, locks, an unserved ioctl: all answer', T, () => {
    const f = path.join(mnt, 'ops');
    sh(`fallocate -l 1M '${f}'`);
    assert.equal(fs.statSync(f).size, 1 << 20);
    const py = (code) => sh(`timeout 20 python3 -c "${code}"`).trim();
    assert.equal(py(`import os; fd=os.open('${f}', os.O_RDWR); print(os.lseek(fd, 0, os.SEEK_HOLE) <= 1048576, os.lseek(fd, 0, os.SEEK_DATA) >= 0)`), 'True True');
    sh(`dd if='${tmp}/dd-src' of='${mnt}/cfr-src' bs=1M count=3 status=none`);
    assert.equal(py(`import os; a=os.open('${mnt}/cfr-src', os.O_RDONLY); b=os.open('${mnt}/cfr-dst', os.O_WRONLY|os.O_CREAT, 0o644); n=0
while True:
  k=os.copy_file_range(a, b, 1 << 20)
  if k == 0: break
  n+=k
print(n)`), String(3 << 20));
    sh(`cmp '${mnt}/cfr-src' '${mnt}/cfr-dst'`);
    const df = sh(`df -B1 --output=size,avail '${mnt}' | tail -1`).trim().split(/\s+/).map(Number);
    assert.ok(df[0] > 1e9 && df[1] > 0 && df[1] < df[0], `statfs from the arena: ${df}`);
    // Inodes as statfs(2) counts them: all there can be, and the free ones; df -i's used = the files made (a negative one was seen).
    const di = sh(`df --output=itotal,iused,iavail '${mnt}' | tail -1`).trim().split(/\s+/).map(Number);
    assert.ok(di[0] === 2 ** 32 - 1 && di[1] > 3 && di[1] < 1000 && di[0] === di[1] + di[2], `df -i: ${di}`);
    sh(`timeout 20 flock '${f}' true`);
    // FS_IOC_GETFLAGS (lsattr's ioctl) is not served: it must fail at once, not hang
    assert.match(py(`import fcntl, os, errno
fd=os.open('${f}', os.O_RDONLY)
try:
  fcntl.ioctl(fd, 0x80086601, bytearray(8)); print('served')
except OSError as e: print(errno.errorcode[e.errno])`), /ENOTTY|ENOSYS|EOPNOTSUPP|EINVAL/);
  });

  test('suid and sgid are dropped as on tmpfs: by chown, and by an unprivileged write', T, () => {
    const f = path.join(mnt, 'suid');
    fs.writeFileSync(f, 'x');
    fs.chmodSync(f, 0o6777);
    fs.chownSync(f, 1000, 1000);
    assert.equal(fs.statSync(f).mode & 0o7777, 0o777, 'chown of an executable drops suid and sgid');
    fs.chmodSync(f, 0o6777);
    // uid 1000 may use the mount: the first mount was made with --allow-other
    sh(`setpriv --reuid=1000 --regid=1000 --clear-groups sh -c 'echo more >> "${f}"'`);
    assert.equal(fs.statSync(f).mode & 0o7777, 0o777, 'a write without CAP_FSETID drops them');
    assert.equal(fs.readFileSync(f, 'utf8'), 'xmore\n');
  });

  test('after pram umount and pram mount by a new process, everything is there', T, () => {
    const before = serverPid();
    umount();
    assert.ok(!alive(before), 'the server exited once saved');
    mount();
    assert.notEqual(serverPid(), before);
    checkContents();
    assert.equal(sh(`sha256sum '${mnt}/big'`).split(' ')[0], bigSha);
  });

  test('a SIGKILLed server leaves a mount that pram umount clears; synced data survives', T, () => {
    fs.writeFileSync(path.join(mnt, 'synced'), 'kept');
    sh(`sync '${mnt}/synced'`);   // fsync: a checkpoint
    const pid = serverPid();
    process.kill(pid, 'SIGKILL');
    for (let i = 0; i < 100 && alive(pid); i++) sh('sleep 0.05');
    // Over io_uring, a request that reaches a dead server's ring entry before the kernel
    // has torn the ring down (~20 ms) ends ECANCELED (fs/fuse/dev_uring.c, IO_URING_F_TASK_DEAD).
    assert.throws(() => fs.readdirSync(mnt), (e) => ['ENOTCONN', 'ECONNABORTED', 'ECANCELED'].includes(e.code), 'the dead mount answers ENOTCONN (ECONNABORTED on newer kernels)');
    const r = pram(['umount', mnt], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /had died/);
    assert.match(r.out, /last checkpoint/);
    assert.ok(!isMounted(mnt));
    mount();
    assert.equal(fs.readFileSync(path.join(mnt, 'synced'), 'utf8'), 'kept');
    checkContents();
  });

  test('SIGTERM to the server saves and unmounts', T, () => {
    fs.writeFileSync(path.join(mnt, 'at-term'), 'saved by SIGTERM');   // not fsynced: the exit saves it
    const pid = serverPid();
    process.kill(pid, 'SIGTERM');
    for (let i = 0; i < 600 && alive(pid); i++) sh('sleep 0.1');
    assert.ok(!alive(pid), 'server exited');
    assert.ok(!isMounted(mnt));
    mount();
    assert.equal(fs.readFileSync(path.join(mnt, 'at-term'), 'utf8'), 'saved by SIGTERM');
  });
});

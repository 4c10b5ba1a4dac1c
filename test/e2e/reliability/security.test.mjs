// Hostile input and security (issue 7): arenas created 0600; an arena owned
// by another user or writable by others refused by the CLI in one line with
// a non-zero exit; the FUSE mount has default_permissions and lets no other
// user in without --allow-other; names with '/' or NUL rejected; every size
// and offset bounds-checked (negative, fractional, NaN, past 2^53): an errno,
// never a throw of anything else, never a crash.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mount } from '../../../dist/api/index.js';
import { forceUnmount, isMounted, pram } from '../fuse/helpers.mjs';

const dir = fs.mkdtempSync('/dev/shm/pram-rel-sec-');
const tmp = fs.mkdtempSync('/tmp/pram-rel-sec-');
fs.chmodSync(tmp, 0o755); // so that "nobody" may reach the mount point: the mount, not the path, must stop them
const mnt = path.join(tmp, 'mnt');
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
after(() => {
  if (isMounted(mnt)) pram(['umount', mnt], { env });
  forceUnmount(mnt);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
});

const EINVAL = -22, EFBIG = -27;

test('arena files are created 0600 (library and `pram format`)', async () => {
  const a = path.join(dir, 'lib.arena');
  const old = process.umask(0);
  try {
    await (await mount({ arena: a, create: { sizeBytes: 4 << 20 }, cmdline: '' })).unmount();
    const r = pram(['format', '--arena', path.join(dir, 'cli.arena'), '--size', '4M'], { env });
    assert.equal(r.code, 0, r.err);
  } finally { process.umask(old); }
  assert.equal(fs.statSync(a).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, 'cli.arena')).mode & 0o777, 0o600);
});

for (const [what, fix, re] of [
  ['owned by another user', (p) => fs.chownSync(p, 65534, 65534), /owned by uid 65534/],
  ['writable by others', (p) => fs.chmodSync(p, 0o606), /writable by group or others/],
  ['writable by the group', (p) => fs.chmodSync(p, 0o620), /writable by group or others/],
]) {
  test(`an arena ${what} is refused by the CLI: one line, non-zero exit, file untouched`, async () => {
    const a = path.join(dir, `bad-${what.replace(/ /g, '-')}.arena`);
    const pfs = await mount({ arena: a, create: { sizeBytes: 4 << 20 }, cmdline: '' });
    await pfs.writeFile('/f', 'data');
    await pfs.unmount();
    fix(a);
    const before = fs.readFileSync(a);
    for (const args of [['ls', '/', '--arena', a], ['check', '--arena', a], ['put', '/etc/hostname', '/x', '--arena', a]]) {
      const r = pram(args, { env });
      assert.notEqual(r.code, 0, `${args[0]}: ${r.out}`);
      const lines = r.err.trim().split('\n');
      assert.equal(lines.length, 1, `${args[0]} says one line: ${r.err}`);
      assert.match(lines[0], re);
    }
    assert.ok(fs.readFileSync(a).equals(before), 'the arena is untouched');
  });
}

test('names with / or NUL, ".", ".." and over 255 bytes are rejected through the API; nothing is created', async () => {
  const pfs = await mount({ arena: path.join(dir, 'names.arena'), create: { sizeBytes: 4 << 20 }, cmdline: '' });
  try {
    const v = pfs.volume;
    await pfs.writeFile('/ok', 'x');
    const ok = v.resolve('/ok');
    for (const name of ['a/b', 'a\0b', '\0', '/', '.', '..', 'x'.repeat(256)]) {
      const shown = JSON.stringify(name.slice(0, 12));
      for (const [call, r] of [
        ['mknod', v.mknod(1, name, 0o100644, 0, 0, 0)], ['mkdir', v.mkdir(1, name, 0o755, 0, 0)],
        ['symlink', v.symlink(1, name, 'target', 0, 0)], ['link', v.link(ok, 1, name)], ['rename', v.rename(1, 'ok', 1, name, 0)],
      ]) {
        assert.ok(typeof r === 'number' && r < 0, `${call}(${shown}) gives an errno, got ${JSON.stringify(r)}`);
      }
    }
    await assert.rejects(pfs.writeFile('/a\0b', 'x'), (e) => typeof e.code === 'string');
    await assert.rejects(pfs.mkdir('/d\0'), (e) => typeof e.code === 'string');
    assert.deepEqual(await pfs.readdir('/'), ['ok']);
    assert.equal(await pfs.readFile('/ok', 'utf8'), 'x');
  } finally { await pfs.unmount(); }
});

test('offsets and sizes are bounds-checked: EINVAL/EFBIG, never a throw or a crash', async () => {
  const pfs = await mount({ arena: path.join(dir, 'bounds.arena'), create: { sizeBytes: 4 << 20 }, cmdline: '' });
  try {
    const v = pfs.volume;
    await pfs.writeFile('/f', 'hello');
    const ino = v.resolve('/f');
    const data = Buffer.from('xyz');
    const bad = [-1, -4096, 1.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 53 + 2, 2 ** 63, Number.MAX_VALUE];
    const rejected = (r) => r === EINVAL || r === EFBIG;
    for (const x of bad) {
      assert.ok(rejected(v.write(ino, x, data)), `write at ${x}: ${v.write(ino, x, data)}`);
      const rr = v.read(ino, x, 10);
      assert.ok(rejected(rr) || (Buffer.isBuffer(rr) && rr.length === 0 && x > 0), `read at ${x}: ${rr}`);
      assert.ok(rejected(v.setattr(ino, { size: x })), `truncate to ${x}`);
      const rl = v.read(ino, 0, x);
      assert.ok(rejected(rl) || (Buffer.isBuffer(rl) && rl.length <= 5 && x > 0), `read of length ${x}: ${rl}`);
      assert.ok(typeof v.fallocate(ino, 0, x, 4096) === 'number' && v.fallocate(ino, 0, x, 4096) < 0, `fallocate at ${x}`);
      assert.ok(typeof v.fallocate(ino, 0, 0, x) === 'number' && v.fallocate(ino, 0, 0, x) < 0, `fallocate of length ${x}`);
    }
    // Writing up to just under 2^53 is allowed only if the result stays a safe integer.
    assert.ok(rejected(v.write(ino, 2 ** 53 - 2, data)), 'a write ending past 2^53');
    // Through the API: Node-style errors, never a crash.
    await assert.rejects(pfs.truncate('/f', -1), (e) => ['EINVAL', 'EFBIG', 'ERR_OUT_OF_RANGE'].includes(e.code));
    await assert.rejects(pfs.truncate('/f', 2 ** 60), (e) => ['EINVAL', 'EFBIG', 'ERR_OUT_OF_RANGE'].includes(e.code));
    const h = await pfs.open('/f', 'r+');
    try {
      await assert.rejects(h.write(data, 0, 3, 2 ** 53), (e) => ['EINVAL', 'EFBIG', 'ERR_OUT_OF_RANGE'].includes(e.code));
      await assert.rejects(h.truncate(1.5), (e) => ['EINVAL', 'EFBIG', 'ERR_OUT_OF_RANGE'].includes(e.code));
    } finally { await h.close(); }
    assert.equal(await pfs.readFile('/f', 'utf8'), 'hello', 'nothing rejected changed the file');
    assert.equal((await pfs.stat('/f')).size, 5);
  } finally { await pfs.unmount(); }
});

function nobody(cmd) {
  return spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', 'sh', '-c', cmd], { encoding: 'utf8', timeout: 20_000 });
}

test('the FUSE mount: default_permissions, other users kept out unless --allow-other', { timeout: 120_000 }, () => {
  const arena = path.join(dir, 'fuse.arena');
  fs.mkdirSync(mnt);
  fs.chmodSync(mnt, 0o755);
  for (const allow of [false, true]) {
    const r = pram(['mount', mnt, '--arena', arena, '--size', '16M', ...(allow ? ['--allow-other'] : [])], { env });
    assert.equal(r.code, 0, r.err);
    try {
      const opts = fs.readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt)?.split(' ')[3] ?? '';
      assert.match(opts, /(^|,)default_permissions(,|$)/, opts);
      assert.equal(/(^|,)allow_other(,|$)/.test(opts), allow, opts);
      fs.writeFileSync(path.join(mnt, 'public'), 'everyone may read this');
      fs.chmodSync(path.join(mnt, 'public'), 0o644);
      fs.writeFileSync(path.join(mnt, 'private'), 'secret');
      fs.chmodSync(path.join(mnt, 'private'), 0o600);
      fs.chmodSync(mnt, 0o755);
      const pub = nobody(`cat '${mnt}/public'`);
      if (!allow) {
        assert.notEqual(pub.status, 0, 'another user cannot read the mount without --allow-other');
        assert.match(pub.stderr, /Permission denied/);
      } else {
        assert.equal(pub.status, 0, pub.stderr);
        assert.equal(pub.stdout, 'everyone may read this');
        const priv = nobody(`cat '${mnt}/private'`);
        assert.notEqual(priv.status, 0, 'default_permissions: a 0600 file stays private with --allow-other');
        assert.match(priv.stderr, /Permission denied/);
        const w = nobody(`echo x > '${mnt}/public'`);
        assert.notEqual(w.status, 0, 'nor may it write a 0644 file of root');
      }
    } finally {
      const u = pram(['umount', mnt], { env });
      assert.equal(u.code, 0, u.err);
    }
  }
});

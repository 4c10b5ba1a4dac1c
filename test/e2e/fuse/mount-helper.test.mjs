// The type fuse.pram and its helpers with the real util-linux: `pram
// install-mount-helper` puts mount.fuse.pram and umount.fuse.pram in /sbin;
// then `mount -t fuse.pram ARENA DIR`, an fstab line (mount -T FILE DIR),
// findmnt -t and umount -t find it (type fuseblk.pram, or fuse.pram), and `umount DIR` returns only
// after the server has saved. Runs as root; /sbin is put back as it was.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { alive, forceUnmount, isMounted, serverPidIn, pram, sh } from './helpers.mjs';

const T = { timeout: 120_000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fuse-helper-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/fuse-helper-${process.pid}.pram`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run') };
const helpers = ['/sbin/mount.fuse.pram', '/sbin/umount.fuse.pram', '/sbin/umount.fuseblk.pram'];
const TYPES = 'fuseblk.pram,fuse.pram';   // fuseblk where the kernel takes it (sync reaches pram), else fuse
const saved = new Map();

const serverPid = () => serverPidIn(env.PRAM_RUN_DIR);

function run(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

describe('mount -t fuse.pram, fstab and umount through the helpers', () => {
  before(() => {
    for (const h of helpers) if (fs.existsSync(h)) saved.set(h, fs.readFileSync(h));
    fs.mkdirSync(mnt);
    const r = pram(['install-mount-helper']);
    assert.equal(r.code, 0, r.err);
    for (const h of helpers) assert.ok(fs.statSync(h).mode & 0o111, `${h} is executable`);
  });

  after(() => {
    if (isMounted(mnt)) pram(['umount', mnt], { env });
    forceUnmount(mnt);
    for (const h of helpers) {
      if (saved.has(h)) fs.writeFileSync(h, saved.get(h), { mode: 0o755 }); else fs.rmSync(h, { force: true });
    }
    fs.rmSync(arena, { force: true });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test('mount -t fuse.pram ARENA DIR: subtype pram, options passed on', T, () => {
    const r = run('mount', ['-t', 'fuse.pram', '-o', 'size=64M,allow_other,nosuid,nodev', arena, mnt]);
    assert.equal(r.code, 0, r.err);
    const [source, fstype, options] = sh(`findmnt -n -t ${TYPES} -o SOURCE,FSTYPE,OPTIONS '${mnt}'`).trim().split(/\s+/);
    assert.ok(TYPES.split(',').includes(fstype), fstype);
    if (fstype === 'fuse.pram') assert.equal(source, arena); else assert.match(source, /^\/dev\/loop\d+$/);
    for (const o of ['nosuid', 'nodev', 'allow_other', 'default_permissions']) assert.ok(options.split(',').includes(o), `${o} in ${options}`);
    assert.match(fs.readFileSync('/proc/mounts', 'utf8'), new RegExp(`^\\S+ ${mnt} (fuseblk|fuse)\\.pram `, 'm'));
    fs.writeFileSync(path.join(mnt, 'kept'), 'through the helper');
  });

  test('umount -t fuseblk.pram,fuse.pram finds it; the server saves and exits', T, async () => {
    const pid = serverPid();
    const r = run('umount', ['-t', TYPES, mnt]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!isMounted(mnt));
    // With -t, util-linux 2.38 unmounts without the umount.fuse.pram helper: the server saves after umount returns.
    for (let i = 0; i < 600 && alive(pid); i++) await new Promise((res) => setTimeout(res, 50));
    assert.ok(!alive(pid), 'the server exited after its final save');
  });

  test('an fstab line mounts it (mount DIR), mount -a does not mount it twice, umount DIR saves', T, () => {
    const fstab = path.join(tmp, 'fstab');
    fs.writeFileSync(fstab, `# a test fstab\n${arena}  ${mnt}  fuse.pram  defaults,allow_other,nofail,x-systemd.after=network.target  0 0\n`);
    let r = run('mount', ['-T', fstab, mnt]);
    assert.equal(r.code, 0, r.err);
    assert.equal(fs.readFileSync(path.join(mnt, 'kept'), 'utf8'), 'through the helper', 'saved by the umount before');
    r = run('mount', ['-T', fstab, '-a']);
    assert.equal(r.code, 0, r.err);
    assert.equal(sh(`findmnt -n -t ${TYPES} -o TARGET '${mnt}' | wc -l`).trim(), '1', 'mount -a: the helper saw it served already');
    const pid = serverPid();
    r = run('umount', [mnt]);
    assert.equal(r.code, 0, r.err);
    assert.ok(!alive(pid), 'umount DIR ran umount.fuse.pram, which is pram umount: it returned after the save');
  });

  test('a bad option fails the mount naming it, with mount(8)\'s usage code, and mounts nothing', T, () => {
    const r = run('mount', ['-t', 'fuse.pram', '-o', 'size=64M,bogus', arena, mnt]);
    assert.notEqual(r.code, 0);
    assert.match(r.err, /bogus/);
    assert.ok(!isMounted(mnt));
    const p = pram(['mount', mnt, '--arena', arena, '--mount-options', 'nosuid,fd=7'], { env });
    assert.equal(p.code, 2, 'a usage error');
    assert.match(p.err, /'fd=7' is not a kernel mount flag/);
    assert.ok(!isMounted(mnt));
  });
});

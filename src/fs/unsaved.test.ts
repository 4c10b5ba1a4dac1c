// Volume.unsaved(): the interval checkpoint skips the save when it is false, so
// every change a checkpoint would save must set it, and nothing else may.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S_IFREG } from './mode.js';
import { ino, ok, remount, simVolume } from './testkit.js';
import type { Volume } from './volume.js';

/** A saved volume with /f (data, xattr), /d and /l, remounted: nothing unsaved. */
function saved() {
  let s = simVolume();
  const f = ino(s.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
  assert.equal(s.vol.write(f, 0, Buffer.from('hello')), 5);
  assert.equal(s.vol.setxattr(f, 'user.a', Buffer.from('1'), 0), 0);
  ok(s.vol.mkdir(1, 'd', 0o755, 0, 0));
  ok(s.vol.symlink(1, 'l', 'f', 0, 0));
  s = remount(s);
  assert.equal(s.vol.unsaved(), false, 'a remounted, undamaged image has nothing unsaved');
  const at = (name: string) => ino(s.vol.lookup(1, name));
  return { vol: s.vol, f: at('f'), d: at('d'), l: at('l') };
}

test('a new volume (no checkpoint yet) is unsaved; a sync clears it', () => {
  const { vol } = simVolume();
  assert.equal(vol.unsaved(), true);
  assert.equal(vol.sync(), 0);
  assert.equal(vol.unsaved(), false);
});

test('every kind of change makes the volume unsaved', () => {
  const changes: [string, (v: Volume, n: ReturnType<typeof saved>) => unknown][] = [
    ['write', (v, n) => v.write(n.f, 1, Buffer.from('x'))],
    ['truncate', (v, n) => ok(v.setattr(n.f, { size: 1 }))],
    ['chmod', (v, n) => ok(v.setattr(n.f, { mode: 0o600 }))],
    ['chown', (v, n) => ok(v.setattr(n.f, { uid: 7 }))],
    ['utimes', (v, n) => ok(v.setattr(n.f, { mtimeNs: 5n }))],
    ['fallocate', (v, n) => v.fallocate(n.f, 0, 0, 8192)],
    ['setxattr', (v, n) => v.setxattr(n.f, 'user.b', Buffer.from('2'), 0)],
    ['removexattr', (v, n) => v.removexattr(n.f, 'user.a')],
    ['create', (v) => ok(v.mknod(1, 'g', S_IFREG | 0o644, 0, 0, 0))],
    ['mkdir', (v, n) => ok(v.mkdir(n.d, 'e', 0o755, 0, 0))],
    ['symlink', (v) => ok(v.symlink(1, 'm', 'x', 0, 0))],
    ['link', (v, n) => ok(v.link(n.f, n.d, 'hard'))],
    ['unlink', (v) => v.unlink(1, 'l')],
    ['rmdir', (v) => v.rmdir(1, 'd')],
    ['rename', (v) => v.rename(1, 'f', 1, 'f2', 0)],
  ];
  for (const [what, change] of changes) {
    const n = saved();
    const r = change(n.vol, n);
    if (typeof r === 'number') assert.ok(r >= 0, `${what} failed: ${r}`);
    assert.equal(n.vol.unsaved(), true, `${what} must make the volume unsaved`);
    assert.equal(n.vol.sync(), 0);
    assert.equal(n.vol.unsaved(), false, `${what}: saved again`);
  }
});

test('reads, lookups, listings and syncs leave the volume saved', () => {
  const n = saved();
  ok(n.vol.read(n.f, 0, 5));
  ok(n.vol.lookup(1, 'f'));
  ok(n.vol.getattr(n.f));
  ok(n.vol.readdir(1, 0, 100));
  ok(n.vol.getxattr(n.f, 'user.a'));
  ok(n.vol.readlink(n.l));
  assert.equal(n.vol.unsaved(), false);
});

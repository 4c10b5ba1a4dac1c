// ChangeTracker.size (Volume.pendingChanges): about the records the next commit
// writes — one per changed inode, name and distinct page — back to 0 after a commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S_IFREG } from './mode.js';
import { copyRam, dump, mountOn, newRam } from './livekit.js';

const PS = 4096;

test('pendingChanges counts changed inodes, names and distinct pages, and a commit clears it', () => {
  const vol = mountOn(newRam(2048));
  assert.equal(vol.sync(), 0);
  assert.equal(vol.pendingChanges(), 0);
  const a = vol.mknod(1, 'a', S_IFREG | 0o644, 0, 0, 0);
  if (typeof a === 'number') assert.fail(`mknod: ${a}`);
  const afterCreate = vol.pendingChanges();
  assert.ok(afterCreate >= 2, 'the new inode and its name (and the parent)');
  assert.equal(vol.write(a.ino, 0, Buffer.alloc(3 * PS, 1)), 3 * PS);
  assert.equal(vol.pendingChanges(), afterCreate + 3, 'three pages');
  assert.equal(vol.write(a.ino, PS, Buffer.alloc(PS, 2)), PS);
  assert.equal(vol.pendingChanges(), afterCreate + 3, 'a page written again is counted once');
  assert.equal(vol.sync(), 0);
  assert.equal(vol.pendingChanges(), 0);
  assert.equal(vol.write(a.ino, 5 * PS, Buffer.alloc(PS, 3)), PS);
  assert.equal(vol.pendingChanges(), 2, 'the inode (its size) and one page');
  assert.equal(vol.unmount(), 0);
  assert.equal(vol.pendingChanges(), 0, 'unmounted: nothing pending');
});

test('pendingChanges counts distinct pages across 32-page groups and files written in turn, and a commit logs every changed group', () => {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  const a = vol.mknod(1, 'a', S_IFREG | 0o644, 0, 0, 0), b = vol.mknod(1, 'b', S_IFREG | 0o644, 0, 0, 0);
  if (typeof a === 'number' || typeof b === 'number') assert.fail('mknod');
  assert.equal(vol.sync(), 0);
  // Pages 30..33 of a (two groups), then b, then a's page 31 again and page 64 (a third group), then b again.
  assert.equal(vol.write(a.ino, 30 * PS, Buffer.alloc(4 * PS, 1)), 4 * PS);
  assert.equal(vol.write(b.ino, 0, Buffer.alloc(2 * PS, 2)), 2 * PS);
  assert.equal(vol.write(a.ino, 31 * PS, Buffer.alloc(PS, 3)), PS);
  assert.equal(vol.write(a.ino, 64 * PS, Buffer.alloc(PS, 4)), PS);
  assert.equal(vol.write(b.ino, PS, Buffer.alloc(PS, 5)), PS);
  assert.equal(vol.pendingChanges(), 2 + 4 + 2 + 1, 'two inodes, 4 + 1 pages of a, 2 of b');
  assert.equal(vol.sync(), 0);
  assert.equal(vol.pendingChanges(), 0);
  const again = mountOn(copyRam(ram));   // the arena as that commit left it, mounted with full verification
  assert.deepEqual(dump(again), dump(vol), 'every changed group was logged (with checksums that verify)');
  assert.equal(again.unmount(), 0);
  assert.equal(vol.unmount(), 0);
});

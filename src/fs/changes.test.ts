// ChangeTracker.size (Volume.pendingChanges): about the records the next commit
// writes — one per changed inode, name and distinct page — back to 0 after a commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { S_IFREG } from './mode.js';
import { mountOn, newRam } from './livekit.js';

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

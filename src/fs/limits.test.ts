// Limits of the namespace: V8 caps a Map at 2^24 entries, and inodes (per
// mount) and names (per directory) live in Maps. At the cap a create, link or
// rename answers ENOSPC instead of throwing. 2^24 real inodes cost over a GB
// and minutes here, so the Maps report a full size instead.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ENOSPC } from '../format/errno.js';
import { MAP_ENTRIES_MAX } from './table.js';
import { ino, simVolume } from './testkit.js';

type Table = { inodes: Map<number, { dir?: { entries: Map<string, unknown> } }> };

function asFull(m: Map<unknown, unknown>): () => void {
  Object.defineProperty(m, 'size', { configurable: true, get: () => MAP_ENTRIES_MAX });
  return () => { delete (m as unknown as { size?: number }).size; };
}

test('at 2^24 - 1 inodes, or names in a directory: ENOSPC, not a RangeError', () => {
  const { vol } = simVolume();
  const d = ino(vol.mkdir(1, 'd', 0o755, 0, 0));
  const f = ino(vol.mknod(1, 'f', 0o100644, 0, 0, 0));
  const t = (vol as unknown as { t: Table }).t;

  let undo = asFull(t.inodes as Map<unknown, unknown>);
  assert.equal(vol.mknod(1, 'g', 0o100644, 0, 0, 0), -ENOSPC);
  assert.equal(vol.mkdir(1, 'e', 0o755, 0, 0), -ENOSPC);
  undo();

  undo = asFull(t.inodes.get(d)!.dir!.entries as Map<unknown, unknown>);
  assert.equal(vol.mknod(d, 'x', 0o100644, 0, 0, 0), -ENOSPC);
  assert.equal(vol.link(f, d, 'x'), -ENOSPC);
  assert.equal(vol.rename(1, 'f', d, 'x', 0), -ENOSPC);
  assert.ok(ino(vol.mknod(1, 'g', 0o100644, 0, 0, 0)) > 0, 'other directories still take names');
  undo();
  assert.equal(vol.rename(1, 'f', d, 'x', 0), 0);
  assert.ok(ino(vol.link(f, d, 'y')) === f);
});

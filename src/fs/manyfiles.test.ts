// A mount keeps only the tree it serves: per loaded node, the inode, its name
// and what its content needs (issue #13: a 1 000 000-file image died of the JS
// heap because the load kept every image, record and a closure per node). The
// bound is generous (about twice what a node costs now) so it holds on any
// machine, and tight enough that keeping the images or records again fails it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { SimRam } from '../mem/simram.js';
import { mountOn, newRam } from './livekit.js';
import type { Volume } from './volume.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const FILES = 20_000;
/** Heap bytes one loaded 100-byte file may keep (about 530 measured; the leak this guards against kept over 2 000). */
const BYTES_PER_NODE_MAX = 1100;

/** An image of FILES files of 100 bytes, 5 000 per directory (built in a function: nothing of it stays reachable). */
function build(): SimRam {
  const ram = newRam(16384);
  const vol = mountOn(ram, { verify: 'lazy' });
  const body = new Uint8Array(100).fill(7);
  let dir = 0;
  for (let i = 0; i < FILES; i++) {
    if (i % 5000 === 0) { const d = vol.mkdir(1, `d${i / 5000}`, 0o755, 0, 0); if (typeof d === 'number') assert.fail(`mkdir: ${d}`); dir = d.ino; }
    const f = vol.mknod(dir, `s${i}`, 0o100644, 0, 0, 0);
    if (typeof f === 'number') assert.fail(`mknod s${i}: ${f}`);
    assert.equal(vol.write(f.ino, 0, body), 100);
  }
  assert.equal(vol.sync(), 0);
  vol.detach();
  return ram;
}

/** A lazy mount loads a directory when first listed: the measure is of the whole tree loaded (in a function of its own: nothing of the walk stays in a register). */
function listAll(v: Volume): void {
  for (const e of v.readdir(1, 0, 1 << 20) as { ino: number; name: string }[]) if (e.name !== '.' && e.name !== '..') v.readdir(e.ino, 0, 1);
}

/**
 * Heap bytes per file a mount keeps: measured mounted, then again once the volume is
 * dropped (a dead volume a register still holds would otherwise blur a before/after).
 */
function perFile(ram: SimRam, verify: 'lazy' | 'full'): number {
  let v: Volume | null = mountOn(ram, { verify });
  listAll(v);
  gc();
  const mounted = process.memoryUsage().heapUsed;
  assert.equal(v.losses.length, 0, `${verify}: a clean image loads without loss`);
  const last = v.lookup((v.lookup(1, 'd3') as { ino: number }).ino, `s${FILES - 1}`);
  assert.ok(typeof last !== 'number' && last.size === 100, `${verify}: the last file is there`);
  v.detach();
  v = null;
  gc();
  return (mounted - process.memoryUsage().heapUsed) / FILES;
}

test(`a mount of ${FILES} small files keeps at most ${BYTES_PER_NODE_MAX} heap bytes per file (lazy and full)`, (t) => {
  const ram = build();
  for (const verify of ['lazy', 'full'] as const) {
    const bytes = perFile(ram, verify);
    t.diagnostic(`${verify}: ${bytes.toFixed(0)} heap bytes per loaded file`);
    assert.ok(bytes > 100, `${verify}: the measure sees the tree (${bytes.toFixed(0)} bytes per file)`);
    assert.ok(bytes <= BYTES_PER_NODE_MAX, `${verify}: ${bytes.toFixed(0)} heap bytes per loaded file, at most ${BYTES_PER_NODE_MAX} expected`);
  }
});

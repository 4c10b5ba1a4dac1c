// What the atimes tests (atimes.test.ts: ATIMES records, atimespages.test.ts: ATIMES_PAGES)
// share: one clock across a test's mounts (relatime compares with the times saved), a tree
// of directories of small files, every node's attributes found by walking it (getattr and
// readdir change no atime), every file read whole, and the tail's records.

import assert from 'node:assert/strict';
import type { SimRam } from '../mem/simram.js';
import { RecordType } from '../format/v3.js';
import { Volume } from './volume.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { logRecords, newRam } from './livekit.js';

let now = 1_700_000_000_000_000_000n;
const clock = (): bigint => (now += 1000n);

/** The arena mounted with the tests' one clock (time goes on across remounts). */
export function mountOn(ram: SimRam, verify: 'full' | 'lazy' = 'full'): Volume {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  return Volume.mount({ mem: ram, handoff, clock, keepMemOpen: true, verify });
}

/** `dirs` directories (every third in the root, the rest nested) of `files` files each, file f of `sizeOf(f)` bytes; unmounted (its log compacted with its index). */
export function atimesTree(dirs: number, files: number, sizeOf: (f: number) => number): SimRam {
  const ram = newRam(4096);
  const vol = mountOn(ram);
  let parent = 1;
  for (let d = 0; d < dirs; d++) {
    const dir = (vol.mkdir(d % 3 === 0 ? 1 : parent, `d${d}`, 0o755, 0, 0) as { ino: number }).ino;
    parent = dir;
    for (let f = 0; f < files; f++) {
      const a = vol.mknod(dir, `f${f}`, 0o100644, 0, 0, 0) as { ino: number };
      assert.equal(vol.write(a.ino, 0, Buffer.alloc(sizeOf(f), d * 16 + f)), sizeOf(f));
    }
  }
  assert.equal(vol.unmount(), 0);
  return ram;
}

/** Every node reached from the root: ino -> its attributes. */
export function walk(vol: Volume): Map<number, { atimeNs: bigint; mode: number; size: number }> {
  const out = new Map<number, { atimeNs: bigint; mode: number; size: number }>();
  const go = (dir: number): void => {
    const list = vol.readdir(dir, 0, 1 << 20);
    if (typeof list === 'number') throw new Error(`readdir ${dir}: ${list}`);
    for (const e of list) {
      if (e.name === '.' || e.name === '..') continue;
      const a = vol.getattr(e.ino);
      if (typeof a === 'number') throw new Error(`getattr ${e.ino}: ${a}`);
      out.set(e.ino, { atimeNs: a.atimeNs, mode: a.mode, size: a.size });
      if ((a.mode & 0o170000) === 0o040000) go(e.ino);
    }
  };
  go(1);
  return out;
}

/** Every node's atime. */
export const atimes = (vol: Volume): Map<number, bigint> => new Map([...walk(vol)].map(([ino, a]) => [ino, a.atimeNs]));

/** Reads every file whole. */
export function readAll(vol: Volume): void {
  for (const [ino, a] of walk(vol)) if ((a.mode & 0o170000) === 0o100000) assert.equal((vol.read(ino, 0, a.size) as Buffer).length, a.size);
}

/** The records after the compaction's RUNS (the tail). */
export function tailRecordsOf(ram: SimRam): ReturnType<typeof logRecords> {
  const recs = logRecords(ram), runs = recs.map((r) => r.type).lastIndexOf(RecordType.Runs);
  assert.ok(runs >= 0, 'the log has its index and RUNS');
  return recs.slice(runs + 1);
}

// File data through the arena's fd (pwrite/pread) instead of the mapping: the
// same bytes as on simulated RAM (which has no fd, so takes the mapping), and
// no data page mapped writable into the process by writes, reads, settling,
// syncs or lazy verification (the segments' Rss stays flat: a first touch costs
// more than the copy on some hypervisors); reads copy out of the one read-only
// mapping whose page tables a thread fills ahead of them (mem/ readsMapped).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { Arena } from '../mem/arena.js';
import { SimRam } from '../mem/simram.js';
import type { PhysMem } from '../mem/physmem.js';
import { ArenaHeaderHandoff, MemoryHandoff, type Handoff } from '../pram/handoff.js';
import { Prng } from '../machine/prng.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, S_IFREG } from './mode.js';
import { ino, ok, stepClock } from './testkit.js';
import { Volume } from './volume.js';

const PS = 4096;
let made = 0;

function arenaVolume(pages: number): { vol: Volume; mem: Arena; name: string; handoff: Handoff } {
  const name = `pram-fdpath-${process.pid}-${made++}`;
  const mem = Arena.memfd(name, pages * PS, { pageSize: PS, prefault: false });
  const handoff = ArenaHeaderHandoff.format(mem);
  return { vol: Volume.mount({ mem, handoff, clock: stepClock(), keepMemOpen: true }), mem, name, handoff };
}

/** Rss (bytes) of this process's writable mappings of the memfd called `name`: the segments (the reads' mapping is read-only). */
function mappedRss(name: string): number {
  let rss = 0, mine = false;
  for (const line of fs.readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) {
      mine = (line.includes(`/memfd:${name} `) || line.endsWith(`/memfd:${name} (deleted)`)) && line.split(' ')[1]!.startsWith('rw');
    } else if (mine && line.startsWith('Rss:')) rss += Number(/(\d+)/.exec(line)![1]) * 1024;
  }
  return rss;
}

function settle(vol: Volume): void {
  for (let i = 0; i < 1000 && vol.background(50); i++) { /* until nothing is left */ }
}

test('random writes, truncates and punched holes read back the same from an arena (fd) as from simulated RAM (mapping)', () => {
  const seed = Number(process.env.PRAM_SEED ?? Date.now() % 1e9);
  const rng = new Prng(seed);
  const a = arenaVolume(2048);
  const sim: { vol: Volume; mem: PhysMem } = (() => {
    const mem = new SimRam({ pageSize: PS, pageCount: 2048 });
    const handoff = new MemoryHandoff();
    return { vol: Volume.mount({ mem, handoff, clock: stepClock(), keepMemOpen: true }), mem };
  })();
  const MAX = 96 * PS;
  const model = [Buffer.alloc(0), Buffer.alloc(0)];
  const files = [0, 1].map((k) => [a, sim].map((s) => ino(s.vol.mknod(1, `f${k}`, S_IFREG | 0o644, 0, 0, 0))));
  try {
    for (let step = 0; step < 400; step++) {
      const k = rng.below(2), op = rng.below(10);
      const off = rng.below(MAX), len = 1 + rng.below(rng.below(4) === 0 ? 40 * PS : 3 * PS);
      if (op < 6) {
        const data = Buffer.alloc(Math.min(len, MAX - off));
        for (let i = 0; i < data.length; i++) data[i] = (step * 31 + i * 7) & 0xff;
        if (data.length === 0) continue;
        for (const [j, s] of [a, sim].entries()) assert.equal(s.vol.write(files[k]![j]!, off, data), data.length);
        if (off + data.length > model[k]!.length) model[k] = Buffer.concat([model[k]!, Buffer.alloc(off + data.length - model[k]!.length)]);
        data.copy(model[k]!, off);
      } else if (op < 8) {
        const size = rng.below(MAX);
        for (const [j, s] of [a, sim].entries()) ok(s.vol.setattr(files[k]![j]!, { size }));
        model[k] = size <= model[k]!.length ? model[k]!.subarray(0, size) : Buffer.concat([model[k]!, Buffer.alloc(size - model[k]!.length)]);
        model[k] = Buffer.from(model[k]!);
      } else {
        for (const [j, s] of [a, sim].entries()) assert.equal(s.vol.fallocate(files[k]![j]!, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len), 0);
        model[k]!.fill(0, Math.min(off, model[k]!.length), Math.min(off + len, model[k]!.length));
      }
      if (step % 50 === 49) settle(a.vol);
      if (step % 100 === 99) assert.equal(a.vol.sync(), 0);
      for (const [j, s] of [a, sim].entries()) {
        const got = ok(s.vol.read(files[k]![j]!, 0, MAX + PS));
        assert.ok(got.equals(model[k]!), `seed ${seed} step ${step}: ${j === 0 ? 'arena' : 'simulated RAM'} differs from the model`);
      }
    }
  } finally {
    a.vol.detach();
    a.mem.close();
  }
});

test('a freed page taken again reads as zeros where a partial write did not cover it (the fd path zeroes it too)', () => {
  const a = arenaVolume(256);
  try {
    const f = ino(a.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
    ok(a.vol.write(f, 0, Buffer.alloc(64 * PS, 0xff)));
    assert.equal(a.vol.unlink(1, 'f'), 0);
    a.vol.forget(f, 1);
    const g = ino(a.vol.mknod(1, 'g', S_IFREG | 0o644, 0, 0, 0));
    for (let p = 0; p < 64; p += 2) ok(a.vol.write(g, p * PS + 100, Buffer.from('abc')));
    const got = ok(a.vol.read(g, 0, 64 * PS));
    const want = Buffer.alloc(62 * PS + 103);
    for (let p = 0; p < 64; p += 2) want.write('abc', p * PS + 100);
    assert.ok(got.equals(want), 'stale bytes of the freed file showed through');
  } finally {
    a.vol.detach();
    a.mem.close();
  }
});

test('8 MiB written, settled, synced and read back map no data page writable into the process, reads copying out of the read-only reads mapping; a lazy remount reads and verifies the same way', () => {
  const a = arenaVolume(4096);
  try {
    const f = ino(a.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
    const data = Buffer.alloc(8 << 20);
    for (let i = 0; i < data.length; i += 512) data.writeUInt32LE(i * 2654435761 >>> 0, i);
    assert.equal(a.mem.readsMapped, true, 'a memfd arena reads through its mapping');
    const before = mappedRss(a.name);
    for (let at = 0; at < data.length; at += 1 << 20) assert.equal(a.vol.write(f, at, data.subarray(at, at + (1 << 20))), 1 << 20);
    settle(a.vol);
    assert.equal(a.vol.fsync(f), 0);
    assert.ok(ok(a.vol.read(f, 0, data.length)).equals(data));
    const grown = mappedRss(a.name) - before;
    assert.ok(grown < 1 << 20, `the arena's segments grew by ${grown} bytes of Rss for 8 MiB of data`);
    assert.equal(a.vol.unmount(), 0);

    // The same arena, mounted lazily: its data pages are still unmapped in this process (asserted above).
    const v = Volume.mount({ mem: a.mem, handoff: a.handoff, clock: stepClock(), keepMemOpen: true, verify: 'lazy' });
    const file = ok(v.resolve('/f'));      // the root's group loads on this first lookup
    assert.ok(v.pram!.stats().unverified > 0, 'lazy: pages left to verify on first read');
    const start = mappedRss(a.name);
    const got = ok(v.read(file, 0, data.length));
    assert.ok(got.equals(data));
    assert.equal(v.pram!.stats().unverified, 0, 'the read verified every page it returned');
    const grownLazy = mappedRss(a.name) - start;
    assert.ok(grownLazy < 1 << 20, `a lazy read mapped ${grownLazy} bytes of the arena writable`);
    v.detach();
  } finally {
    a.mem.close();
  }
});

test('a lazy read through the fd checks the bytes it copied: a flipped bit ends the read there and leaves none of the damaged bytes in the target', () => {
  const a = arenaVolume(256);
  try {
    const f = ino(a.vol.mknod(1, 'f', S_IFREG | 0o644, 0, 0, 0));
    const data = Buffer.alloc(8 * PS);
    for (let i = 0; i < data.length; i++) data[i] = 1 + (i % 251);
    ok(a.vol.write(f, 0, data));
    const pfn = a.vol.images().find((i) => i.ino === f)!.pages.get(5);
    assert.equal(a.vol.unmount(), 0);
    const flip = Buffer.from([data[5 * PS + 9]! ^ 0x40]);
    assert.equal(a.mem.writeAt(pfn * PS + 9, flip, 0, 1), true);
    const v = Volume.mount({ mem: a.mem, handoff: a.handoff, clock: stepClock(), keepMemOpen: true, verify: 'lazy' });
    const target = Buffer.alloc(8 * PS, 0xaa);
    const n = v.readInto(f, 0, target, 0, 8 * PS);
    assert.ok(n >= 0 && n <= 5 * PS, `read ${n} bytes: past the damaged page`);
    assert.ok(target.subarray(0, n).equals(data.subarray(0, n)));
    for (let i = n; i < target.length; i++) assert.ok(target[i] === 0 || target[i] === 0xaa, `byte ${i} of the target holds arena bytes past the read's end`);
    assert.ok(v.losses.some((l) => l.path === '/f'), 'the damage is reported');
    v.detach();
  } finally {
    a.mem.close();
  }
});

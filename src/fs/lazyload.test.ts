// A lazy mount led by the compaction's index (v3 minor 3; pram/lazy.ts, fs/lazytree.ts):
// a tree loaded a directory at a time equals the full replay (seeded trees with hard links
// across directories, renames, unlinks), statfs and the space model agree, the allocator
// hands out no page the image holds (writes after a lazy mount, then a full replay), a log
// with records after its index is replayed whole, and a damaged group is a loss naming
// its directory when it is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RecordType } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import type { Volume } from './volume.js';
import { copyRam, dump, lazyEqualsFull, logByte, logRecords, mountOn, PS, randomOp, randomTree } from './livekit.js';

const lazily = (vol: Volume): boolean => vol.pram?.lazyLog !== null && vol.pram?.lazyLog !== undefined;


/** The seeded tree, compacted whole (the first commit of a fresh arena) and unmounted. */
function compacted(seed: number): SimRam {
  const { ram, vol } = randomTree(seed, 250);
  assert.equal(vol.sync(), 0);
  vol.detach();
  return ram;
}

test('a lazy mount loads no group; walking it loads the rest and equals the full replay (seeded trees, hard links, renames, unlinks)', () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    lazyEqualsFull(compacted(seed), `seed ${seed}`, (lazy) => assert.ok(lazily(lazy), `seed ${seed}: booted lazily`));
  }
});

test('a lazy mount loads no group, the root\'s neither: the first request loads it, a node of the root asked for by number (as a remount\'s caller may) included', () => {
  const ram = compacted(7);
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const entries = full.readdir(1, 0, 1 << 20) as { name: string; ino: number; type: number }[];
  const file = entries.find((e) => e.type === 8 && (full.getattr(e.ino) as { nlink: number }).nlink === 1);   // a hard link loads its other directories too
  assert.ok(file, 'the seeded root holds a file of one name');
  const lazy = mountOn(ram, { verify: 'lazy' });
  const log = lazy.pram!.lazyLog!;
  assert.ok(log, 'booted lazily');
  assert.deepEqual([...log.dirs()].filter((d) => log.isLoaded(d)), [], 'no group loaded at mount');
  lazy.background(50);
  assert.equal(log.isLoaded(1), false, 'nor by a background slice (it would stall the loop for the whole group)');
  assert.deepEqual(lazy.getattr(file.ino), full.getattr(file.ino), 'the root\'s file by number, before any path');
  assert.ok(log.isLoaded(1), 'that loaded the root\'s group (and those of the links homed in it)');
  assert.deepEqual(dump(lazy), dump(full));
  assert.deepEqual(lazy.losses, []);
  full.detach();
  lazy.detach();
});

test('a deep directory first: its parents load before it; writes after a lazy mount take no page the image holds (a full replay then checks every page)', () => {
  for (const seed of [11, 12, 13]) {
    const ram = compacted(seed);
    const oracle = mountOn(copyRam(ram), { verify: 'full' });
    const lazy = mountOn(ram, { verify: 'lazy' });
    assert.ok(lazily(lazy));
    // The deepest directory by path, through lookups only.
    const path = ['d0', 'd1', 'd2', 'd3'];
    const walk = (v: Volume) => path.reduce((dir, name) => (v.lookup(dir, name) as { ino: number }).ino, 1);
    const deep = walk(lazy), deepO = walk(oracle);
    for (const [v, dir] of [[lazy, deep], [oracle, deepO]] as const) {
      // Creates and appends in the deep directory, a rename and a link across directories, an unlink: the same on both.
      const made = v.mknod(dir, 'new', 0o100644, 0, 0, 0) as { ino: number };
      assert.equal(v.write(made.ino, 0, Buffer.alloc(5 * PS + 17, seed)), 5 * PS + 17);
      assert.equal(typeof v.mkdir(dir, 'sub', 0o755, 0, 0), 'object');
      assert.equal(v.rename(dir, 'new', 1, 'moved', 0), 0);
      assert.equal(typeof v.link(made.ino, dir, 'again'), 'object');
      const d0 = (v.lookup(1, 'd0') as { ino: number }).ino;
      const victim = (v.readdir(d0, 0, 1 << 20) as { name: string; type: number }[]).find((e) => e.type === 8);
      if (victim) assert.equal(v.unlink(d0, victim.name), 0);
      assert.equal(v.write(made.ino, 5 * PS + 17, Buffer.alloc(3 * PS, 9)), 3 * PS);
      assert.equal(v.sync(), 0);
    }
    const want = dump(oracle);
    assert.deepEqual(dump(lazy), want, `seed ${seed}: after writes`);
    lazy.detach();
    const back = mountOn(ram, { verify: 'full' });
    assert.deepEqual(back.losses, [], `seed ${seed}: every page verifies (none was given out twice)`);
    assert.deepEqual(dump(back), want, `seed ${seed}: the full replay of what the lazy mount wrote`);
    back.detach();
    oracle.detach();
  }
});

test('records after the index (appended commits) of more bytes than half the log: led by the index all the same (never more to read than the whole replay), equal to it (lazytail.test.ts: a smaller tail)', () => {
  const { ram, vol } = randomTree(21, 200);
  assert.equal(vol.sync(), 0);
  const r = new Prng(22);
  for (let i = 0; i < 200; i++) randomOp(vol, r);
  assert.equal(vol.sync(), 0);
  const want = dump(vol);
  vol.detach();
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.equal(lazily(lazy), true);
  const ll = lazy.pram!.lazyLog!;
  assert.ok((ll.cursor.bytes - ll.indexEnd) * 2 > ll.cursor.bytes, 'the tail is more than half the log');
  assert.deepEqual(dump(lazy), want);
  assert.deepEqual(lazy.losses, []);
  lazy.detach();
});

test('a compaction after a lazy mount loads every group first and writes the whole tree', () => {
  const ram = compacted(31);
  const oracle = mountOn(copyRam(ram), { verify: 'full' });
  const want = dump(oracle);
  const lazy = mountOn(ram, { verify: 'lazy' });
  (lazy as unknown as { checkpoints: { wholeNext: boolean } }).checkpoints.wholeNext = true;
  assert.equal(lazy.sync(), 0);
  lazy.detach();
  const back = mountOn(ram, { verify: 'lazy' });
  assert.ok(lazily(back), 'the new compaction is indexed too');
  assert.deepEqual(dump(back), want);
  assert.deepEqual(back.losses, []);
  back.detach();
  oracle.detach();
});

test('a damaged record in a group is found when its directory loads: reported as a replay reports it, the rest of the group loads, its node goes to /lost+found', () => {
  const ram = compacted(41);
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const want = dump(full);
  const d0 = (full.lookup(1, 'd0') as { ino: number }).ino;
  full.detach();
  // The NAME records of d0's group (parent d0): flip a bit in the first one's name.
  const names = logRecords(ram).filter((x) => x.type === RecordType.Name);
  const at = names.find((x) => { const p = logByte(ram, x, 16); return ram.page(p.pfn).readUInt32LE(p.off) === d0; })!;
  const p = logByte(ram, at, 16 + 24);
  const lostName = [...Array(ram.page(logByte(ram, at, 16 + 16).pfn).readUInt32LE(logByte(ram, at, 16 + 16).off)).keys()]
    .map((k) => { const b = logByte(ram, at, 16 + 24 + k); return String.fromCharCode(ram.page(b.pfn)[b.off]!); }).join('');
  ram.page(p.pfn)[p.off]! ^= 0x10;
  const lazy = mountOn(ram, { verify: 'lazy' });
  assert.ok(lazily(lazy));
  assert.deepEqual(lazy.losses, [], 'nothing read yet, nothing lost yet');
  dump(lazy);                                     // the walk finds the damage (and /lost+found is made after the root was listed)
  const got = dump(lazy);
  const losses = lazy.losses as { path: string | null; what: string }[];
  assert.ok(losses.some((l) => /^log record at pfn:[0-9a-f]+ offset \d+ \(NAME in the group of directory \/d0\) failed crc32c/.test(l.what)), JSON.stringify(losses));
  // Only what the lost name held moved: to /lost+found (a loss names where); everything else is where it was, as it was.
  const gone = `/d0/${lostName}`;
  assert.ok(want.has(gone), `the damaged NAME was ${gone}`);
  const strays = losses.filter((l) => l.path?.startsWith('/lost+found/'));
  assert.equal(strays.length, 1, JSON.stringify(losses));
  const stray = strays[0]!.path!;
  for (const [path, v] of want) {
    if (path === '/d0' || path === gone || path.startsWith(`${gone}/`)) continue;
    if (got.has(path)) assert.equal(got.get(path)!.replace(/ n\d+ /, ' '), v.replace(/ n\d+ /, ' '), path);   // a link count may count the lost name
    else assert.fail(`${path} is gone`);
  }
  assert.equal(got.get(stray)!.replace(/ n\d+ /, ' '), want.get(gone)!.replace(/ n\d+ /, ' '), 'the stray is the node the lost name named');
  for (const [path, v] of want) if (path.startsWith(`${gone}/`)) assert.equal(got.get(path.replace(gone, stray)), v, `${path}, under the stray`);
  // The next commit writes a fresh log of what loaded: it mounts without loss.
  assert.equal(lazy.sync(), 0);
  lazy.detach();
  const back = mountOn(ram, { verify: 'lazy' });
  assert.deepEqual(back.losses, []);
  assert.deepEqual(dump(back), got);
  back.detach();
});

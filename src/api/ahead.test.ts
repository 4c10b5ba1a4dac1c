// The thread that checks a lazy mount's pages ahead of its readers
// (native/ahead.c, pram/verify.ts): with it, a flipped bit still reads EIO at
// exactly its page (or run) and is reported once; pages written after the
// mount, while it runs, are never lost; it stops at unmount and never keeps a
// process alive; PRAM_VERIFY_AHEAD=0 turns it off; without PRAM_VERIFY_AHEAD
// it runs from 512 MiB of data on (these images are smaller: =1 here) when the
// reads are preads, and beside reads through the arena's mapping only once
// that mapping is given up.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { spawnSync } from 'node:child_process';
import { mount } from './index.js';
import { Prng } from '../machine/prng.js';
import { aheadThreads } from '../mem/native.js';
import { flipBitInPage, oneLoss, pagesOf, randomBytes, withFlipped } from './testkit.js';

const PS = 4096, MIB = 1 << 20;
process.env['PRAM_VERIFY_AHEAD'] = '1';
const SIZE = 24 * MIB;
const quiet = { cmdline: '', checkpointIntervalMs: 0, systemd: false, warn: () => {} };
type Pfs = Awaited<ReturnType<typeof mount>>;

const content = randomBytes;

/** The thread's verdicts once it has settled every block (it runs on its own: polled, 20 s at most). */
async function settled(pfs: Pfs): Promise<number[]> {
  for (let t = 0; t < 2000; t++) {
    const v = pfs.volume.pram!.aheadVerdicts();
    assert.ok(v, 'a checking thread runs after a lazy mount');
    if (v[0] === 0 && v[1] === 0 && !v[5]) return v;   // none free, busy, or dropped (to be checked again)
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail('the checking thread settles every block');
}

const pages = pagesOf;

/** Every page of /f but `page` reads as written, `page` reads EIO. */
async function allButFlipped(pfs: Pfs, data: Buffer, size: number, page: number): Promise<void> {
  const all = await pages(pfs, '/f', size);
  for (const [i, p] of all.entries()) if (i !== page) assert.ok(typeof p !== 'string' && p.equals(data.subarray(i * PS, (i + 1) * PS)), `page ${i} reads as written`);
  assert.equal(all[page], 'EIO', 'the flipped page reads EIO');
}

for (const extents of [false, true]) test(`checked ahead (${extents ? 'runs of 32 pages' : 'a MAP record per page'}): a flipped bit reads EIO for exactly its ${extents ? 'run' : 'page'}, reported once, every other page as written`, async () => {
  await withFlipped('ahead-api-flip', Number(process.env.SEED ?? 0xa4ead), { size: SIZE, arenaBytes: 64 * MIB, extents, pick: (r) => r.below(SIZE / PS) }, async (pfs, data, page) => {
    await pfs.stat('/f');          // the root's group loads on the first request: the thread gets the file's sums
    const v = await settled(pfs);
    assert.ok(v[2]! > 0, `blocks found good: ${v}`);
    assert.ok(v[3]! >= 1 && v[3]! <= 2, `the damaged block differs (a run may reach into the next): ${v}`);
    assert.equal(pfs.losses.length, 0, 'the thread reports nothing itself');
    const all = await pages(pfs, '/f', SIZE);
    const bad = all.flatMap((p, i) => (typeof p === 'string' ? [i] : []));
    for (const [i, p] of all.entries()) if (typeof p !== 'string') assert.ok(p.equals(data.subarray(i * PS, (i + 1) * PS)), `page ${i} reads as written`);
    assert.ok(bad.includes(page), 'the flipped page reads EIO');
    if (extents) assert.ok(bad.length > 1 && bad.length <= 32 && bad.at(-1)! - bad[0]! === bad.length - 1, `one run fails: ${bad}`);
    else assert.deepEqual(bad, [page], 'the flipped page alone fails');
    for (const i of bad) assert.equal(all[i], 'EIO');
    oneLoss(pfs, '/f', { start: bad[0]! * PS, end: (bad.at(-1)! + 1) * PS });
    assert.equal(pfs.volume.pram!.stats().unverified, 0, 'every page read is verified');
  });
});

test('a reader that reads ahead of the thread: the thread leaves it the blocks after its own and goes on far ahead (SKIP_BLOCKS), its last pass checks what no reader took; a flipped bit past the reader\'s block still reads EIO at its page, reported once', async () => {
  const size = 64 * MIB, start = 24 * MIB;
  // The reader starts at 24 MiB, the flip lies 8-32 MiB past it: blocks the thread skips once it meets the reader there.
  await withFlipped('ahead-api-skip', Number(process.env.SEED ?? 0x5c1b), { size, arenaBytes: 96 * MIB, pick: (r) => (start + 8 * MIB) / PS + r.below(24 * MIB / PS) }, async (pfs, data, page) => {
    {
      await using h = await pfs.open('/f', 'r');
      const b = Buffer.alloc(MIB);
      for (let off = start; off < start + 4 * MIB; off += MIB) {
        assert.equal((await h.read(b, 0, MIB, off)).bytesRead, MIB);
        assert.ok(b.equals(data.subarray(off, off + MIB)), `the bytes at ${off} read as written`);
      }
    }
    const v = await settled(pfs);
    assert.ok(v[2]! > 0 && v[3]! === 1, `the thread found blocks good and the damaged one differing, in a pass or the last: ${v}`);
    assert.equal(pfs.losses.length, 0, 'nothing reported before the damaged page is read');
    await allButFlipped(pfs, data, size, page);
    oneLoss(pfs, '/f', { start: page * PS, end: (page + 1) * PS });
    assert.equal(pfs.volume.pram!.stats().unverified, 0, 'every page read is verified');
  });
});

test('a reader in blocks the thread has not reached (lone pages, checked by the reader a block\'s worth at a time): a 1 MiB read stops short before a flipped page, the page reads EIO, reported once; every other page as written', async () => {
  const size = 64 * MIB, start = size - 8 * MIB;
  // The reader starts in the file's last 8 MiB, the thread at its first block: the reader's blocks are its own.
  // The flip lies inside the second 1 MiB read, not on a read's first page.
  await withFlipped('ahead-api-reader', Number(process.env.SEED ?? 0x1e7a1), { size, arenaBytes: 96 * MIB, pick: (r) => (start + MIB) / PS + 1 + r.below(MIB / PS - 1) }, async (pfs, data, page) => {
    {
      await using h = await pfs.open('/f', 'r');
      const b = Buffer.alloc(MIB);
      for (let off = start; off < size;) {
        let n: number;
        try {
          n = (await h.read(b, 0, MIB, off)).bytesRead;
        } catch (e) {
          assert.equal((e as { code: string }).code, 'EIO');
          assert.equal(off, page * PS, 'EIO only at the flipped page');
          off += PS;
          continue;
        }
        assert.equal(n, off < page * PS && page * PS < off + MIB ? page * PS - off : Math.min(MIB, size - off), `the read at ${off} stops short before the flipped page only`);
        assert.ok(b.subarray(0, n).equals(data.subarray(off, off + n)), `the bytes at ${off} read as written`);
        off += n;
      }
    }
    const v = await settled(pfs);
    assert.ok(v[4]! >= 4, `the reader checked the blocks it read itself: ${v}`);
    oneLoss(pfs, '/f', { start: page * PS, end: (page + 1) * PS });
    await allButFlipped(pfs, data, size, page);
    assert.equal(pfs.losses.length, 1, 'reported once');
  });
});

for (const extents of [false, true]) test(`checked ahead (${extents ? 'runs' : 'lone pages'}): pages written while the thread runs (whole pages, parts of pages, into unverified runs) are never lost, and read back as written after a remount`, async () => {
  const seed = Number(process.env.SEED ?? 0x3417e);
  const r = new Prng(seed);
  const arena = `/dev/shm/ahead-api-write-${process.pid}.pram`;
  try {
    const data = content(SIZE, r);
    const w = await mount({ arena, extents, create: { sizeBytes: 64 * MIB }, ...quiet });
    await w.writeFile('/f', data);
    await w.unmount();

    for (let round = 0; round < 2; round++) {
      const pfs = await mount({ arena, verify: 'lazy', extents, ...quiet });
      try {
        // Right after the mount, as the thread starts: writes spread over the file, some whole pages, some not.
        await using h = await pfs.open('/f', 'r+');
        for (let k = 0; k < 64; k++) {
          const whole = r.below(2) === 0;
          const off = whole ? r.below(SIZE / PS) * PS : r.below(SIZE - 100);
          const len = whole ? PS * (1 + r.below(3)) : 1 + r.below(100);
          const bytes = content(Math.min(len, SIZE - off) + 3 & ~3, r).subarray(0, Math.min(len, SIZE - off));
          await h.write(bytes, 0, bytes.length, off);
          bytes.copy(data, off);
        }
        await settled(pfs);
        const all = await pages(pfs, '/f', SIZE);
        for (const [i, p] of all.entries()) assert.ok(typeof p !== 'string' && p.equals(data.subarray(i * PS, (i + 1) * PS)), `round ${round} page ${i}: as written (${typeof p === 'string' ? p : 'other bytes'})`);
        assert.equal(pfs.losses.length, 0, `round ${round}: nothing lost: ${JSON.stringify(pfs.losses)}`);
      } finally {
        await pfs.unmount();
      }
    }
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

/** The blocks the thread found differing, once it has settled the blocks it was sent back to. */
async function differing(pfs: Pfs): Promise<number> { return (await settled(pfs))[3]!; }

for (const extents of [false, true]) test(`an index-led lazy mount (${extents ? 'runs' : 'lone pages'}) is checked ahead as its groups load: a flipped bit in a group loaded before the thread passes its blocks and in one loaded after, each EIO at its page, lost once; writes after the mount kept`, async () => {
  const seed = Number(process.env.SEED ?? 0x1ead);
  const r = new Prng(seed);
  const arena = `/dev/shm/lazyahead-api-index-${process.pid}.pram`;
  const F = 8 * MIB;
  try {
    const data = new Map<string, Buffer>();
    const w = await mount({ arena, extents, create: { sizeBytes: 64 * MIB }, ...quiet });
    for (const d of ['a', 'b', 'c']) {
      await w.mkdir(`/${d}`);
      data.set(`/${d}/f`, content(F, r));
      await w.writeFile(`/${d}/f`, data.get(`/${d}/f`)!);
    }
    await w.unmount();
    // A page in the middle of /a/f and of /b/f: their blocks (2 MiB) are apart.
    const flipped = new Map<string, number>();
    for (const f of ['/a/f', '/b/f']) {
      const page = F / PS / 4 + r.below(F / PS / 4);
      flipped.set(f, page);
      flipBitInPage(arena, data.get(f)!.subarray(page * PS, page * PS + 256), r);
    }

    const pfs = await mount({ arena, verify: 'lazy', extents, ...quiet });
    try {
      assert.ok(pfs.volume.pram!.lazyLog, 'mounted through the index (PRAM_VERIFY_AHEAD=1: the thread runs too)');
      assert.equal(aheadThreads() > 0, true, 'the thread runs');
      const none = await differing(pfs);
      assert.equal(none, 0, 'no group of a file loaded: the thread found nothing to differ');
      // /a loads: its blocks go back to the thread, which finds the damaged one.
      await pfs.readdir('/a');
      const afterA = await differing(pfs);
      assert.ok(afterA >= 1, `the thread checked /a's pages once its group loaded: ${afterA} differing`);
      // /c loads and is written at once, while the thread checks its blocks.
      await using h = await pfs.open('/c/f', 'r+');
      const c = data.get('/c/f')!;
      for (let k = 0; k < 32; k++) {
        const whole = r.below(2) === 0;
        const off = whole ? r.below(F / PS) * PS : r.below(F - 100);
        const len = Math.min(whole ? PS * (1 + r.below(3)) : 1 + r.below(100), F - off);
        const bytes = content(len + 3 & ~3, r).subarray(0, len);
        await h.write(bytes, 0, len, off);
        bytes.copy(c, off);
      }
      await h.close();
      // /b loads after the thread passed its blocks (then without sums): they go back to it.
      await pfs.stat('/b/f');
      assert.ok(await differing(pfs) > afterA, 'the thread checked /b\'s pages when its group loaded after it passed them');
      for (const [f, want] of data) {
        const all = await pages(pfs, f, F);
        const bad = all.flatMap((p, i) => (typeof p === 'string' ? [i] : []));
        for (const [i, p] of all.entries()) if (typeof p !== 'string') assert.ok(p.equals(want.subarray(i * PS, (i + 1) * PS)), `${f} page ${i} reads as written`);
        const losses = pfs.losses.filter((l) => l.path === f);
        if (!flipped.has(f)) { assert.deepEqual(bad, [], `${f}: nothing fails`); assert.equal(losses.length, 0, f); continue; }
        assert.ok(bad.includes(flipped.get(f)!), `${f}: the flipped page reads EIO`);
        if (extents) assert.ok(bad.length <= 32 && bad.at(-1)! - bad[0]! === bad.length - 1, `${f}: one run fails: ${bad}`);
        else assert.deepEqual(bad, [flipped.get(f)], `${f}: the flipped page alone fails`);
        assert.equal(losses.length, 1, `${f}: one loss: ${JSON.stringify(pfs.losses)}`);
        assert.deepEqual(losses[0]!.range, { start: bad[0]! * PS, end: (bad.at(-1)! + 1) * PS }, `${f}: the loss is the pages that fail`);
      }
      assert.equal(pfs.losses.length, 2, `two losses in all: ${JSON.stringify(pfs.losses)}`);
    } finally {
      await pfs.unmount();
    }
    // The writes were saved: a full mount reads /c/f as written, nothing lost there.
    const again = await mount({ arena, verify: 'full', ...quiet });
    try {
      assert.ok((await again.readFile('/c/f')).equals(data.get('/c/f')!), '/c/f as written after the mount');
      assert.deepEqual(again.losses.filter((l) => l.path === '/c/f'), []);
    } finally {
      await again.unmount({ save: false });
    }
  } catch (e) {
    console.log(`SEED=${seed}`);
    throw e;
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('the checking thread runs only after a lazy mount (PRAM_VERIFY_AHEAD=1, or unset from 512 MiB of data on), stops at unmount, and never keeps a process alive', async () => {
  const arena = `/dev/shm/ahead-api-life-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 160 * MIB }, ...quiet });
    await w.writeFile('/f', Buffer.alloc(128 * MIB, 7));
    await w.unmount();
    const before = aheadThreads();
    const full = await mount({ arena, verify: 'full', ...quiet });
    assert.equal(aheadThreads(), before, 'no thread after a full mount');
    assert.equal(full.volume.pram!.aheadVerdicts(), null);
    await full.unmount();
    const lazy = await mount({ arena, verify: 'lazy', ...quiet });
    assert.equal(aheadThreads(), before + 1, 'one thread after a lazy mount');
    await lazy.unmount();
    assert.equal(aheadThreads(), before, 'stopped and joined at unmount');

    // A process that mounts lazily and never unmounts ends as soon as its work is done, the thread mid-way or not.
    const child = `
      const { mount } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
      const { aheadThreads } = await import(${JSON.stringify(new URL('../mem/native.js', import.meta.url).href)});
      await mount({ arena: ${JSON.stringify(arena)}, verify: 'lazy', cmdline: '', checkpointIntervalMs: 0, systemd: false, warn: () => {} });
      console.log('threads', aheadThreads());`;
    for (const [env, threads] of [[{}, 1], [{ PRAM_VERIFY_AHEAD: '0' }, 0], [{ PRAM_VERIFY_AHEAD: '' }, 0]] as const) {
      const t0 = Date.now();
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, `${JSON.stringify(env)}: the child ends by itself: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`threads ${threads}\\n`), `${JSON.stringify(env)}: ${threads} checking thread(s)`);
      assert.ok(Date.now() - t0 < 20_000, 'promptly');
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});


test('beside reads through the arena\'s mapping the checking thread starts only once the mapping\'s first fills are judged slower than preads (PRAM_FILL_SLOW_US), never when they are kept', async () => {
  const arena = `/dev/shm/ahead-api-mapped-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 600 * MIB }, ...quiet });
    await w.writeFile('/f', Buffer.alloc(520 * MIB, 3));     // past AHEAD_BYTES_MIN: the size rule wants the thread
    await w.unmount();
    // Fresh processes (the variables are read at the arena's open), PRAM_VERIFY_AHEAD unset: the size rule decides.
    const child = `
      const { mount } = await import(${JSON.stringify(new URL('./index.js', import.meta.url).href)});
      const { aheadThreads, mapReadsStats } = await import(${JSON.stringify(new URL('../mem/native.js', import.meta.url).href)});
      const p = await mount({ arena: ${JSON.stringify(arena)}, verify: 'lazy', cmdline: '', checkpointIntervalMs: 0, systemd: false, warn: () => {} });
      const atMount = aheadThreads();
      const h = await p.open('/f', 'r'), buf = Buffer.alloc(1 << 20);
      let verdict = 'judging';
      for (let pos = 0; pos < 520 * 2 ** 20 && verdict === 'judging'; pos += 1 << 20) {
        await h.read(buf, 0, buf.length, pos);
        verdict = mapReadsStats(p.volume.pram.mem.preadFd).verdict;
      }
      await h.read(buf, 0, buf.length, 0);                   // the read after the verdict starts the thread, or not
      console.log('mount', atMount, 'verdict', verdict, 'threads', aheadThreads());
      await h.close();
      await p.unmount();`;
    const env = { ...process.env };
    delete env['PRAM_VERIFY_AHEAD'];
    for (const [slowUs, verdict, threads] of [['0', 'gave up', 1], ['1000000000', 'kept', 0]] as const) {
      const r = spawnSync(process.execPath, ['--input-type=module', '-e', child], { env: { ...env, PRAM_FILL_SLOW_US: slowUs }, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`mount 0 verdict ${verdict} threads ${threads}\\n`), `PRAM_FILL_SLOW_US=${slowUs}: ${r.stdout}`);
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('a whole-page write into an unverified run (lazy mount, thread off or on) leaves its other pages readable as written, nothing lost', async () => {
  const arena = `/dev/shm/ahead-api-run-${process.pid}.pram`;
  try {
    const w = await mount({ arena, extents: true, create: { sizeBytes: 16 * MIB }, ...quiet });
    await w.writeFile('/f', Buffer.alloc(MIB, 5));
    await w.unmount();
    for (const off of ['0', undefined]) {
      const saved = process.env['PRAM_VERIFY_AHEAD'];
      if (off) process.env['PRAM_VERIFY_AHEAD'] = off;
      const pfs = await mount({ arena, verify: 'lazy', extents: true, ...quiet });
      process.env['PRAM_VERIFY_AHEAD'] = saved;
      try {
        await using h = await pfs.open('/f', 'r+');
        await h.write(Buffer.alloc(PS, 1), 0, PS, 3 * PS);              // a whole page inside the first run
        await h.write(Buffer.alloc(10, 2), 0, 10, 5 * PS + 7);          // part of another page of that run
        const want = Buffer.alloc(MIB, 5);
        want.fill(1, 3 * PS, 4 * PS);
        want.fill(2, 5 * PS + 7, 5 * PS + 17);
        const got = Buffer.alloc(MIB);
        assert.equal((await h.read(got, 0, MIB, 0)).bytesRead, MIB, `thread ${off ? 'off' : 'on'}: the whole file reads`);
        assert.ok(got.equals(want), `thread ${off ? 'off' : 'on'}: as written`);
        assert.deepEqual(pfs.losses, [], `thread ${off ? 'off' : 'on'}: nothing lost`);
      } finally {
        await pfs.unmount({ save: false });
      }
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('large files adopted on first use (pram/laterpages.ts): the first one read while the thread runs brings the others, whose sums the thread then checks ahead of their reads; every byte as written', async () => {
  const r = new Prng(Number(process.env.SEED ?? 0x1a7e));
  const arena = `/dev/shm/ahead-api-later-${process.pid}.pram`;
  try {
    const files = [0, 1, 2].map(() => content(4 * MIB, r));   // 1 024 pages each: past the 256 from which a file waits for its first use
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...quiet });
    for (const [k, data] of files.entries()) await w.writeFile(`/f${k}`, data);
    await w.unmount();
    // Where /f1 and /f2 lie (a full mount's map), to see whether the engine adopted them (frames flagged) before their first read.
    const probe = await mount({ arena, verify: 'full', ...quiet });
    const inodes = (probe.volume as unknown as { t: { inodes: Map<number, { pages: { entries(): Iterable<[number, number]> } }> } }).t.inodes;
    const pfnsOf = async (path: string) => [...inodes.get(Number((await probe.stat(path)).ino))!.pages.entries()].map(([, pfn]) => pfn);
    const others = [...await pfnsOf('/f1'), ...await pfnsOf('/f2')];
    await probe.unmount();
    const pfs = await mount({ arena, verify: 'lazy', ...quiet });
    try {
      const waiting = () => pfs.volume.pram!.stats().unverified;
      const adopted = () => others.filter((pfn) => pfs.volume.pram!.frames.flags[pfn] !== 0).length;
      assert.equal(adopted(), 0, 'the mount adopted no page of /f1 and /f2');
      assert.equal(waiting(), 0, 'the mount loaded no group: no file waits yet');
      await pfs.stat('/');          // the first request loads the root's group (no background slice ran: nothing awaited a macrotask)
      assert.equal(adopted(), 0, 'the root\'s load adopted no page of /f1 and /f2');
      assert.equal(waiting(), 3 * 1024, 'no page checked or adopted by it: each waiting file counts its pages as unverified');
      const h = await pfs.open('/f0', 'r');
      const first = Buffer.alloc(PS);
      await h.read(first, 0, PS, 0);
      assert.equal(adopted(), 2 * 1024, 'the first read of /f0 adopted /f1 and /f2 with it');
      await h.close();
      assert.deepEqual(first, files[0]!.subarray(0, PS));
      // The other two were adopted with the first (their sums handed to the thread): the thread settles every block of
      // all three (a file still waiting counts as a block not checked: settled would wait for it in vain).
      const v = await settled(pfs);
      assert.equal(v[3], 0, 'no block differs');
      assert.ok(v[2]! + v[4]! >= (3 * 1024) / 512, `the three files' blocks (512 pages each) checked by the thread or taken by the read: ${v}`);
      for (const [k, data] of files.entries()) assert.deepEqual(await pfs.readFile(`/f${k}`), data, `/f${k}`);
    } finally {
      await pfs.unmount();
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('the background adopts the files waiting for first use one a slice (a slice of 0 ms: one file), not every one with the first', async () => {
  const r = new Prng(Number(process.env.SEED ?? 0x5a1c));
  const arena = `/dev/shm/ahead-api-pace-${process.pid}.pram`;
  try {
    const files = [0, 1, 2].map(() => content(4 * MIB, r));   // 1 024 pages each: each waits for its first use
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...quiet });
    for (const [k, data] of files.entries()) await w.writeFile(`/f${k}`, data);
    await w.unmount();
    const probe = await mount({ arena, verify: 'full', ...quiet });
    const inodes = (probe.volume as unknown as { t: { inodes: Map<number, { pages: { entries(): Iterable<[number, number]> } }> } }).t.inodes;
    const all: number[] = [];
    for (const k of [0, 1, 2]) all.push(...[...inodes.get(Number((await probe.stat(`/f${k}`)).ino))!.pages.entries()].map(([, pfn]) => pfn));
    await probe.unmount();
    const pfs = await mount({ arena, verify: 'lazy', ...quiet });
    try {
      const adopted = () => all.filter((pfn) => pfs.volume.pram!.frames.flags[pfn] !== 0).length;
      await pfs.stat('/');          // the root's group loaded: three files wait (no background slice ran yet)
      assert.equal(adopted(), 0, 'none adopted by the load');
      if (pfs.volume.pram!.aheadVerdicts() === null) return;   // no checking thread: the background adopts none ahead
      const counts: number[] = [];
      for (let k = 0; k < 3; k++) { pfs.volume.background(0); counts.push(adopted()); }
      assert.deepEqual(counts, [1024, 2048, 3072], 'one file a slice (it adopted all three in the first before)');
      for (const [k, data] of files.entries()) assert.deepEqual(await pfs.readFile(`/f${k}`), data, `/f${k}`);
    } finally {
      await pfs.unmount();
    }
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

// A 64 GiB arena (16 777 216 pages: 4096 mappings of 16 MiB, each made on first
// use; byte offsets past 2^32) on a sparse file: only the pages pram touches cost memory. pram's own
// `format` preallocates (fallocate + prefault), so the file is made sparse here
// and given a header the way format writes it. pram_banned= keeps the first
// 60 GiB out of use, so every page the files get lies past pfn 15 728 640; the
// files are written at offsets past 2^32 and 2^35, saved, remounted (lazy and
// full) and read back byte for byte, then emitted as a v1 chain and read by a
// v1-only reader. Figures (mount, unmount, memory) are printed, not asserted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { mount } from '../../../dist/api/index.js';
import { Arena } from '../../../dist/mem/arena.js';
import { ArenaHeaderHandoff } from '../../../dist/pram/handoff.js';
import { emitV1 } from '../../../dist/open/emit.js';
import { rfcRead } from '../../../dist/pram/testkit.js';

const GiB = 2 ** 30, PS = 4096;
const SIZE = 64 * GiB;
const BANNED_END = 60 * GiB;
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'limits-64g-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const arena = path.join(dir, 'a.arena');
const cmdline = `pram_banned=0x1000-0x${BANNED_END.toString(16)}`;

const mb = (n) => `${(n / 2 ** 20).toFixed(0)} MiB`;
const rss = () => process.memoryUsage().rss;
const onDisk = () => fs.statSync(arena).blocks * 512;
function timed(what, fn) {
  const t = process.hrtime.bigint();
  const r = fn();
  console.log(`# ${what}: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms, rss ${mb(rss())}`);
  return r;
}
async function timedAsync(what, fn) {
  const t = process.hrtime.bigint();
  const r = await fn();
  console.log(`# ${what}: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(0)} ms, rss ${mb(rss())}`);
  return r;
}

/** pfns of a file's pages, through the volume. */
function pfnsOf(pfs, p) {
  const ino = pfs.volume.resolve(p);
  const node = pfs.volume.images().find((n) => n.ino === ino);
  return [...node.pages.entries()].map(([, pfn]) => pfn);
}

const r = (n, seed) => { const b = Buffer.alloc(n); for (let i = 0; i < n; i++) b[i] = (i * 2654435761 + seed) >>> 24; return b; };
const files = {
  '/big.bin': { at: 0, data: r(3 << 20, 1) },                       // 3 MiB: several runs and link pages
  '/past-4g': { at: 5 * GiB + 123, data: r(10_000, 2) },           // file offsets past 2^32
  '/past-32g': { at: 2 ** 35 + PS - 7, data: r(20_000, 3) },       // and past 2^35, crossing pages
  '/small.txt': { at: 0, data: Buffer.from('a 64 GiB arena\n') },
};

test('a 64 GiB sparse arena: files at pfns past 60 GiB and offsets past 2^35 survive unmount and remount', async () => {
  const fd = fs.openSync(arena, 'wx', 0o600);
  fs.ftruncateSync(fd, SIZE);
  fs.closeSync(fd);
  const mem = Arena.open(arena);
  assert.equal(mem.pageCount, SIZE / PS);
  assert.equal(mem.segmentCount, SIZE / (16 << 20));
  ArenaHeaderHandoff.format(mem, 1);   // extents, as `pram format --extents` writes the header
  mem.close();

  const base = rss();
  const pfs = await timedAsync('mount of an empty 64 GiB arena', () => mount({ arena, cmdline, warn: () => {} }));
  for (const [p, f] of Object.entries(files)) {
    const h = await pfs.open(p, 'w');
    await h.write(f.data, 0, f.data.length, f.at);
    await h.close();
  }
  // A file of at most INLINE_MAX (128) bytes is held inline while mounted: no page until a v2 chain writes one.
  const inline = (p) => files[p].at === 0 && files[p].data.length <= 128;
  const pastBan = (v, p) => {
    const pfns = pfnsOf(v, p);
    assert.ok(pfns.length > 0 && pfns.every((q) => q * PS >= BANNED_END), `${p}: every page past 60 GiB (${pfns[0]})`);
  };
  for (const p of Object.keys(files)) {
    if (inline(p)) assert.deepEqual(pfnsOf(pfs, p), [], `${p}: held inline`);
    else pastBan(pfs, p);
  }
  assert.deepEqual((await pfs.stat('/past-32g')).size, files['/past-32g'].at + files['/past-32g'].data.length);
  await timedAsync('unmount (checkpoint)', () => pfs.unmount());
  console.log(`# engine memory at 16 777 216 pages: ~${mb(rss() - base)} above the process before mount; sparse file on disk: ${mb(onDisk())}`);
  assert.ok(onDisk() < 64 << 20, `only touched pages cost: ${onDisk()} bytes`);

  for (const verify of ['lazy', 'full']) {
    const again = await timedAsync(`remount (${verify})`, () => mount({ arena, cmdline, verify, warn: () => {} }));
    assert.deepEqual(again.losses, []);
    for (const p of Object.keys(files)) pastBan(again, p);   // loaded from v2: the inline bytes' page too
    for (const [p, f] of Object.entries(files)) {
      const h = await again.open(p, 'r');
      const buf = Buffer.alloc(f.data.length);
      const { bytesRead } = await h.read(buf, 0, buf.length, f.at);
      await h.close();
      assert.equal(bytesRead, f.data.length, p);
      assert.ok(buf.equals(f.data), `${p}: byte for byte`);
      if (f.at > PS) {
        const hole = Buffer.alloc(PS, 1);
        const h2 = await again.open(p, 'r');
        await h2.read(hole, 0, PS, f.at - PS - 100);
        await h2.close();
        assert.ok(hole.every((b) => b === 0), `${p}: the hole before reads zeros`);
      }
    }
    await again.unmount({ save: false });
  }

  // A pure v1 chain of it: the files are only in the root, so v1 holds them.
  const out = timed('save --format v1', () => emitV1({ arena, cmdline }));
  assert.ok(out.headPfn * PS >= BANNED_END, `the v1 chain lies past the ban too: pfn ${out.headPfn}`);
  const m = Arena.open(arena);
  try {
    const got = rfcRead(m, out.headPfn);
    assert.equal(typeof got, 'object', String(got));
    assert.deepEqual([...got.keys()].sort(), Object.keys(files).map((p) => p.slice(1)).sort());
    for (const [p, f] of Object.entries(files)) {
      const file = got.get(p.slice(1));
      assert.equal(file.size, f.at + f.data.length, p);
      const first = Math.floor(f.at / PS);
      assert.deepEqual([...file.pages.keys()].sort((a, b) => a - b), [...Array(Math.ceil((f.at + f.data.length) / PS) - first).keys()].map((k) => first + k), `${p}: pages`);
      const bytes = Buffer.concat([...file.pages.keys()].sort((a, b) => a - b).map((k) => file.pages.get(k)));
      assert.ok(bytes.subarray(f.at - first * PS).equals(f.data), `${p}: the v1 reader gets the same bytes`);
    }
  } finally { m.close(); }
});

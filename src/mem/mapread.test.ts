// Reads of an arena through its mapping (native/mapread.c): the same bytes and
// sums as preads of it, for every shape of read a mount makes; the fill thread
// ahead of large reads in order, reads preading where it has not filled; back
// to preads when the mapping goes, or when a fill fails (a file cut short
// under it), never a SIGBUS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as native from './native.js';
import { Prng } from '../machine/prng.js';

const MIB = 1 << 20, PS = 4096;

/** Until the thread has filled `chunks` chunks of fd's mapping (it runs below every other thread: a busy machine delays it). */
async function filled(fd: number, chunks: number): Promise<native.MapReadsStats> {
  const t0 = Date.now();
  while (native.mapReadsStats(fd)!.byThread < chunks && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 10));
  return native.mapReadsStats(fd)!;
}

/** A /dev/shm file of `bytes` seeded bytes, open twice: `fd` to map, `plain` (never mapped) to pread. */
async function withFile(name: string, bytes: number, seed: number, fn: (fd: number, plain: number, data: Buffer) => void | Promise<void>): Promise<void> {
  const path = `/dev/shm/pram-test-mapread-${process.pid}-${name}`;
  const data = new Prng(seed).bytes(bytes);
  fs.writeFileSync(path, data);
  const fd = fs.openSync(path, 'r+'), plain = fs.openSync(path, 'r');
  try {
    await fn(fd, plain, data);
  } finally {
    native.unmapReads(fd);
    fs.closeSync(fd);
    fs.closeSync(plain);
    fs.rmSync(path, { force: true });
  }
}

/** Ranges as a read's checks take them: lone pages and runs of up to 32 pages, in order, some unaligned or out of order. */
function rangesFor(rng: Prng, skip: number, bytes: number): { o: Uint32Array; l: Uint32Array; n: number } {
  const o: number[] = [], l: number[] = [];
  for (let at = skip; at + PS <= bytes;) {
    const pages = rng.chance(0.5) ? 1 : rng.range(1, 32);
    const len = Math.min(pages * PS, Math.floor((bytes - at) / PS) * PS);
    if (rng.chance(0.7)) { o.push(at); l.push(len); }
    at += len + (rng.chance(0.2) ? PS * rng.below(3) : 0);
  }
  if (o.length > 2 && rng.chance(0.1)) { o.reverse(); l.reverse(); }                        // out of order
  if (o.length > 0 && rng.chance(0.1)) { const k = rng.below(o.length); o[k] = o[k]! + 8; l[k] = l[k]! - 8; }   // unaligned
  return { o: Uint32Array.from(o), l: Uint32Array.from(l), n: o.length };
}

test('a read through the mapping copies and sums what a pread does, for every shape of read (seeded)', async () => {
  const seed = 0x6d617072;
  await withFile('shapes', 24 * MIB, seed, async (fd, plain) => {
    assert.equal(native.mapReads(fd, 24 * MIB), true);
    const a = Buffer.alloc(4 * MIB), b = Buffer.alloc(4 * MIB);
    assert.equal(native.readArenaOrErrno(fd, a, 0, MIB, 0), MIB);      // a large read at the start: the thread fills the rest
    assert.equal((await filled(fd, 12)).byThread, 12, 'every chunk filled');
    const preads = native.mapReadsStats(fd)!.preads;
    const rng = new Prng(seed);
    for (let i = 0; i < 400; i++) {
      const why = `seed ${seed}, read ${i}`;
      const inPage = rng.chance(0.3) ? rng.below(PS) : 0, page = rng.below(24 * MIB / PS - 800);
      const pos = page * PS + inPage, bytes = rng.chance(0.3) ? rng.range(1, 64 * 1024) : rng.range(256 * 1024, 3 * MIB);
      const at = rng.below(64), skip = inPage ? PS - inPage : 0;
      const { o, l, n } = rangesFor(rng, skip, bytes);
      const sa = new Uint32Array(Math.max(n, 1)), sb = new Uint32Array(Math.max(n, 1));
      a.fill(0xa5); b.fill(0xa5);
      native.crc32cReadInto(fd, pos, a, at, bytes, o, l, n, sa);
      native.crc32cReadInto(plain, pos, b, at, bytes, o, l, n, sb);
      assert.ok(a.equals(b), `bytes, ${why}`);
      assert.deepEqual(sa, sb, `sums, ${why}`);
      const ordered = o.every((x, k) => k === 0 || x >= o[k - 1]! + l[k - 1]!);   // a check takes ranges in order only
      if (n > 0 && ordered) {
        const want = Uint32Array.from(sb.subarray(0, n)), bad = rng.below(n);
        if (rng.chance(0.5)) want[bad] = want[bad]! ^ (1 << rng.below(32));
        const ga = native.crc32cReadCheck(fd, pos, a, at, bytes, o, l, n, want, sa);
        const gb = native.crc32cReadCheck(plain, pos, b, at, bytes, o, l, n, want, sb);
        assert.equal(ga, gb, `the first range that differs, ${why}`);
        if (ga < n) assert.equal(sa[ga], sb[gb], `its sum, ${why}`);
      }
      assert.equal(native.readArenaOrErrno(fd, a, at, bytes, pos), bytes, why);
      assert.equal(native.preadOrErrno(plain, b, at, bytes, pos), bytes, why);
      assert.ok(a.subarray(at, at + bytes).equals(b.subarray(at, at + bytes)), `plain read, ${why}`);
    }
    assert.equal(native.mapReadsStats(fd)!.preads, preads, 'every read came out of the mapping');
  });
});

test('large reads in order have the thread fill the chunks ahead of them, the reads preading where it has not; small reads steer nothing', async () => {
  await withFile('ahead', 64 * MIB, 7, async (fd) => {
    assert.equal(native.mapReads(fd, 64 * MIB), true);
    const buf = Buffer.alloc(MIB);
    for (let o = 0; o < 64 * 1024; o += PS) assert.equal(native.readArenaOrErrno(fd, buf, 0, PS, 40 * MIB + o), PS);
    await new Promise((r) => setTimeout(r, 50));
    const { chunks, byThread, preads, broken } = native.mapReadsStats(fd)!;
    assert.deepEqual({ chunks, byThread, preads, broken }, { chunks: 32, byThread: 0, preads: 16, broken: false }, 'small reads: preads, nothing filled');
    for (let o = 0; o < 4 * MIB; o += MIB) assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, o), MIB);
    const st = await filled(fd, 31);
    // Chunk 0 too, unless the reads were past it when the thread (below every other thread) first ran.
    assert.ok(st.byThread >= 31 && st.byThread <= 32, `the thread filled every chunk from the reads' on, and stopped: ${JSON.stringify(st)}`);
    const before = st.preads;
    for (let o = 4 * MIB; o < 64 * MIB; o += MIB) assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, o), MIB);
    assert.equal(native.mapReadsStats(fd)!.preads, before, 'the reads after came out of the mapping');
  });
});

test('unmapReads: the reads are preads again, and still right', async () => {
  await withFile('unmap', 8 * MIB, 9, (fd, _plain, data) => {
    assert.equal(native.mapReads(fd, 8 * MIB), true);
    assert.equal(native.mapReads(fd, 8 * MIB), false, 'one mapping per fd');
    const buf = Buffer.alloc(MIB);
    assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, 3 * MIB), MIB);
    assert.ok(buf.equals(data.subarray(3 * MIB, 4 * MIB)));
    native.unmapReads(fd);
    assert.equal(native.mapReadsStats(fd), null);
    buf.fill(0);
    assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, 5 * MIB), MIB);
    assert.ok(buf.equals(data.subarray(5 * MIB, 6 * MIB)));
    native.unmapReads(fd);   // again: nothing
  });
});

test('a file cut short under its mapping: the thread\'s fill fails, the reads are preads from then on, answering as pread does (no SIGBUS)', async () => {
  await withFile('short', 8 * MIB, 10, async (fd, _plain, data) => {
    assert.equal(native.mapReads(fd, 8 * MIB), true);
    fs.ftruncateSync(fd, 3 * MIB);
    const buf = Buffer.alloc(MIB);
    assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, 0), MIB, 'a large read at the start: the thread fills on');
    const t0 = Date.now();
    while (!native.mapReadsStats(fd)!.broken && Date.now() - t0 < 20_000) await new Promise((r) => setTimeout(r, 10));
    assert.equal(native.mapReadsStats(fd)!.broken, true, 'a fill past the end failed');
    assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, 6 * MIB), 0, 'past the end: 0 bytes, as pread');
    const o = Uint32Array.of(0), l = Uint32Array.of(MIB), out = new Uint32Array(1);
    assert.throws(() => native.crc32cReadInto(fd, 6 * MIB, buf, 0, MIB, o, l, 1, out), { code: 'EIO' });
    assert.equal(native.readArenaOrErrno(fd, buf, 0, MIB, 2 * MIB), MIB, 'before the end: read (by pread)');
    assert.ok(buf.equals(data.subarray(2 * MIB, 3 * MIB)));
  });
});

test('mapReads refuses what it cannot map: a bad fd or length', () => {
  assert.throws(() => native.mapReads(-1, MIB), RangeError);
  assert.throws(() => native.mapReads(3, 0), RangeError);
  assert.equal(native.mapReads(987654, MIB), false, 'no such fd: stays preads');
  assert.throws(() => native.readArenaOrErrno(0, Buffer.alloc(4), 2, 4, 0), RangeError);
});

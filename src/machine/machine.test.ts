import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Machine, type MachineOptions } from './machine.js';
import { Owner } from '../boot/frames.js';
import { Prng } from './prng.js';

const MiB = 1 << 20;
export const SMALL: Partial<MachineOptions> = {
  ramBytes: 64 * MiB, pageSize: 4096, cmdline: 'console=ttyS0 ro pram_banned=0-16M',
  mmioHoleBytes: 4 * MiB, kernelImageBytes: 2 * MiB, initrdBytes: 2 * MiB, kernelLoadBytes: 4 * MiB,
  earlyWindowBytes: 2 * MiB, earlyAllocPagesMax: 32, earlyAllocsMin: 4, earlyAllocsMax: 12,
  initrdJitterBytes: 1 * MiB,
};
const page = 4096;

function small(seed: number, more: Partial<MachineOptions> = {}) {
  return new Machine({ ...SMALL, ...more, seed });
}

test('the seed decides everything: same seed, same console; SEED= and options come first', () => {
  const a = small(7), b = small(7), c = small(8);
  assert.equal(a.console[0], 'SEED=7');
  assert.match(a.console[1]!, /^options: ram=64M page=4096 .*ban=on holes=a0-ff,/);
  assert.deepEqual(a.console, b.console);
  assert.notDeepEqual(a.console.slice(2), c.console.slice(2));
  a.kexecWithPram(0, 16 * MiB); b.kexecWithPram(0, 16 * MiB);
  assert.deepEqual(a.console, b.console);
  assert.deepEqual(a.ram.page(5000), b.ram.page(5000));
});

test('first boot: holes, low memory, kernel at its load address, initrd at the top, banned table', () => {
  const m = small(1);
  const k = m.kernel;
  assert.equal(k.frames.owner[0xa0], Owner.Hole, 'legacy hole');
  assert.equal(k.frames.owner[1], Owner.Reserved, 'low memory');
  const kernel = k.segments.find((s) => s.what === 'kernel image')!;
  const initrd = k.segments.find((s) => s.what === 'initrd')!;
  assert.equal(kernel.start, 4 * MiB / page);
  assert.equal(initrd.start + initrd.pages, m.ram.pageCount, 'initrd top-down from the top of RAM');
  for (const s of [kernel, initrd]) assert.equal(k.memblock.isReserved(s.start + s.pages - 1), true);
  // pram_banned=0-16M plus every reservation: the initrd at the top is banned too
  assert.ok(k.banned.contains(0) && k.banned.contains(16 * MiB / page - 1));
  assert.ok(k.banned.contains(initrd.start));
  assert.ok(m.console.some((l) => l.includes('PRAM: banned regions:')));
  assert.ok(m.console.some((l) => /Total banned: \d+ pages in \d+ regions/.test(l)));
});

test('early allocations sit in the window above the kernel image and differ per boot', () => {
  const m = small(3);
  const windowOf = () => {
    const k = m.kernel.segments.find((s) => s.what === 'kernel image')!;
    return { lo: k.start + k.pages, hi: k.start + k.pages + 2 * MiB / page };
  };
  const early = () => m.kernel.memblock.reservations()
    .filter((r) => !['low memory', 'kernel image', 'initrd', 'purgatory', 'boot params'].includes(r.what));
  let w = windowOf();
  const first = early();
  assert.ok(first.length > 0);
  for (const r of first) assert.ok(r.start >= w.lo && r.start + r.count <= w.hi, `${r.what} at ${r.start}`);
  m.kexecWithPram(0, 16 * MiB);
  w = windowOf();
  const second = early();
  for (const r of second) assert.ok(r.start >= w.lo && r.start + r.count <= w.hi, `${r.what} at ${r.start}`);
  assert.notDeepEqual(first.map((r) => r.start - first[0]!.start), second.map((r) => r.start - second[0]!.start));
});

test('kexec places every segment inside [mem-min, mem-max) and overwrites exactly those pages', () => {
  const m = small(11);
  // Stamp every present page with its pfn.
  for (let pfn = 0; pfn < m.ram.pageCount; pfn++) if (m.ram.present(pfn)) m.ram.page(pfn).fill(pfn & 0xff);
  assert.equal(m.kexecLoad({ cmdline: 'ro', memMinBytes: 8 * MiB, memMaxBytes: 24 * MiB }), 0);
  assert.equal(m.kexecExec(), 0);
  const segs = m.lastOverwrite;
  assert.deepEqual(segs.map((s) => s.what), ['kernel image', 'initrd', 'purgatory', 'boot params']);
  const inSeg = new Uint8Array(m.ram.pageCount);
  for (const s of segs) {
    assert.ok(s.start >= 8 * MiB / page && s.start + s.pages <= 24 * MiB / page, `${s.what} inside the range`);
    inSeg.fill(1, s.start, s.start + s.pages);
  }
  // The new kernel, once booted, writes the pages it allocates for itself: those change too.
  const byKernel = new Uint8Array(m.ram.pageCount);
  for (const a of m.kernel.kernelAllocs) byKernel.fill(1, a.start, a.start + a.pages);
  assert.ok(m.kernel.kernelAllocs.length > 0);
  assert.equal(segs[0]!.start % (2 * MiB / page), 0, 'kernel image 2 MiB aligned');
  let changed = 0;
  for (let pfn = 0; pfn < m.ram.pageCount; pfn++) {
    if (!m.ram.present(pfn)) continue;
    const same = m.ram.page(pfn).every((b) => b === (pfn & 0xff));
    if (inSeg[pfn]) { if (!same) changed++; } else if (!byKernel[pfn]) assert.ok(same, `pfn ${pfn} outside the segments kept`);
  }
  assert.ok(changed > segs[0]!.pages, 'segment pages were overwritten');
  assert.equal(m.kernel.cmdline, 'ro');
  assert.equal(m.kernel.segments[0]!.start, segs[0]!.start, 'the new kernel boots where kexec put it');
});

test('kexec that cannot fit fails with -ENOMEM and boots nothing', () => {
  const m = small(2);
  assert.equal(m.kexecLoad({ cmdline: 'ro', memMinBytes: 0, memMaxBytes: 3 * MiB }), -12);
  assert.equal(m.kexecExec(), -22);
  assert.equal(m.boots, 1);
});

test('/sys/kernel/pram: 0 after a dropped image; commit publishes, kexecWithPram appends pram= and drops the old one', () => {
  const m = small(5, { cmdline: 'ro pram=123 pram_banned=0-16M' });
  // pfn 0x123 holds no link page: the early boot drops the image (RFC: pram_pfn = 0).
  assert.ok(m.console.includes('[1] PRAM: pfn:123 corrupted'));
  assert.ok(m.console.some((l) => /^\[1\] PRAM: Reservation failed: -\d+$/.test(l)));
  assert.equal(m.kernel.reserved.error < 0, true);
  assert.equal(m.readFile('/sys/kernel/pram'), '0');
  assert.equal(m.handoff.read(), null);
  m.handoff.commit(0xabcd, 3);
  assert.equal(m.readFile('/sys/kernel/pram'), 'abcd');
  assert.deepEqual(m.handoff.read(), { headPfn: 0xabcd, generation: 3 });
  m.kexecWithPram(0, 16 * MiB);
  assert.equal(m.readFile('/proc/cmdline'), 'ro pram_banned=0-16M pram=abcd');
});

test('--no-ban: pram_banned= and reservations ban nothing', () => {
  const m = small(5, { noBan: true });
  assert.equal(m.kernel.banned.count, 0);
  assert.ok(m.console.some((l) => l.includes('Total banned: 0 pages in 0 regions')));
  assert.ok(m.console[1]!.includes('ban=off'));
});

test('an injected early reservation lands where asked, on the next boot only', () => {
  const m = small(9);
  m.injectEarlyReservation(8000, 3, 'aimed');
  m.kexecWithPram(0, 16 * MiB);
  assert.ok(m.kernel.memblock.isReserved(8001));
  assert.ok(m.kernel.memblock.reservations().some((r) => r.what === 'aimed' && r.start === 8000 && r.count === 3));
  m.kexecWithPram(0, 16 * MiB);
  assert.ok(!m.kernel.memblock.reservations().some((r) => r.what === 'aimed'));
});

test('Prng: reproducible, bounded, fills', () => {
  const a = new Prng(42), b = new Prng(42n);
  const xs = Array.from({ length: 100 }, () => a.next());
  assert.deepEqual(xs, Array.from({ length: 100 }, () => b.next()));
  assert.notDeepEqual(xs, Array.from({ length: 100 }, () => new Prng(43).next()));
  for (let i = 0; i < 1000; i++) { const v = a.range(3, 7); assert.ok(v >= 3 && v <= 7); }
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(a.below(5));
  assert.equal(seen.size, 5);
  const buf = a.bytes(1001);
  assert.ok(buf.some((x) => x !== 0));
});

test('after early boot the allocator owns every unreserved page and the kernel allocates (and writes) some of them', () => {
  const m = small(21);
  const k = m.kernel;
  const lines = m.console.map((l) => l.replace(/^\[\d+\] /, ''));
  assert.ok(lines.findIndex((l) => l.startsWith('Memory: ')) < lines.findIndex((l) => /^kernel: \d+ allocations after boot, \d+ pages/.test(l)));
  assert.ok(k.kernelAllocs.length >= 32 && k.kernelAllocs.length <= 128);
  let kernelPages = 0;
  for (const a of k.kernelAllocs) {
    for (let p = a.start; p < a.start + a.pages; p++) {
      assert.equal(k.frames.owner[p], Owner.Kernel);
      assert.ok(!k.memblock.isReserved(p) && !k.allocator.isFree(p));
      kernelPages++;
    }
    assert.ok(m.ram.page(a.start).some((b) => b !== 0), 'the kernel uses (writes) its pages');
  }
  let owned = 0, pooled = 0;
  for (let p = 0; p < m.ram.pageCount; p++) {
    if (k.frames.owner[p] === Owner.Kernel) owned++;
    if (k.allocator.isFree(p)) { pooled++; assert.equal(k.frames.owner[p], Owner.None); }
    else if (k.frames.owner[p] === Owner.None) assert.fail(`pfn ${p} is neither reserved, pooled nor allocated`);
  }
  assert.equal(owned, kernelPages);
  assert.ok(pooled > 0);
  assert.equal(k.reserved.headPfn, 0, 'no pram= on the first boot');
  assert.equal(m.readFile('/sys/kernel/pram'), '0');
  const first = k.kernelAllocs.map((a) => a.start);
  m.kexecWithPram(0, 16 * MiB);
  assert.notDeepEqual(m.kernel.kernelAllocs.map((a) => a.start), first, 'seeded, different per boot');
});

// A large log's pages copied through the memory's fd (logwalk.ts LogPages):
// every page the walk asks for reads as the mapping shows it, whatever the
// layout (consecutive stretches, jumps, a jump back into a stretch read
// ahead); the reads grow by doubling along a stretch, so a compacted log of n
// pages costs O(log n) reads and at most about twice its bytes; a read that
// fails, a log past the copy's room, or a memory without an fd read through
// the mapping, the same bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRam } from '../mem/simram.js';
import type { PhysMem } from '../mem/physmem.js';
import { Prng } from '../machine/prng.js';
import { LogPages } from './logwalk.js';

const PS = 4096;

/** A SimRam of seeded bytes with a pread-like readAt (counted), which fails from `failAt` reads on. */
function ramWithFd(pages: number, failAt = Infinity): { mem: PhysMem; reads: { n: number; bytes: number } } {
  const ram = new SimRam({ pageSize: PS, pageCount: pages });
  const rng = new Prng(7);
  for (let pfn = 0; pfn < pages; pfn++) ram.page(pfn).set(rng.bytes(PS));
  const reads = { n: 0, bytes: 0 };
  const mem = Object.assign(Object.create(ram) as PhysMem, {
    preadFd: 99,
    readAt(pos: number, target: Uint8Array, at: number, len: number): boolean {
      if (reads.n++ >= failAt) return false;
      reads.bytes += len;
      for (let done = 0; done < len;) {
        const pfn = Math.floor((pos + done) / PS), off = (pos + done) % PS, take = Math.min(PS - off, len - done);
        target.set(ram.page(pfn).subarray(off, off + take), at + done);
        done += take;
      }
      return true;
    },
  });
  return { mem, reads };
}

/** Walks `pfns` as log pages seq 0.. and checks each against the mapping. */
function walk(mem: PhysMem, pfns: number[], logPages = pfns.length): void {
  const copies = new LogPages(mem, logPages);
  pfns.forEach((pfn, seq) => assert.ok(copies.page(pfn, seq).equals(mem.page(pfn)), `page ${seq} at pfn ${pfn}`));
}

test('a compacted log (the head, then one stretch) reads page for page, in O(log n) reads of about its own bytes', () => {
  const { mem, reads } = ramWithFd(4096);
  const pfns = [1, ...Array.from({ length: 1500 }, (_, k) => 2000 + k)];
  walk(mem, pfns);
  assert.ok(reads.n <= 16, `${reads.n} reads`);
  assert.ok(reads.bytes <= 2 * pfns.length * PS, `${reads.bytes} bytes read`);
});

test('any layout: jumps, a jump back into a stretch read ahead, a page read again, a tail past the copy\'s room', () => {
  const { mem } = ramWithFd(4096);
  const pfns: number[] = [];
  for (let k = 0; k < 600; k++) pfns.push(100 + k);
  pfns.push(3000, 3001, 3002, 3003, 150, 151, 152, 4000, 4001, 200);   // back into the first stretch
  for (let k = 0; k < 100; k++) pfns.push(2500 + 3 * k);              // scattered: a page a read
  walk(mem, pfns);
  walk(mem, pfns, 600);                                                 // the slot names fewer pages: the rest through the mapping
});

test('a failed read, a small log, a memory without an fd: the mapping, the same bytes', () => {
  const failing = ramWithFd(2048, 3);
  const pfns = Array.from({ length: 700 }, (_, k) => 1 + k);
  walk(failing.mem, pfns);
  assert.equal(failing.reads.n, 4);                                     // the fourth failed: no read after it
  const small = ramWithFd(2048);
  walk(small.mem, pfns.slice(0, 100));
  assert.equal(small.reads.n, 0);                                       // under 512 pages: not copied
  const plain = new SimRam({ pageSize: PS, pageCount: 2048 });
  const copies = new LogPages(plain, 700);
  assert.equal(copies.page(5, 0).buffer, plain.page(5).buffer);         // a view of the mapping itself
});

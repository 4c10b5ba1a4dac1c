// A lazy mount walks the log pages from the index's on (pram/stream.ts walkLog) and reads the index, the RUNS
// and the records after them (the tail) out of the pages the walk read: each of those pages is read from the
// arena once (pram/lazyboot.ts). The boot's result is the one a mount then loads: the tail's changes read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { openArena } from '../open/arena.js';
import { bootMemory, isRefusal } from '../pram/boot.js';
import { logPayload } from '../format/v3.js';
import type { PhysMem } from '../mem/physmem.js';

const PS = 4096, MIB = 1 << 20;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;

test('a lazy boot reads each log page from the index\'s on once (index, RUNS and tail out of the walk\'s pages); the tail\'s changes read back', async () => {
  const arena = `/dev/shm/walkonce-test-${process.pid}.pram`;
  try {
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...opts });
    await w.mkdir('/d');
    for (let i = 0; i < 300; i++) await w.writeFile(`/d/f${i}`, `file ${i} `.repeat(40));
    await w.writeFile('/big', Buffer.alloc(2 * MIB, 7));
    await w.unmount();                                          // a compaction, led by its index
    const c = await mount({ arena, verify: 'lazy', ...opts });
    for (let i = 0; i < 300; i += 3) await c.writeFile(`/d/f${i}`, `changed ${i} `.repeat(500));   // the tail: ~5 pages of records and more
    await c.unmount();

    const { mem, handoff } = openArena(arena);
    const reads: [number, number][] = [];
    try {
      const spy = Object.create(mem) as PhysMem;
      spy.readAt = (pos, target, at, len) => { reads.push([pos / PS, len / PS]); return mem.readAt!(pos, target, at, len); };
      const booted = bootMemory({ mem: spy, handoff, cmdline: '', log: () => {}, lazy: true });
      assert.ok(!isRefusal(booted) && booted.lazy, 'booted lazily');
      const lz = booted.lazy!, per = logPayload(PS), pages = lz.cursor.pages;
      const seq0 = Math.floor(lz.index.locate.indexPos / per);
      assert.ok(lz.tail, 'records after the RUNS');
      assert.ok(seq0 > 0 && pages.length - seq0 >= 4, `the index's page ${seq0} of ${pages.length}: a head page apart, a tail of pages`);
      const times = new Map<number, number>();
      for (const [pfn, count] of reads) for (let p = pfn; p < pfn + count; p++) times.set(p, (times.get(p) ?? 0) + 1);
      for (let s = seq0; s < pages.length; s++) assert.equal(times.get(pages[s]!), 1, `log page ${s} (pfn ${pages[s]}) read once`);
    } finally {
      mem.close();
    }
    const r = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    for (let i = 0; i < 300; i++) assert.equal(await r.readFile(`/d/f${i}`, 'utf8'), i % 3 === 0 ? `changed ${i} `.repeat(500) : `file ${i} `.repeat(40));
    assert.ok((await r.readFile('/big')).equals(Buffer.alloc(2 * MIB, 7)));
    assert.deepEqual(r.losses, []);
    await r.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

// A lazy mount does not list the log's pages (pram/logpages.ts): the list made later, when the writer first needs
// it, holds the pages the log's headers chain from its head; appends after a lazy mount go on from it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { openArena } from '../open/arena.js';
import { bootMemory, isRefusal } from '../pram/boot.js';
import { logPages } from '../pram/stream.js';

const MIB = 1 << 20;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;

/** The lazy boot's page list, checked against the log's chain from its head; it is not made by the boot. */
function checkList(arena: string): number {
  const { mem, handoff } = openArena(arena);
  try {
    const booted = bootMemory({ mem, handoff, cmdline: '', log: () => {}, lazy: true });
    assert.ok(!isRefusal(booted) && booted.lazy, 'booted lazily');
    const lz = booted.lazy!;
    assert.equal(lz.cursor.log.made, false, 'the boot lists no page');
    const chained = logPages(mem, booted.reserved.headPfn, lz.cursor.log.length);
    assert.ok(Array.isArray(chained), `the chain: ${chained}`);
    for (let s = 0; s < chained.length; s += 7) assert.equal(lz.cursor.log.at(s), chained[s], `page ${s} looked up`);
    assert.deepEqual(lz.cursor.pages, chained, 'the list made later: the chain\'s pages');
    return chained.length;
  } finally {
    mem.close();
  }
}

test('a lazy mount\'s page list, made after the boot, is the log\'s chain; appends after lazy mounts read back', async () => {
  const arena = `/dev/shm/lazylist-test-${process.pid}.pram`;
  const want = new Map<string, string>();
  try {
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...opts });
    for (let d = 0; d < 6; d++) {
      await w.mkdir(`/d${d}`);
      for (let i = 0; i < 200; i++) { const p = `/d${d}/f${i}`, s = `${p} `.repeat(1 + (i % 9) * 30); await w.writeFile(p, s); want.set(p, s); }
      await w.writeFile(`/big${d}`, Buffer.alloc(MIB / 2, d));      // data pages between the log's
    }
    await w.unmount();                                          // a compaction, led by its index
    const pages = checkList(arena);
    assert.ok(pages > 20, `a log of ${pages} pages`);
    for (let round = 0; round < 3; round++) {
      const c = await mount({ arena, verify: 'lazy', ...opts });
      assert.equal(await c.readFile('/d1/f5', 'utf8'), want.get('/d1/f5'), 'read before any write');
      for (let i = round; i < 200; i += 5) { const p = `/d${(i + round) % 6}/f${i}`, s = `round ${round} ${p} `.repeat(60); await c.writeFile(p, s); want.set(p, s); }
      await c.writeFile(`/new${round}`, `new ${round}`); want.set(`/new${round}`, `new ${round}`);
      await c.unmount();                                        // appends (or a compaction) after the lazy mount
      checkList(arena);
    }
    const r = await mount({ arena, verify: 'full', readOnly: true, ...opts });
    for (const [p, s] of want) assert.equal(await r.readFile(p, 'utf8'), s, p);
    assert.deepEqual(r.losses, []);
    await r.unmount({ save: false });
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRam } from '../mem/simram.js';
import { bootMemory, isRefusal } from './boot.js';
import { ArenaHeaderHandoff, MemoryHandoff } from './handoff.js';

const MiB = 1 << 20;

test('pram_banned= starting past a 64 MiB memory is ignored with a log line, not an invariant error', () => {
  const mem = new SimRam({ pageCount: (64 * MiB) / 4096, pageSize: 4096 });
  const handoff = ArenaHeaderHandoff.format(mem);
  const log: string[] = [];
  const b = bootMemory({ mem, handoff, cmdline: 'pram_banned=1G-2G,60M-70M', log: (l) => log.push(l) });
  assert.ok(!isRefusal(b));
  assert.ok(log.some((l) => /pram_banned= range 0x40000000-0x80000000 starts past the memory.*ignored/.test(l)), log.join('\n'));
  // The second range overlaps the end: clamped to the last pfn, still banned.
  assert.deepEqual(b.banned.regions().map((r) => [r.start, r.end]), [[0, 0], [(60 * MiB) / 4096, mem.pageCount - 1]]); // pfn 0: the header, reserved (and so banned)
});

test('a kernel boot (no handoff) and an arena boot both keep pfn 0 out of the data pages', () => {
  const mem = new SimRam({ pageCount: 1024, pageSize: 4096 });
  const k = bootMemory({ mem, cmdline: '', log: () => {}, handoff: new MemoryHandoff() });
  assert.ok(!isRefusal(k));
  assert.notEqual(k.frames.owner[0], 0);
  assert.equal(k.reserved.headPfn, 0);
});

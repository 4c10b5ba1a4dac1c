import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SimRam } from '../mem/simram.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { bootCmdline } from './cmdline.js';

function withoutEnv<T>(fn: () => T): T {
  const saved = process.env['PRAM_CMDLINE'];
  delete process.env['PRAM_CMDLINE'];
  try { return fn(); } finally { if (saved !== undefined) process.env['PRAM_CMDLINE'] = saved; }
}

function source(kind: 'file' | 'blockdev' | 'memfd', path = '/dev/shm/x.pram') {
  const ram = new SimRam({ pageSize: 4096, pageCount: 64 });
  const handoff = ArenaHeaderHandoff.format(ram);
  handoff.commit(0x21, 3);
  return { kind, path, handoff, pageSize: 4096 };
}

test('a /proc/cmdline pram= that disagrees with the arena header is stale: ignored with a warning naming both', () => withoutEnv(() => {
  const src = source('file');
  const warnings: string[] = [];
  const line = bootCmdline(undefined, src, (w) => warnings.push(w), () => 'quiet pram=1f\n');
  assert.equal(line, 'quiet');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /pram=0x1f.*0x21/);
  assert.equal(bootCmdline(undefined, src, () => assert.fail('no warning'), () => 'pram=21'), 'pram=21');
  assert.equal(bootCmdline('pram=5', src, () => {}, () => 'pram=1f'), 'pram=5', 'options win');
  process.env['PRAM_CMDLINE'] = 'pram_banned=4K-8K';
  assert.equal(bootCmdline(undefined, src, () => {}, () => 'pram=1f'), 'pram_banned=4K-8K', 'then the environment (arena offsets)');
}));

test('the host pram_banned= (physical addresses) is dropped for a file or memfd arena, with a warning naming it', () => withoutEnv(() => {
  for (const kind of ['file', 'memfd'] as const) {
    const warnings: string[] = [];
    const line = bootCmdline(undefined, source(kind), (w) => warnings.push(w), () => 'quiet pram_banned=1G-2G pram=21');
    assert.equal(line, 'quiet pram=21');
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, new RegExp(`ignoring pram_banned= from /proc/cmdline.*physical addresses.*${kind}`));
  }
}));

test('the host pram_banned= is shifted by a device arena\'s physical base; unknown base: dropped', () => withoutEnv(() => {
  const src = source('blockdev', '/dev/pmem0');
  const base = () => 0x100000000n; // pmem0 at 4 GiB
  assert.equal(bootCmdline(undefined, src, () => assert.fail('no warning'), () => 'pram_banned=0x100100000-0x100200000,0x1000-0x2000', base),
    'pram_banned=0x100000-0x200000', 'the range below the device is dropped, the other shifted');
  const warnings: string[] = [];
  assert.equal(bootCmdline(undefined, src, (w) => warnings.push(w), () => 'a pram_banned=1M-2M', () => null), 'a');
  assert.match(warnings[0]!, /physical base of \/dev\/pmem0 is unknown/);
}));

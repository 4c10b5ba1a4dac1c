// pram kexec: the next command line, the kexec-tools arguments, and the
// refusals (arena still mounted, nothing saved). The real kexec runs in
// test/e2e/kexec/ inside QEMU.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { cmdlineWords, findKexec, kexecLoadArgs, nextCmdline, plan, savedHead } from './kexec.js';
import { rfcLoad } from '../../pram/testkit.js';
import { Arena } from '../../mem/arena.js';
import { openArena } from '../../api/arena.js';
import { Volume } from '../../fs/volume.js';

test('nextCmdline drops every old pram= and appends the new head pfn in hex', () => {
  assert.equal(nextCmdline('console=ttyS0 pram=1f quiet pram=2', 0x3a), 'console=ttyS0 quiet pram=3a');
  assert.equal(nextCmdline('', 1), 'pram=1');
  assert.equal(nextCmdline('pram_banned=0-128M pram=5', null), 'pram_banned=0-128M');
});

test('nextCmdline: extra key=value replaces the current value, a bare word is added once', () => {
  assert.equal(nextCmdline('a=1 quiet b=2', 7, 'a=9 quiet c=3'), 'b=2 a=9 quiet c=3 pram=7');
  assert.equal(nextCmdline('x=1', 7, 'pram=99'), 'x=1 pram=7', 'pram= in extra never wins over the saved head');
});

test('nextCmdline puts pram= before "--", whose words belong to init', () => {
  assert.equal(nextCmdline('console=ttyS0 pram=1 -- --init-flag x', 0x10, 'e=1'), 'console=ttyS0 e=1 pram=10 -- --init-flag x');
});

test('cmdlineWords keeps double-quoted values whole', () => {
  assert.deepEqual(cmdlineWords('a="x y" b  c=""'), ['a="x y"', 'b', 'c=""']);
  assert.equal(nextCmdline('dyndbg="file a.c +p" pram=1', 2), 'dyndbg="file a.c +p" pram=2');
});

test('kexecLoadArgs: initrd and append; mem-min/max force the kexec_load syscall (-c)', () => {
  assert.deepEqual(kexecLoadArgs('/k', 'a b', { initrd: '/i' }), ['-l', '/k', '--initrd=/i', '--append=a b']);
  assert.deepEqual(kexecLoadArgs('/k', 'a', { memMin: '0', memMax: '128M' }), ['-c', '-l', '/k', '--append=a', '--mem-min=0', '--mem-max=128M']);
});

test('findKexec looks on PATH, then in the sbin directories', () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'pram-kexec-'));
  try {
    const fake = join(dir, 'kexec');
    fs.writeFileSync(fake, '#!/bin/sh\n', { mode: 0o755 });
    assert.equal(findKexec(dir), fake);
    const found = findKexec(join(dir, 'none'));
    assert.ok(found === null || found.endsWith('/kexec'));
  } finally { fs.rmSync(dir, { recursive: true, force: true }); }
});

function withArena(fn: (path: string) => void): void {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'pram-kexec-'));
  try { fn(join(dir, 'a.arena')); } finally { fs.rmSync(dir, { recursive: true, force: true }); }
}
const clock = () => 1_700_000_000_000_000_000n;

test('savedHead refuses an arena that is still mounted (lock held)', () => {
  withArena((path) => {
    const held = Arena.create(path, { sizeBytes: 1 << 20, pageSize: 4096 });
    try {
      assert.throws(() => savedHead(path), (e: Error & { code?: string }) => e.code === 'EBUSY' && /still mounted/.test(e.message));
    } finally { held.close(); }
  });
});

test('savedHead refuses an arena with no saved checkpoint, then names the head of the saved one', () => {
  withArena((path) => {
    openArena(path, { sizeBytes: 1 << 20 }).mem.close();
    assert.throws(() => savedHead(path), (e: Error & { code?: string }) => e.code === 'ENODATA');
    const { mem, handoff } = openArena(path);
    const v = Volume.mount({ mem, handoff, clock });
    const a = v.mknod(1, 'f', 0o100644, 0, 0, 0);
    assert.ok(typeof a !== 'number');
    assert.equal(v.write(a.ino, 0, Buffer.from('hello')), 5);
    assert.equal(v.unmount(), 0);
    const head = savedHead(path);
    assert.ok(head.headPfn > 0 && head.generation >= 1, JSON.stringify(head));
    assert.equal(savedHead(path).headPfn, head.headPfn, 'reading the head changes nothing');
  });
});

test('--format v1: pram= names a v1 chain of the saved image (an RFC-style loader reads it), not the arena checkpoint', () => {
  withArena((path) => {
    const kernel = `${path}.vmlinuz`;
    fs.writeFileSync(kernel, 'not a kernel');
    const { mem, handoff } = openArena(path, { sizeBytes: 1 << 20, extents: true });
    const v = Volume.mount({ mem, handoff, clock, extents: true });
    const want = new Map<string, Buffer>([['a', Buffer.alloc(3 * 4096, 7)], ['b', Buffer.from('hello')]]);
    for (const [name, data] of want) {
      const a = v.mknod(1, name, 0o100644, 0, 0, 0);
      assert.ok(typeof a !== 'number');
      assert.equal(v.write(a.ino, 0, data), data.length);
    }
    assert.equal(v.unmount(), 0);
    const native = plan(kernel, { arena: path, dryRun: true });
    const v1 = plan(kernel, { arena: path, dryRun: true, format: 'v1' });
    assert.equal(v1.format, 'v1');
    assert.equal(v1.generation, native.generation);
    assert.notEqual(v1.headPfn, native.headPfn);
    assert.match(v1.cmdline, new RegExp(`(^| )pram=${v1.headPfn.toString(16)}( |$)`));
    const m = Arena.open(path);
    try {
      assert.deepEqual(rfcLoad(m, v1.headPfn), want);
      assert.equal(typeof rfcLoad(m, native.headPfn), 'string', 'the extents checkpoint is no v1 chain');
    } finally { m.close(); }
  });
});

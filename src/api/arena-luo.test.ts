// The library's luo: arenas on a host without Live Update (the real handover is
// tested in QEMU: test/e2e/luo/): the failures must say what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { openArena } from './arena.js';

const hasLuo = fs.existsSync('/dev/liveupdate');

test('mount({ arena: "luo:NAME" }) without /dev/liveupdate: ENODEV naming the kernel options and parameters', { skip: hasLuo && 'this kernel has LUO' }, async () => {
  await assert.rejects(mount({ arena: 'luo:nothing', cmdline: '' }), (e: Error & { code?: string; errno?: number; path?: string }) =>
    e.code === 'ENODEV' && e.errno === -19 && e.path === 'luo:nothing'
    && /CONFIG_LIVEUPDATE_MEMFD=y/.test(e.message) && /kho=on liveupdate=on/.test(e.message));
});

test('a luo: arena is never created: create options are refused with EINVAL before touching LUO', () => {
  assert.throws(() => openArena('luo:x', { sizeBytes: 1 << 20 }), (e: Error & { code?: string }) =>
    e.code === 'EINVAL' && /never created/.test(e.message));
});

test('a memfd: arena needs create.sizeBytes, and with it mounts, writes and reads', async () => {
  assert.throws(() => openArena('memfd:x'), { code: 'EINVAL' });
  const pfs = await mount({ arena: 'memfd:arena-luo-test', create: { sizeBytes: 4 << 20 }, cmdline: '' });
  try {
    await pfs.writeFile('/a', 'kept in a memfd');
    assert.equal((await pfs.readFile('/a')).toString(), 'kept in a memfd');
    assert.equal((pfs.volume.mem as { kind?: string }).kind, 'memfd');
  } finally { await pfs.unmount(); }
});

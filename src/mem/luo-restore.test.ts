// restoreLuoArena() on a host without the LUO device: every failure names what is missing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { luoSessionName, restoreLuoArena } from './luo.js';

test('the session of arena NAME is pram:NAME', () => {
  assert.equal(luoSessionName('data'), 'pram:data');
});

test('no LUO device: ENODEV with the kernel options and kho=on liveupdate=on', () => {
  assert.throws(() => restoreLuoArena('data', { device: '/nonexistent/liveupdate' }), (e: Error & { code?: string }) =>
    e.code === 'ENODEV' && /CONFIG_KEXEC_HANDOVER=y/.test(e.message) && /kho=on liveupdate=on/.test(e.message));
});

test('a name LUO cannot carry is refused before the device is opened', () => {
  assert.throws(() => restoreLuoArena('x'.repeat(80), { device: '/nonexistent/liveupdate' }), { code: 'EINVAL' });
});

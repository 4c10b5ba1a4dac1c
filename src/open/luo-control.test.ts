// The LUO control path on a host without /dev/liveupdate (the real preserve/kexec runs in
// QEMU: test/e2e/luo/). Checks the socket protocol and that every failure says what to do.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Arena } from '../mem/arena.js';
import { luoKexec, request, restoreLuoArena, serveLuoControl } from './luo-control.js';

const hasLuo = fs.existsSync('/dev/liveupdate');

function setup() {
  const dir = fs.mkdtempSync(join(tmpdir(), 'pram-luo-ctl-'));
  const arena = Arena.memfd('luo-ctl-test', 64 * 1024);
  return { dir, arena, done: () => { arena.close(); fs.rmSync(dir, { recursive: true, force: true }); } };
}

test('status answers with the arena name and size, not preserved', async () => {
  const { dir, arena, done } = setup();
  const server = await serveLuoControl({ name: 'a1', arena, save: () => 0 }, dir);
  try {
    const r = await request(server.socketPath, 'status', 5000);
    assert.deepEqual(r, { ok: true, name: 'a1', preserved: false, bytes: 64 * 1024 });
    assert.equal((fs.statSync(server.socketPath).mode & 0o777), 0o600);
  } finally { server.close(); done(); }
  assert.equal(fs.existsSync(join(dir, 'a1.sock')), false, 'close() removes the socket');
});

test('an unknown request is refused with EINVAL', async () => {
  const { dir, arena, done } = setup();
  const server = await serveLuoControl({ name: 'a2', arena, save: () => 0 }, dir);
  try {
    const r = await request(server.socketPath, 'explode', 5000);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'EINVAL');
  } finally { server.close(); done(); }
});

test('a failed save preserves nothing and says so', async () => {
  const { dir, arena, done } = setup();
  const server = await serveLuoControl({ name: 'a3', arena, save: () => -28 }, dir);
  try {
    const r = await request(server.socketPath, 'preserve', 5000);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'EIO');
    assert.match(String(r.message), /errno 28\); nothing preserved/);
    assert.equal(server.preserved, false);
  } finally { server.close(); done(); }
});

test('a second server for the same arena name is refused while the first runs', async () => {
  const { dir, arena, done } = setup();
  const server = await serveLuoControl({ name: 'a4', arena, save: () => 0 }, dir);
  try {
    await assert.rejects(serveLuoControl({ name: 'a4', arena, save: () => 0 }, dir), { code: 'EBUSY' });
  } finally { server.close(); done(); }
});

test('a stale socket left by a dead server is replaced', async () => {
  const { dir, arena, done } = setup();
  fs.writeFileSync(join(dir, 'a5.sock'), '');
  const server = await serveLuoControl({ name: 'a5', arena, save: () => 0 }, dir);
  try {
    assert.equal((await request(server.socketPath, 'status', 5000)).ok, true);
  } finally { server.close(); done(); }
});

test('without /dev/liveupdate, preserve names the kernel options and liveupdate=on', { skip: hasLuo && 'this host has LUO' }, async () => {
  const { dir, arena, done } = setup();
  let saved = 0;
  const server = await serveLuoControl({ name: 'a6', arena, save: () => { saved++; return 0; } }, dir);
  try {
    const r = await request(server.socketPath, 'preserve', 5000);
    assert.equal(r.ok, false);
    assert.equal(r.code, 'ENODEV');
    assert.match(String(r.message), /CONFIG_LIVEUPDATE=y/);
    assert.match(String(r.message), /liveupdate=on/);
    assert.equal(saved, 1);
    assert.equal(server.preserved, false);
  } finally { server.close(); done(); }
});

test('without /dev/liveupdate, pram kexec --luo and the luo: restore fail with ENODEV before touching anything', { skip: hasLuo && 'this host has LUO' }, async () => {
  const kernel = join(tmpdir(), `pram-luo-fake-kernel-${process.pid}`);
  fs.writeFileSync(kernel, 'not a kernel');
  try {
    await assert.rejects(luoKexec({ kernel, log: () => {} }), (e: Error & { code?: string }) => e.code === 'ENODEV' && /CONFIG_KEXEC_HANDOVER=y/.test(e.message));
    assert.throws(() => restoreLuoArena('nothing'), (e: Error & { code?: string }) => e.code === 'ENODEV' && /kho=on liveupdate=on/.test(e.message));
  } finally { fs.rmSync(kernel, { force: true }); }
});

test('pram kexec --luo with a missing kernel file says which file', async () => {
  await assert.rejects(luoKexec({ kernel: '/nonexistent/bzImage', log: () => {} }), (e: Error & { code?: string }) => e.code === 'ENOENT' && /kernel \/nonexistent\/bzImage/.test(e.message));
});

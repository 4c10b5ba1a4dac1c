// LUO cannot run on a kernel without /dev/liveupdate; these tests check the
// struct encoding against the uapi header's sizes and numbers, and the errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import {
  LUO_IOCTL, LUO_SIZES, PRAM_LUO_TOKEN, LuoError, createSession, decodeFd, encodeFdArg, encodeFinishArg,
  encodeSessionArg, finishSession, preserveFd, retrieveFd, retrieveSession,
} from './luo.js';

test('ioctl numbers are _IO(0xBA, nr) as in include/uapi/linux/liveupdate.h', () => {
  assert.deepEqual({ ...LUO_IOCTL }, {
    CREATE_SESSION: 0xba00, RETRIEVE_SESSION: 0xba01,
    SESSION_PRESERVE_FD: 0xba40, SESSION_RETRIEVE_FD: 0xba41, SESSION_FINISH: 0xba42,
  });
});

test('session argument: 72 bytes, size first, fd 0 (an output), NUL-terminated name at 8', () => {
  const b = encodeSessionArg('pram');
  assert.equal(b.length, 72);
  assert.equal(b.length, LUO_SIZES.session);
  assert.equal(b.readUInt32LE(0), 72);
  assert.equal(b.readInt32LE(4), 0);
  assert.equal(b.toString('latin1', 8, 12), 'pram');
  assert.ok(b.subarray(12).every((x) => x === 0));
  assert.equal(encodeSessionArg('x'.repeat(63)).length, 72);
  assert.throws(() => encodeSessionArg('x'.repeat(64)), LuoError);
  assert.throws(() => encodeSessionArg(''), LuoError);
  assert.throws(() => encodeSessionArg('a\0b'), LuoError);
});

test('fd argument: 16 bytes, u64 token aligned at 8', () => {
  const b = encodeFdArg(7, PRAM_LUO_TOKEN);
  assert.equal(b.length, 16);
  assert.equal(b.readUInt32LE(0), 16);
  assert.equal(b.readInt32LE(4), 7);
  assert.equal(b.readBigUInt64LE(8), 0x5052414dn);
  assert.equal(encodeFdArg(1, 0xffffffffffffffffn).readBigUInt64LE(8), 0xffffffffffffffffn);
  assert.throws(() => encodeFdArg(1, 1n << 64n), LuoError);
  assert.equal(decodeFd(encodeFdArg(-1, 1n)), -1);
  const out = encodeFdArg(-1, 1n);
  out.writeInt32LE(42, 4); // what the kernel does
  assert.equal(decodeFd(out), 42);
});

test('finish argument: 8 bytes, size then a zero reserved word', () => {
  const b = encodeFinishArg();
  assert.equal(b.length, 8);
  assert.equal(b.readUInt32LE(0), 8);
  assert.equal(b.readUInt32LE(4), 0);
});

test('a missing /dev/liveupdate names the kernel options and liveupdate=on', () => {
  const device = join(os.tmpdir(), `no-liveupdate-${process.pid}`);
  for (const f of [() => createSession('pram', { device }), () => retrieveSession('pram', { device })]) {
    assert.throws(f, (e: unknown) => e instanceof LuoError && e.code === 'ENODEV'
      && /CONFIG_LIVEUPDATE/.test(e.message) && /CONFIG_KEXEC_HANDOVER/.test(e.message) && /liveupdate=on/.test(e.message));
  }
});

test('a device that is not LUO: the ioctl error says so', () => {
  assert.throws(() => createSession('pram', { device: '/dev/null' }), (e: unknown) => e instanceof LuoError && e.code === 'ENOTTY');
  const fd = fs.openSync('/dev/null', 'r+');
  try {
    assert.throws(() => preserveFd(fd, 0), { code: 'ENOTTY' });
    assert.throws(() => retrieveFd(fd), { code: 'ENOTTY' });
    assert.throws(() => finishSession(fd), { code: 'ENOTTY' });
  } finally {
    fs.closeSync(fd);
  }
});

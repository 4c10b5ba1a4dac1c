// The protocol core with byte arrays: the session itself -- INIT, the state
// before it and after DESTROY, tracing, a handler that throws -- and the
// requests it refuses before any handler runs (cut short, malformed, unknown,
// names too long). Each opcode's own work: sessionops.test.ts. No /dev/fuse here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { InitFlag, Op, Size } from './wire.js';
import { INIT_FLAGS_WANTED } from './handlers-conn.js';
import { OPS } from './ops.js';
import { call, EIO, ENAMETOOLONG, ENOENT, ENOSYS, initIn, NOW, session } from './sessionkit.js';

test('INIT negotiates 7.38, 1 MiB writes, 256 pages and only the flags the kernel offers', () => {
  const v = new VolumeDouble();
  const s = new FuseSession({ volume: v, clock: () => NOW, log: () => {} });
  const offered = InitFlag.WRITEBACK_CACHE | InitFlag.MAX_PAGES | InitFlag.ASYNC_READ | InitFlag.EXPORT_SUPPORT;
  const r = parseReply(s.handle(request({ opcode: Op.INIT, unique: 2, nodeid: 0 }, initIn(offered))));
  assert.equal(r.error, 0);
  assert.equal(r.unique, 2n);
  assert.equal(r.len, Size.outHeader + Size.initOut);
  assert.equal(r.body.readUInt32LE(0), 7, 'major');
  assert.equal(r.body.readUInt32LE(4), 38, 'minor: ours, the kernel offered 45');
  assert.equal(r.body.readUInt32LE(8), 1 << 17, 'max_readahead: the kernel\'s');
  assert.equal(r.body.readUInt32LE(12), offered & INIT_FLAGS_WANTED, 'flags: offered & wanted');
  assert.equal(r.body.readUInt32LE(12) & InitFlag.EXPORT_SUPPORT, 0, 'export support not asked');
  assert.equal(r.body.readUInt32LE(20), 1 << 20, 'max_write');
  assert.equal(r.body.readUInt16LE(28), 256, 'max_pages');
  assert.equal(s.minor, 38);
});

test('INIT from a kernel older than 7.28 is refused', () => {
  const s = new FuseSession({ volume: new VolumeDouble(), clock: () => NOW, log: () => {} });
  const r = parseReply(s.handle(request({ opcode: Op.INIT, nodeid: 0 }, initIn(0, 27))));
  assert.equal(r.error, -EIO);
  assert.equal(s.initialized, false);
});

test('requests before INIT answer EIO', () => {
  const s = new FuseSession({ volume: new VolumeDouble(), clock: () => NOW, log: () => {} });
  assert.equal(call(s, Op.GETATTR, 1, new Bytes().zeros(16)).error, -EIO);
});

test('unknown and unserved opcodes answer ENOSYS with the request\'s unique', () => {
  const { s } = session();
  for (const op of [Op.GETLK, Op.IOCTL, Op.BMAP, 52, 4096, 999_999]) {
    const r = call(s, op, 1, new Bytes().zeros(64), 1234);
    assert.equal(r.error, -ENOSYS, `opcode ${op}`);
    assert.equal(r.unique, 1234n);
    assert.equal(r.len, Size.outHeader);
  }
});

test('a request cut short at every byte answers EIO, never hangs or throws', () => {
  const { s } = session();
  const whole = request({ opcode: Op.SETATTR, unique: 77, nodeid: 1 }, new Bytes().zeros(Size.setattrIn));
  for (let cut = Size.inHeader; cut < whole.length; cut++) {
    const msg = Buffer.from(whole.subarray(0, cut));
    msg.writeUInt32LE(cut, 0);   // a consistent len: the struct itself is short
    const r = parseReply(s.handle(msg));
    assert.equal(r.error, -EIO, `cut at ${cut}`);
    assert.equal(r.unique, 77n);
  }
  // shorter than the header: no unique to answer, dropped and counted
  assert.equal(s.handle(whole.subarray(0, 20)), null);
  // len disagreeing with the bytes read
  const lying = Buffer.from(whole);
  lying.writeUInt32LE(whole.length + 8, 0);
  assert.equal(parseReply(s.handle(lying)).error, -EIO);
});

test('names must be NUL-terminated, non-empty, without "/"', () => {
  const { s } = session();
  assert.equal(call(s, Op.LOOKUP, 1, new Bytes().raw(Buffer.from('abc'))).error, -EIO, 'no NUL');
  assert.equal(call(s, Op.LOOKUP, 1, new Bytes().cstr('')).error, -EIO, 'empty');
  assert.equal(call(s, Op.LOOKUP, 1, new Bytes().cstr('a/b')).error, -EIO, 'slash');
  assert.equal(call(s, Op.LOOKUP, 1, new Bytes().cstr('x'.repeat(1025))).error, -EIO, 'past FUSE_NAME_MAX: the kernel never sends it');
});

test('a name of 256..1024 bytes answers ENAMETOOLONG for every opcode that takes one, without reaching fs/', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  const fIno = (v.lookup(1, 'f') as { ino: number }).ino;
  const calls = v.calls.length;
  for (const long of ['x'.repeat(256), 'é'.repeat(128), 'y'.repeat(1024)]) {   // 'é' is 2 bytes: 256 bytes in 128 units
    const cases: [string, number, Bytes][] = [
      ['LOOKUP', Op.LOOKUP, new Bytes().cstr(long)],
      ['MKDIR', Op.MKDIR, new Bytes().u32(0o755).u32(0o022).cstr(long)],                       // mode, umask
      ['MKNOD', Op.MKNOD, new Bytes().u32(0o010644).u32(0).u32(0o022).u32(0).cstr(long)],      // mode (fifo), rdev, umask, padding
      ['CREATE', Op.CREATE, new Bytes().u32(0o101).u32(0o100644).u32(0o022).u32(0).cstr(long)], // flags, mode, umask, open_flags
      ['SYMLINK', Op.SYMLINK, new Bytes().cstr(long).cstr('target')],                           // name, then target
      ['LINK', Op.LINK, new Bytes().u64(fIno).cstr(long)],                                      // oldnodeid
      ['UNLINK', Op.UNLINK, new Bytes().cstr(long)],
      ['RMDIR', Op.RMDIR, new Bytes().cstr(long)],
      ['RENAME old', Op.RENAME, new Bytes().u64(1).cstr(long).cstr('g')],                       // newdir
      ['RENAME new', Op.RENAME, new Bytes().u64(1).cstr('f').cstr(long)],
      ['RENAME2 new', Op.RENAME2, new Bytes().u64(1).u32(1).u32(0).cstr('f').cstr(long)],       // newdir, flags, padding
    ];
    for (const [what, opcode, body] of cases) {
      const r = call(s, opcode, 1, body, 99);
      assert.equal(r.error, -ENAMETOOLONG, `${what} with ${Buffer.byteLength(long)} bytes`);
      assert.equal(r.unique, 99n);
      assert.equal(r.len, Size.outHeader, `${what}: header only`);
    }
  }
  assert.equal(v.calls.length, calls, 'no call reached fs/');
  assert.equal(s.counts.malformed, 0, 'well-formed requests, not decode errors');
  // 255 bytes is a name like any other
  assert.equal(call(s, Op.LOOKUP, 1, new Bytes().cstr('z'.repeat(255))).body.readBigUInt64LE(0), 0n, 'a negative entry');
  assert.equal(call(s, Op.MKDIR, 1, new Bytes().u32(0o755).u32(0).cstr('z'.repeat(255))).error, 0);
});

test('a handler that throws (a bug) still answers, with EIO', () => {
  const { s, v } = session();
  v.getattr = () => { throw new Error('boom'); };
  const r = call(s, Op.GETATTR, 1, new Bytes().zeros(16), 31);
  assert.equal(r.error, -EIO);
  assert.equal(r.unique, 31n);
});

test('DESTROY answers and marks the session destroyed', () => {
  const { s } = session();
  assert.equal(call(s, Op.DESTROY, 0).error, 0);
  assert.equal(s.destroyed, true);
});

test('--debug tracing: one rx and one tx line per message', () => {
  const lines: string[] = [];
  const v = new VolumeDouble();
  const s = new FuseSession({ volume: v, clock: () => NOW, trace: (l) => lines.push(l), log: () => {} });
  s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(0)));
  s.handle(request({ opcode: Op.GETATTR, unique: 12, nodeid: 9 }, new Bytes().zeros(Size.getattrIn)));
  assert.deepEqual(lines, ['rx 1: INIT n0', 'tx 1: OK 64 bytes', 'rx 12: GETATTR n9', 'tx 12: -ENOENT']);
});

test('every opcode in the table: a struct one byte short answers EIO (or nothing, for the no-reply ones)', () => {
  const { s } = session();
  for (const [code, spec] of Object.entries(OPS)) {
    const opcode = Number(code);
    if (spec.inBytes === 0 || opcode === Op.INIT) continue;
    const msg = request({ opcode, unique: 500 + opcode, nodeid: 1 }, new Bytes().zeros(spec.inBytes - 1));
    const out = s.handle(msg);
    if (!spec.reply) { assert.equal(out, null, spec.name); continue; }
    const r = parseReply(out);
    assert.equal(r.error, -EIO, spec.name);
    assert.equal(r.unique, BigInt(500 + opcode), spec.name);
  }
});

test('every opcode with names: a name without its NUL answers EIO', () => {
  const { s } = session();
  for (const [code, spec] of Object.entries(OPS)) {
    if (spec.names.length === 0) continue;
    const r = parseReply(s.handle(request({ opcode: Number(code), nodeid: 1 }, new Bytes().zeros(spec.inBytes).raw(Buffer.from('abc')))));
    assert.equal(r.error, -EIO, spec.name);
  }
});

test('a node id past 2^53 - 1 in the in-header is malformed input: EIO, no handler called, the next request served', () => {
  const { s } = session();
  const r = call(s, Op.GETATTR, 2 ** 53, new Bytes().u32(0).u32(0).u64(0));
  assert.equal(r.error, -EIO);
  assert.equal(s.counts.malformed, 1);
  assert.equal(call(s, Op.GETATTR, 2 ** 53 - 1, new Bytes().u32(0).u32(0).u64(0)).error, -ENOENT, 'the largest safe id decodes (no such node)');
  assert.equal(call(s, Op.GETATTR, 1, new Bytes().u32(0).u32(0).u64(0)).error, 0);
});

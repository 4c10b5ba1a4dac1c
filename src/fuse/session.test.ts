// The protocol core with byte arrays: requests built field by field as the
// kernel writes them, replies checked field by field. No /dev/fuse here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { Fattr, InitFlag, Op, Size } from './wire.js';
import { INIT_FLAGS_WANTED } from './handlers-conn.js';
import { OPS } from './ops.js';

const ENOENT = 2, EIO = 5, EEXIST = 17, EINVAL = 22, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, EOPNOTSUPP = 95;
const NOW = 1_800_000_000_000_000_000n;

function initIn(flags: number, minor = 45): Bytes {
  return new Bytes()
    .u32(7)          // major
    .u32(minor)      // minor
    .u32(1 << 17)    // max_readahead
    .u32(flags)      // flags
    .u32(0)          // flags2
    .zeros(44);      // unused[11]
}

function session(): { s: FuseSession; v: VolumeDouble } {
  const v = new VolumeDouble();
  const s = new FuseSession({ volume: v, clock: () => NOW, validity: { entrySec: 1, attrSec: 1 }, log: () => {} });
  const r = parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(0xffffffff))));
  assert.equal(r.error, 0);
  return { s, v };
}

function call(s: FuseSession, opcode: number, nodeid: number, body: Bytes = new Bytes(), unique = 7) {
  return parseReply(s.handle(request({ opcode, unique, nodeid }, body)));
}

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

test('LOOKUP finds a name; a missing one is a negative entry (nodeid 0) the kernel may cache', () => {
  const { s, v } = session();
  v.mknod(1, 'a', 0o100644, 0, 0, 0);
  const r = call(s, Op.LOOKUP, 1, new Bytes().cstr('a'));
  assert.equal(r.error, 0);
  assert.equal(r.len, Size.outHeader + Size.entryOut);
  assert.equal(r.body.readBigUInt64LE(0), 2n, 'nodeid');
  assert.equal(r.body.readUInt32LE(40 + 60), 0o100644, 'attr.mode');
  const miss = call(s, Op.LOOKUP, 1, new Bytes().cstr('zz'));
  assert.equal(miss.error, 0);
  assert.equal(miss.len, Size.outHeader + Size.entryOut);
  assert.equal(miss.body.readBigUInt64LE(0), 0n, 'nodeid 0: no such name, and no lookup counted');
  assert.equal(miss.body.readBigUInt64LE(16), 1n, 'entry_valid: the negative dentry lives as long as a positive one');
  assert.equal(miss.body.readBigUInt64LE(24), 0n, 'attr_valid: no attributes');
  assert.ok(miss.body.subarray(40).every((b) => b === 0), 'no attributes');
  assert.equal(v.calls.filter((c) => c.startsWith('forget')).length, 0);
  // other errors stay errors
  assert.equal(call(s, Op.LOOKUP, 2, new Bytes().cstr('x')).error, -20 /* ENOTDIR */);
});

test('FLUSH and OPENDIR answer ENOSYS, so the kernel stops sending them (and RELEASEDIR)', () => {
  const { s } = session();
  assert.equal(call(s, Op.FLUSH, 1, new Bytes().zeros(Size.flushIn)).error, -ENOSYS);
  assert.equal(call(s, Op.OPENDIR, 1, new Bytes().zeros(Size.openIn)).error, -ENOSYS);
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

test('FORGET, BATCH_FORGET and INTERRUPT get no reply; forgets reach fs/', () => {
  const { s, v } = session();
  assert.equal(s.handle(request({ opcode: Op.FORGET, nodeid: 5 }, new Bytes().u64(3))), null);
  const batch = new Bytes()
    .u32(2).u32(0)      // count, dummy
    .u64(6).u64(1)      // nodeid, nlookup
    .u64(7).u64(9);
  assert.equal(s.handle(request({ opcode: Op.BATCH_FORGET, nodeid: 0 }, batch)), null);
  assert.equal(s.handle(request({ opcode: Op.INTERRUPT, nodeid: 0 }, new Bytes().u64(5))), null);
  assert.deepEqual(v.forgotten, [[5, 3], [6, 1], [7, 9]]);
});

test('BATCH_FORGET with a count beyond its list stops at the list end', () => {
  const { s, v } = session();
  const batch = new Bytes().u32(1000).u32(0).u64(6).u64(1);
  assert.equal(s.handle(request({ opcode: Op.BATCH_FORGET, nodeid: 0 }, batch)), null);
  assert.deepEqual(v.forgotten, [[6, 1]]);
});

test('CREATE makes, counts a lookup and opens: entry_out then open_out', () => {
  const { s, v } = session();
  const r = call(s, Op.CREATE, 1, new Bytes()
    .u32(0o100)        // flags: O_CREAT
    .u32(0o100640)     // mode
    .u32(0o022)        // umask
    .u32(0)            // open_flags
    .cstr('new'));
  assert.equal(r.error, 0);
  assert.equal(r.len, Size.outHeader + Size.entryOut + Size.openOut);
  const ino = Number(r.body.readBigUInt64LE(0));
  assert.equal(r.body.readBigUInt64LE(Size.entryOut), BigInt(ino), 'fh = ino');
  assert.ok(v.calls.includes(`mknod 1 new 100640 0 1000 1000`), v.calls.join('\n'));
  assert.ok(v.calls.includes(`lookup 1 new`), 'counted as the kernel counts it');
  assert.ok(v.calls.includes(`open ${ino}`));
  assert.equal(call(s, Op.CREATE, 1, new Bytes().u32(0).u32(0o100644).u32(0).u32(0).cstr('new')).error, -EEXIST);
});

test('WRITE then READ round trip; READ past the end is empty', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  const data = Buffer.from('hello, pram');
  const w = call(s, Op.WRITE, 2, new Bytes()
    .u64(2).u64(100)          // fh, offset
    .u32(data.length).u32(0)  // size, write_flags
    .u64(0).u32(0).u32(0)     // lock_owner, flags, padding
    .raw(data));
  assert.equal(w.error, 0);
  assert.equal(w.body.readUInt32LE(0), data.length, 'write_out.size');
  const readIn = (off: number, size: number) => new Bytes().u64(2).u64(off).u32(size).u32(0).u64(0).u32(0).u32(0);
  const r = call(s, Op.READ, 2, readIn(100, 4096));
  assert.deepEqual(r.body, data);
  assert.equal(call(s, Op.READ, 2, readIn(5000, 10)).body.length, 0);
});

test('WRITE whose size exceeds the data sent answers EIO', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  const r = call(s, Op.WRITE, 2, new Bytes().u64(2).u64(0).u32(100).u32(0).u64(0).u32(0).u32(0).raw(Buffer.alloc(10)));
  assert.equal(r.error, -EIO);
});

test('SETATTR passes only the valid fields; ATIME_NOW uses the clock', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  const body = new Bytes()
    .u32(Fattr.MODE | Fattr.SIZE | Fattr.ATIME_NOW | Fattr.ATIME | Fattr.MTIME)  // valid
    .u32(0)            // padding
    .u64(0)            // fh
    .u64(12)           // size
    .u64(0)            // lock_owner
    .u64(1)            // atime (ignored: ATIME_NOW)
    .u64(1000)         // mtime
    .u64(0)            // ctime (not valid)
    .u32(0)            // atimensec
    .u32(5)            // mtimensec
    .u32(0)            // ctimensec
    .u32(0o100600)     // mode
    .u32(0)            // unused4
    .u32(55)           // uid (not valid)
    .u32(66)           // gid (not valid)
    .u32(0);           // unused5
  const r = call(s, Op.SETATTR, 2, body);
  assert.equal(r.error, 0);
  assert.equal(r.len, Size.outHeader + Size.attrOut);
  assert.equal(v.calls.at(-1), `setattr 2 {"mode":33152,"size":12,"atimeNs":"${NOW}","mtimeNs":"1000000000005"}`);
  assert.equal(r.body.readUInt32LE(16 + 60), 0o100600, 'attr.mode in the reply');
  assert.equal(r.body.readBigUInt64LE(16 + 8), 12n, 'attr.size in the reply');
});

test('GETXATTR and LISTXATTR: size 0 probes the length, a short buffer is ERANGE', () => {
  const { s, v } = session();
  v.setxattr(1, 'user.k', Buffer.from('value'), 0);
  v.setxattr(1, 'user.j', Buffer.from('v'), 0);
  const get = (size: number, name: string) => call(s, Op.GETXATTR, 1, new Bytes().u32(size).u32(0).cstr(name));
  assert.equal(get(0, 'user.k').body.readUInt32LE(0), 5);
  assert.equal(get(4, 'user.k').error, -ERANGE);
  assert.deepEqual(get(5, 'user.k').body, Buffer.from('value'));
  assert.equal(get(100, 'user.none').error, -61);
  assert.equal(get(100, 'system.posix_acl_access').error, -EOPNOTSUPP);
  const list = (size: number) => call(s, Op.LISTXATTR, 1, new Bytes().u32(size).u32(0));
  assert.equal(list(0).body.readUInt32LE(0), 14);
  assert.equal(list(13).error, -ERANGE);
  assert.deepEqual(list(14).body, Buffer.from('user.k\0user.j\0'));
});

test('SETXATTR passes a copy of the value and the flags', () => {
  const { s, v } = session();
  const req = request({ opcode: Op.SETXATTR, nodeid: 1 }, new Bytes().u32(3).u32(1).cstr('user.a').raw(Buffer.from('xyz')));
  assert.equal(parseReply(s.handle(req)).error, 0);
  req.fill(0);   // the loop reuses its buffer
  assert.deepEqual(Buffer.from(v.getxattr(1, 'user.a') as Uint8Array), Buffer.from('xyz'));
  const again = call(s, Op.SETXATTR, 1, new Bytes().u32(1).u32(1).cstr('user.a').raw(Buffer.from('q')));
  assert.equal(again.error, -EEXIST, 'XATTR_CREATE on an existing name');
});

test('xattr names may hold "/" (as on every Linux file system) and are not path components', () => {
  const { s, v } = session();
  const set = call(s, Op.SETXATTR, 1, new Bytes().u32(1).u32(0).cstr('user.a/b').raw(Buffer.from('v')));   // size, flags, name, value
  assert.equal(set.error, 0);
  assert.deepEqual(Buffer.from(v.getxattr(1, 'user.a/b') as Uint8Array), Buffer.from('v'));
  const get = call(s, Op.GETXATTR, 1, new Bytes().u32(16).u32(0).cstr('user.a/b'));                       // size, padding, name
  assert.deepEqual(get.body, Buffer.from('v'));
  assert.equal(call(s, Op.REMOVEXATTR, 1, new Bytes().cstr('user.a/b')).error, 0);
  assert.equal(call(s, Op.GETXATTR, 1, new Bytes().u32(0).u32(0).raw(Buffer.from('user.x'))).error, -EIO, 'no NUL: malformed');
});

test('RENAME2 passes NOREPLACE/EXCHANGE, refuses other flags', () => {
  const { s, v } = session();
  v.mknod(1, 'a', 0o100644, 0, 0, 0);
  const body = (flags: number) => new Bytes().u64(1).u32(flags).u32(0).cstr('a').cstr('b');
  assert.equal(call(s, Op.RENAME2, 1, body(4)).error, -EINVAL, 'WHITEOUT');
  assert.equal(call(s, Op.RENAME2, 1, body(3)).error, -EINVAL, 'both');
  assert.equal(call(s, Op.RENAME2, 1, body(1)).error, 0);
  assert.equal(v.calls.at(-1), 'rename 1 a 1 b 1');
  assert.equal(call(s, Op.RENAME, 1, new Bytes().u64(1).cstr('b').cstr('c')).error, 0);
  assert.equal(v.calls.at(-1), 'rename 1 b 1 c 0');
});

test('SYMLINK takes the name then the target; READLINK returns the target without NUL', () => {
  const { s } = session();
  const r = call(s, Op.SYMLINK, 1, new Bytes().cstr('ln').cstr('../some/where'));
  assert.equal(r.error, 0);
  const ino = Number(r.body.readBigUInt64LE(0));
  assert.deepEqual(call(s, Op.READLINK, ino).body, Buffer.from('../some/where'));
});

test('READDIR packs 8-aligned dirents whose off is the next cookie, and resumes from it', () => {
  const { s, v } = session();
  for (const n of ['a', 'bb', 'ccc']) v.mknod(1, n, 0o100644, 0, 0, 0);
  const readIn = (cookie: number, size: number) => new Bytes().u64(0).u64(cookie).u32(size).u32(0).u64(0).u32(0).u32(0);
  const parse = (b: Buffer) => {
    const out: [string, number][] = [];
    for (let at = 0; at < b.length;) {
      const len = b.readUInt32LE(at + 16);
      out.push([b.toString('utf8', at + 24, at + 24 + len), Number(b.readBigUInt64LE(at + 8))]);
      at += (24 + len + 7) & ~7;
    }
    return out;
  };
  assert.deepEqual(parse(call(s, Op.READDIR, 1, readIn(0, 4096)).body), [['.', 1], ['..', 2], ['a', 3], ['bb', 4], ['ccc', 5]]);
  const first = parse(call(s, Op.READDIR, 1, readIn(0, 64)).body);
  assert.deepEqual(first, [['.', 1], ['..', 2]], 'a 64-byte buffer holds two 32-byte records');
  assert.deepEqual(parse(call(s, Op.READDIR, 1, readIn(2, 4096)).body), [['a', 3], ['bb', 4], ['ccc', 5]]);
  assert.equal(call(s, Op.READDIR, 1, readIn(5, 4096)).body.length, 0, 'end of directory');
});

test('READDIRPLUS: "." and ".." carry nodeid 0, other entries a counted lookup', () => {
  const { s, v } = session();
  v.mknod(1, 'a', 0o100644, 0, 0, 0);
  const r = call(s, Op.READDIRPLUS, 1, new Bytes().u64(0).u64(0).u32(4096).u32(0).u64(0).u32(0).u32(0));
  const rec = 152 + 8;   // direntplus with a 1..8 byte name
  assert.equal(r.body.length, 3 * rec);
  assert.equal(r.body.readBigUInt64LE(0), 0n, '"." nodeid');
  assert.equal(r.body.readBigUInt64LE(rec), 0n, '".." nodeid');
  assert.equal(r.body.readBigUInt64LE(2 * rec), 2n, '"a" nodeid');
  assert.equal(r.body.toString('utf8', 2 * rec + 152, 2 * rec + 153), 'a');
  assert.ok(v.calls.includes('lookup 1 a'));
});

test('OPEN with O_TRUNC truncates (atomic_o_trunc); FSYNC reaches fs/ as a checkpoint', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  v.write(2, 0, Buffer.from('abc'));
  const r = call(s, Op.OPEN, 2, new Bytes().u32(0o1001).u32(0));
  assert.equal(r.error, 0);
  assert.equal(r.body.readUInt32LE(8) & 2, 2, 'FOPEN_KEEP_CACHE');
  assert.equal((v.getattr(2) as { size: number }).size, 0);
  assert.equal(call(s, Op.FSYNC, 2, new Bytes().u64(2).u32(0).u32(0)).error, 0);
  assert.equal(v.syncs, 1);
});

test('LSEEK: SEEK_DATA/SEEK_HOLE reach fs/, others are EINVAL', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  v.write(2, 0, Buffer.alloc(100));
  const seek = (off: number, whence: number) => call(s, Op.LSEEK, 2, new Bytes().u64(2).u64(off).u32(whence).u32(0));
  assert.equal(seek(10, 3).body.readBigUInt64LE(0), 10n);
  assert.equal(seek(10, 4).body.readBigUInt64LE(0), 100n);
  assert.equal(seek(10, 0).error, -EINVAL);
});

test('COPY_FILE_RANGE copies through fs/ and answers the bytes copied', () => {
  const { s, v } = session();
  v.mknod(1, 'a', 0o100644, 0, 0, 0);
  v.mknod(1, 'b', 0o100644, 0, 0, 0);
  v.write(2, 0, Buffer.from('0123456789'));
  const r = call(s, Op.COPY_FILE_RANGE, 2, new Bytes()
    .u64(2).u64(3)       // fh_in, off_in
    .u64(3).u64(3)       // nodeid_out, fh_out
    .u64(1)              // off_out
    .u64(100)            // len (past the end of the source)
    .u64(0));            // flags
  assert.equal(r.error, 0);
  assert.equal(r.body.readUInt32LE(0), 7);
  assert.deepEqual(Buffer.from(v.read(3, 0, 100) as Uint8Array), Buffer.from('\x003456789'));
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

test('KILLPRIV_V2: a WRITE flagged KILL_SUIDGID drops suid, sgid (group-executable) and security.capability', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o106775, 0, 0, 0);
  v.setxattr(2, 'security.capability', Buffer.from([1, 2, 3]), 0);
  const write = (flags: number) => call(s, Op.WRITE, 2, new Bytes().u64(2).u64(0).u32(1).u32(flags).u64(0).u32(0).u32(0).raw(Buffer.from('x')));
  assert.equal(write(0).error, 0);
  assert.equal((v.getattr(2) as { mode: number }).mode, 0o106775, 'unflagged write keeps the bits');
  assert.equal(write(4).error, 0);
  assert.equal((v.getattr(2) as { mode: number }).mode, 0o100775);
  assert.equal(v.getxattr(2, 'security.capability'), -61);
});

test('KILLPRIV_V2: SETATTR with KILL_SUIDGID keeps sgid when the group cannot execute', () => {
  const { s, v } = session();
  v.mknod(1, 'f', 0o106644, 0, 0, 0);
  const body = new Bytes()
    .u32(Fattr.UID | Fattr.KILL_SUIDGID).u32(0)   // valid, padding
    .u64(0).u64(0).u64(0)                          // fh, size, lock_owner
    .u64(0).u64(0).u64(0)                          // atime, mtime, ctime
    .u32(0).u32(0).u32(0)                          // nsecs
    .u32(0).u32(0)                                 // mode, unused4
    .u32(42).u32(0).u32(0);                        // uid, gid, unused5
  const r = call(s, Op.SETATTR, 2, body);
  assert.equal(r.error, 0);
  assert.equal(r.body.readUInt32LE(16 + 60), 0o102644, 'suid gone, sgid without group exec kept');
  assert.equal(r.body.readUInt32LE(16 + 68), 42, 'uid');
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

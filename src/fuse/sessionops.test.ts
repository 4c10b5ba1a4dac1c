// The protocol core with byte arrays, opcode by opcode: requests built field by
// field as the kernel writes them, what reaches fs/ (the double's call log) and
// the reply checked field by field. The session's INIT, lifecycle and refusals:
// session.test.ts. No /dev/fuse here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Bytes, parseReply, request } from './testbytes.js';
import { Fattr, Op, Size } from './wire.js';
import { call, EEXIST, EINVAL, EIO, ENOSYS, EOPNOTSUPP, ERANGE, NOW, session } from './sessionkit.js';

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

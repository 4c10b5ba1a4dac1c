// The writeback decision, with byte arrays (no mount): INIT offers the cache
// only when the policy allows it, an open for writing below the headroom gets
// FOPEN_DIRECT_IO, and a WRITE from the kernel's cache may use the reserve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { InitFlag, Op, type StatFs } from './wire.js';
import { FOPEN_DIRECT_IO, FUSE_WRITE_CACHE, WritebackPolicy, headroomBytes } from './writeback.js';

const NOW = 1_800_000_000_000_000_000n;
const O_RDONLY = 0, O_WRONLY = 1;

/** A double whose free space the test sets, and that records how each write was asked to be stored. */
class RoomDouble extends VolumeDouble {
  avail = 1000;
  readonly fromReserve: boolean[] = [];
  override statfs(): StatFs { return { ...super.statfs(), bfree: this.avail, bavail: this.avail }; }
  override write(ino: number, offset: number, data: Uint8Array, opts: { fromReserve?: boolean } = {}): number {
    this.fromReserve.push(opts.fromReserve === true);
    return super.write(ino, offset, data);
  }
}

function session(policy: WritebackPolicy) {
  const v = new RoomDouble();
  const s = new FuseSession({ volume: v, clock: () => NOW, log: () => {}, writeback: policy });
  const init = new Bytes().u32(7).u32(45).u32(1 << 17).u32(InitFlag.WRITEBACK_CACHE | InitFlag.MAX_PAGES).u32(0).zeros(44);
  const r = parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, init)));
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  return { s, v, initFlags: r.body.readUInt32LE(12) };
}

const openFlags = (s: FuseSession, flags: number) =>
  parseReply(s.handle(request({ opcode: Op.OPEN, unique: 3, nodeid: 2 }, new Bytes().u32(flags).u32(0)))).body.readUInt32LE(8);

test('headroom: INIT offers the writeback cache; off: it does not', () => {
  assert.equal(session(new WritebackPolicy('headroom', 100)).initFlags & InitFlag.WRITEBACK_CACHE, InitFlag.WRITEBACK_CACHE);
  assert.equal(session(new WritebackPolicy('off')).initFlags & InitFlag.WRITEBACK_CACHE, 0);
});

test('an open for writing below the headroom gets FOPEN_DIRECT_IO; above it, or read-only, the cache', () => {
  const policy = new WritebackPolicy('headroom', 100);
  const { s, v } = session(policy);
  assert.equal(openFlags(s, O_WRONLY) & FOPEN_DIRECT_IO, 0, 'ample room: cached');
  v.avail = 99;
  assert.equal(openFlags(s, O_WRONLY) & FOPEN_DIRECT_IO, FOPEN_DIRECT_IO, 'short of room: synchronous writes');
  assert.equal(openFlags(s, O_RDONLY) & FOPEN_DIRECT_IO, 0, 'a reader never waits on this');
  assert.equal(policy.directOpens, 1);
});

test('a WRITE from the kernel cache (FUSE_WRITE_CACHE) may use the reserve; a direct one may not', () => {
  const { s, v } = session(new WritebackPolicy('headroom', 100));
  const write = (flags: number) => parseReply(s.handle(request({ opcode: Op.WRITE, unique: 5, nodeid: 2 },
    new Bytes().u64(2).u64(0).u32(3).u32(flags).u64(0).u32(0).u32(0).raw(Buffer.from('abc')))));
  assert.equal(write(FUSE_WRITE_CACHE).error, 0);
  assert.equal(write(0).error, 0);
  assert.deepEqual(v.fromReserve, [true, false]);
});

test('headroomBytes: a sixteenth of the volume within 1 MiB .. 64 MiB', () => {
  assert.equal(headroomBytes(4 << 20), 1 << 20);
  assert.equal(headroomBytes(256 << 20), 16 << 20);
  assert.equal(headroomBytes(64 * 2 ** 30), 64 << 20);
});

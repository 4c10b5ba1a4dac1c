// FUSE over io_uring without a mount: INIT asks for it only when the rings are
// ready and the kernel offers it, and registering waits until INIT's reply has
// been sent; a request laid out in a ring entry as the kernel lays it out
// (in_header in in_out, the op struct in op_in, the rest in the payload) is
// served by the one session and its reply lands where the kernel reads it.
// The rings are real io_uring instances (no /dev/fuse: commits complete with
// EBADF on a ring no thread reads, which these tests never look at).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { InitFlag, InitFlag2, Op, Size } from './wire.js';
import { UringHeader, UringTransport, kernelUring, possibleCpus } from './uring.js';

const NOW = 1_800_000_000_000_000_000n;

function initIn(flags: number, flags2: number): Bytes {
  return new Bytes()
    .u32(7)          // major
    .u32(45)         // minor
    .u32(1 << 17)    // max_readahead
    .u32(flags)      // flags
    .u32(flags2)     // flags2
    .zeros(44);      // unused[11]
}

function init(s: FuseSession, flags2: number) {
  return parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(InitFlag.INIT_EXT | InitFlag.MAX_PAGES, flags2))));
}

const newSession = (v = new VolumeDouble()) => new FuseSession({ volume: v, clock: () => NOW, log: () => {} });

test('INIT asks for io_uring when the rings are ready and the kernel offers it; registering waits for the reply to be sent', () => {
  const s = newSession();
  let started = 0;
  s.uring.ready = true;
  s.uring.start = () => started++;
  const r = init(s, InitFlag2.OVER_IO_URING);
  assert.equal(r.error, 0);
  assert.equal(r.body.readUInt32LE(12) & InitFlag.INIT_EXT, InitFlag.INIT_EXT, 'flags: INIT_EXT, so the kernel reads flags2');
  assert.equal(r.body.readUInt32LE(32), InitFlag2.OVER_IO_URING, 'flags2: FUSE_OVER_IO_URING');
  assert.ok(s.uring.offered && s.uring.granted);
  assert.equal(started, 0, 'not before the reply reached the kernel (it answers EAGAIN to REGISTER before INIT)');
  s.replySent();
  assert.equal(started, 1);
  s.replySent();
  assert.equal(started, 1, 'once');
});

test('INIT does not ask for io_uring when the kernel does not offer it, nor when no rings are ready', () => {
  const notOffered = newSession();
  notOffered.uring.ready = true;
  let r = init(notOffered, 0);
  assert.equal(r.body.readUInt32LE(12) & InitFlag.INIT_EXT, 0);
  assert.equal(r.body.readUInt32LE(32), 0);
  assert.ok(!notOffered.uring.offered && !notOffered.uring.granted);
  const noRings = newSession();
  r = init(noRings, InitFlag2.OVER_IO_URING);
  assert.equal(r.body.readUInt32LE(32), 0, 'granting without rings would hold every request back forever');
  assert.ok(noRings.uring.offered && !noRings.uring.granted);
});

test('kernelUring reads the module parameter and names the remedy', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uring-param-'));
  try {
    const p = path.join(dir, 'enable_uring');
    fs.writeFileSync(p, 'Y\n');
    assert.equal(kernelUring(p).enabled, true);
    fs.writeFileSync(p, 'N\n');
    const off = kernelUring(p);
    assert.equal(off.enabled, false);
    assert.match(off.why, /is N; echo Y > .*enable_uring, or boot with fuse\.enable_uring=1/);
    assert.match(kernelUring(path.join(dir, 'missing')).why, /no FUSE over io_uring .*CONFIG_FUSE_IO_URING/);
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

test('possibleCpus counts ranges and lists as the kernel prints them', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uring-cpus-'));
  try {
    const p = path.join(dir, 'possible');
    for (const [text, n] of [['0\n', 1], ['0-1\n', 2], ['0-3,8-11\n', 8], ['0,2,4\n', 3]] as const) {
      fs.writeFileSync(p, text);
      assert.equal(possibleCpus(p), n, text);
    }
  } finally {
    fs.rmSync(dir, { recursive: true });
  }
});

/** A request as the kernel puts it in an entry: in_header in in_out, args[0] in op_in, the rest in the payload. */
function place(ent: Buffer, payloadAt: number, opcode: number, nodeid: number, op: Buffer, payload: Buffer, unique = 99n): void {
  const msg = request({ opcode, nodeid, unique: Number(unique) }, Buffer.concat([op, payload]));
  msg.copy(ent, UringHeader.inOut, 0, Size.inHeader);
  op.copy(ent, UringHeader.opIn);
  payload.copy(ent, payloadAt);
  ent.writeBigUInt64LE(unique, UringHeader.commitId);
  ent.writeUInt32LE(payload.length, UringHeader.payloadSz);
}

test('a WRITE and a READ in a ring entry are served by the session; replies land in in_out and the payload', () => {
  const v = new VolumeDouble();
  const s = newSession(v);
  s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(0, 0)));
  v.mknod(1, 'f', 0o100644, 0, 0, 0);
  const t = new UringTransport(s, -1, { queues: 1 });
  try {
    const rings = (t as unknown as { rings: { entries: Buffer[]; payloadAt: number } }).rings;
    const ent = rings.entries[0]!, at = rings.payloadAt;
    assert.equal(rings.entries.length, t.entriesPerQueue);
    const completed = (res: number) => (t as unknown as { completed(q: number, e: number, r: number): void }).completed(0, 0, res);
    const data = Buffer.alloc(300_000, 0x5a);
    const writeIn = new Bytes().u64(2).u64(4096).u32(data.length).u32(0).u64(0).u32(0).u32(0).build();   // fuse_write_in
    place(ent, at, Op.WRITE, 2, writeIn, data);
    completed(0);
    assert.equal(ent.readInt32LE(UringHeader.inOut + 4), 0, 'out_header.error');
    assert.equal(ent.readBigUInt64LE(UringHeader.inOut + 8), 99n, 'out_header.unique');
    assert.equal(ent.readUInt32LE(UringHeader.payloadSz), 8, 'payload_sz: fuse_write_out, the header not counted');
    assert.equal(ent.readUInt32LE(at), data.length, 'write_out.size');
    assert.deepEqual(Buffer.from(v.read(2, 4096, data.length) as Uint8Array), data);
    const readIn = new Bytes().u64(2).u64(4096).u32(1 << 20).u32(0).u64(0).u32(0).u32(0).build();         // fuse_read_in
    place(ent, at, Op.READ, 2, readIn, Buffer.alloc(0), 100n);
    completed(0);
    assert.equal(ent.readUInt32LE(UringHeader.payloadSz), data.length);
    assert.deepEqual(ent.subarray(at, at + data.length), data);
    // A LOOKUP: the name is the payload, op_in is empty (under a file: an error, header only).
    place(ent, at, Op.LOOKUP, 2, Buffer.alloc(0), Buffer.from('nope\0'), 101n);
    completed(0);
    assert.equal(ent.readInt32LE(UringHeader.inOut + 4), -20, 'ENOTDIR');
    assert.equal(ent.readUInt32LE(UringHeader.payloadSz), 0);
    assert.equal(t.counts.served, 3);
  } finally {
    t.stop();
  }
  assert.equal(s.uring.ready, false, 'stopped rings are not offered to a later INIT');
});

test('a request whose lengths do not add up is answered EIO, not served', () => {
  const s = newSession();
  s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(0, 0)));
  const lines: string[] = [];
  const t = new UringTransport(s, -1, { queues: 1, log: (l) => lines.push(l) });
  try {
    const rings = (t as unknown as { rings: { entries: Buffer[]; payloadAt: number } }).rings;
    const ent = rings.entries[0]!;
    place(ent, rings.payloadAt, Op.GETATTR, 1, Buffer.alloc(16), Buffer.alloc(0));
    ent.writeUInt32LE(500, UringHeader.payloadSz);   // more payload than in_header.len allows
    (t as unknown as { completed(q: number, e: number, r: number): void }).completed(0, 0, 0);
    assert.equal(ent.readInt32LE(UringHeader.inOut + 4), -5);
    assert.equal(ent.readUInt32LE(UringHeader.payloadSz), 0);
    assert.match(lines.join('\n'), /does not add up/);
  } finally {
    t.stop();
  }
});

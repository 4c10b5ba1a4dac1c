// Replies made after handle() returned (FuseSession.deferReply): a large WRITE
// whose copy runs on pool threads (volume.writeLater) is answered when the copy
// lands, by the transport's sendLater, once and under its own unique; without a
// transport that can wait, or when the volume does not take it, WRITE is
// answered at once as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, Op } from './wire.js';

/** A double whose writeLater applies the write only when the test lands it. */
class LaterDouble extends VolumeDouble {
  pending: (() => void)[] = [];
  take = true;
  writeLater(ino: number, offset: number, data: Uint8Array, _opts: { fromReserve?: boolean }, done: (n: number) => void): boolean {
    if (!this.take) return false;
    const copy = Uint8Array.from(data);   // the session's buffer is the transport's: the test checks it is kept, not reused
    this.pending.push(() => done(this.write(ino, offset, copy)));
    return true;
  }
}

function session(sendLater: boolean) {
  const vol = new LaterDouble();
  const s = new FuseSession({ volume: vol, clock: () => 0n, log: () => {} });
  const init = new Bytes().u32(FUSE_KERNEL_VERSION).u32(FUSE_KERNEL_MINOR_VERSION).u32(0).u32(0);
  assert.equal(parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, init))).error, 0);
  const sent: { unique: bigint; chunks: Buffer[] }[] = [];
  if (sendLater) s.sendLater = (unique, chunks) => { sent.push({ unique, chunks }); };
  const a = vol.mknod(1, 'f', 0o100644, 0, 0, 0);
  assert.ok(typeof a !== 'number');
  return { s, vol, ino: a.ino, sent };
}

const writeReq = (unique: number, nodeid: number, offset: number, data: Buffer) =>
  request({ opcode: Op.WRITE, unique, nodeid },
    new Bytes().u64(0n).u64(BigInt(offset)).u32(data.length).u32(0).u64(0n).u32(0).u32(0).raw(data));

test('a WRITE the volume takes for later is answered by sendLater, once, with its unique and size; the file changes only then', () => {
  const { s, vol, ino, sent } = session(true);
  const data = Buffer.alloc(256 << 10, 0x61);
  assert.equal(s.handle(writeReq(41, ino, 4096, data)), null, 'no reply now');
  assert.equal(s.replyLater, true, 'the transport keeps the request buffer');
  assert.equal((vol.getattr(ino) as { size: number }).size, 0, 'nothing written yet');
  // Another request meanwhile is answered at once, and clears the mark.
  const r = parseReply(s.handle(request({ opcode: Op.GETATTR, unique: 42, nodeid: ino }, new Bytes().u32(0).u32(0).u64(0n))));
  assert.equal(r.error, 0);
  assert.equal(s.replyLater, false);
  assert.equal(sent.length, 0);
  vol.pending.shift()!();
  assert.equal(sent.length, 1);
  assert.equal(sent[0]!.unique, 41n);
  const w = parseReply(sent[0]!.chunks);
  assert.equal(w.unique, 41n);
  assert.equal(w.error, 0);
  assert.equal(w.body.readUInt32LE(0), data.length);
  assert.equal((vol.getattr(ino) as { size: number }).size, 4096 + data.length);
});

test('without a transport that can wait, or when the volume declines, WRITE is answered at once', () => {
  for (const [later, take] of [[false, true], [true, false]] as const) {
    const { s, vol, ino, sent } = session(later);
    vol.take = take;
    const w = parseReply(s.handle(writeReq(43, ino, 0, Buffer.alloc(128 << 10, 1))));
    assert.equal(w.error, 0);
    assert.equal(w.body.readUInt32LE(0), 128 << 10);
    assert.equal(s.replyLater, false);
    assert.equal(vol.pending.length, 0);
    assert.equal(sent.length, 0);
    assert.equal(s.deferReply(), null, 'outside a request there is nothing to defer');
  }
});

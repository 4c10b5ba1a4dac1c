// Large READ replies are held views (pinned until sent), small ones are sent at once:
// the session marks the first kind so a transport may send it later, and hands the
// transport the release to run once it has.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { HELD_REPLY_BYTES_MIN } from './limits.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { FUSE_KERNEL_MINOR_VERSION, FUSE_KERNEL_VERSION, Op } from './wire.js';

function session(): { s: FuseSession; vol: VolumeDouble; ino: number } {
  const vol = new VolumeDouble();
  const s = new FuseSession({ volume: vol, clock: () => 0n, log: () => {} });
  const init = new Bytes().u32(FUSE_KERNEL_VERSION).u32(FUSE_KERNEL_MINOR_VERSION).u32(0).u32(0);
  assert.equal(parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, init))).error, 0);
  s.replySent();
  const a = vol.mknod(1, 'f', 0o100644, 0, 0, 0);
  assert.ok(typeof a !== 'number');
  const data = Buffer.alloc(3 * HELD_REPLY_BYTES_MIN);
  for (let i = 0; i < data.length; i++) data[i] = i * 7;
  vol.write(a.ino, 0, data);
  return { s, vol, ino: a.ino };
}

const readReq = (nodeid: number, offset: number, size: number) =>
  request({ opcode: Op.READ, unique: 9, nodeid }, new Bytes().u64(0n).u64(BigInt(offset)).u32(size).u32(0).u64(0n).u32(0).u32(0));

test('a READ of HELD_REPLY_BYTES_MIN or more is held until sent: the transport gets its release', () => {
  const { s, vol, ino } = session();
  const r = parseReply(s.handle(readReq(ino, 5, HELD_REPLY_BYTES_MIN)));
  assert.equal(r.error, 0);
  assert.equal(r.body.length, HELD_REPLY_BYTES_MIN);
  assert.equal(r.body[0], (5 * 7) & 0xff);
  assert.equal(s.replyHeld, true);
  assert.equal(vol.viewsHeld, 1);
  const sent = s.takeSent();
  assert.equal(sent.length, 1);
  s.replySent();   // what a transport sending at once would call: the hold went with takeSent
  assert.equal(vol.viewsHeld, 1, 'held until the transport runs what it took');
  for (const fn of sent) fn();
  assert.equal(vol.viewsHeld, 0);
});

test('a smaller READ is not held; the next request clears the mark; errors hold nothing', () => {
  const { s, vol, ino } = session();
  s.handle(readReq(ino, 0, HELD_REPLY_BYTES_MIN));
  for (const fn of s.takeSent()) fn();
  const r = parseReply(s.handle(readReq(ino, 0, HELD_REPLY_BYTES_MIN - 1)));
  assert.equal(r.body.length, HELD_REPLY_BYTES_MIN - 1);
  assert.equal(s.replyHeld, false);
  assert.equal(vol.viewsHeld, 0);
  const e = parseReply(s.handle(readReq(999, 0, HELD_REPLY_BYTES_MIN)));
  assert.ok(e.error < 0);
  assert.equal(s.replyHeld, false);
  assert.equal(vol.viewsHeld, 0);
});

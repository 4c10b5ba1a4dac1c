// A large directory listed through the protocol core over fs/'s real Volume, as
// the kernel lists it: READDIR/READDIRPLUS replies of 4 KiB, each resumed at
// the cookie the previous one ended with. Resuming costs O(1): the entries
// fs/ steps through are counted (work, not time), so a handler that made fs/
// rescan from the directory's start on each reply fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { Op } from './wire.js';
import { ok, simVolume } from '../fs/testkit.js';

const N = 5000;

function listed(plus: boolean) {
  const { vol } = simVolume({ pageSize: 1024, pageCount: 16_000 });
  const s = new FuseSession({ volume: vol, clock: () => 1_800_000_000_000_000_000n, log: (l) => { throw new Error(l); } });
  s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, new Bytes().u32(7).u32(38).u32(1 << 17).u32(0).u32(0).zeros(44)));
  const dir = ok(vol.mkdir(1, 'big', 0o755, 0, 0)).ino;
  for (let i = 0; i < N; i++) ok(vol.mknod(dir, `entry-${i}`, 0o100644, 0, 0, 0));
  const steps = () => (vol as unknown as { t: { get(i: number): { dir: { steps: number } } } }).t.get(dir).dir.steps;
  const names: string[] = [];
  let cookie = 0, replies = 0;
  for (;;) {
    const body = new Bytes().u64(0).u64(cookie).u32(4096).u32(0).u64(0).u32(0).u32(0);
    const r = parseReply(s.handle(request({ opcode: plus ? Op.READDIRPLUS : Op.READDIR, unique: 9, nodeid: dir }, body)));
    assert.equal(r.error, 0);
    if (r.body.length === 0) break;
    replies++;
    for (let at = 0; at < r.body.length;) {
      if (plus) at += 128;   // fuse_entry_out before each fuse_dirent
      const len = r.body.readUInt32LE(at + 16);
      names.push(r.body.toString('utf8', at + 24, at + 24 + len));
      cookie = Number(r.body.readBigUInt64LE(at + 8));
      at += (24 + len + 7) & ~7;
    }
  }
  return { names, replies, steps: steps() };
}

for (const plus of [false, true]) {
  test(`${plus ? 'READDIRPLUS' : 'READDIR'} of ${N} entries in 4 KiB replies: each once, O(1) work per resume`, () => {
    const { names, replies, steps } = listed(plus);
    assert.equal(names.length, N + 2, "every entry, '.' and '..'");
    assert.equal(new Set(names).size, N + 2, 'none twice');
    assert.ok(replies > 20, `${replies} replies: the stream resumed many times`);
    // A rescan from the start per reply would step ~replies * N / 2 entries.
    assert.ok(steps <= N + 2 * replies, `${steps} entries stepped for ${N} entries in ${replies} replies`);
  });
}

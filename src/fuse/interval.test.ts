// Durable calls at the protocol core (SYNCFS, FSYNCDIR, FSYNC with and without
// datasync each reach a save), and the checkpoint interval: it saves only when
// something changed, never inside a request, and stops when told.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { Op } from './wire.js';
import { startCheckpoints } from './interval.js';

const NOW = 1_800_000_000_000_000_000n;

function session(v = new VolumeDouble(), log: (l: string) => void = () => {}): FuseSession {
  const s = new FuseSession({ volume: v, clock: () => NOW, log });
  const init = new Bytes().u32(7).u32(38).u32(1 << 17).u32(0).u32(0).zeros(44);
  assert.equal(parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, init))).error, 0);
  return s;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Waits until `done` holds (a loaded machine may run a 5 ms timer late), at most 10 s. */
async function until(done: () => boolean): Promise<void> {
  for (const end = Date.now() + 10_000; !done() && Date.now() < end;) await sleep(5);
}

test('SYNCFS (what sync(2) and syncfs(2) become on a fuseblk mount), FSYNCDIR, FSYNC and fdatasync each save', () => {
  const v = new VolumeDouble();
  const s = session(v);
  const syncfsIn = new Bytes().u64(0n);                                  // fuse_syncfs_in.padding
  const fsyncIn = (flags: number) => new Bytes().u64(0n).u32(flags).u32(0);   // fh, fsync_flags (1: datasync), padding
  for (const [opcode, nodeid, body] of [[Op.SYNCFS, 1, syncfsIn], [Op.FSYNCDIR, 1, fsyncIn(0)], [Op.FSYNC, 1, fsyncIn(0)], [Op.FSYNC, 1, fsyncIn(1)]] as const) {
    const before = v.syncs;
    assert.equal(parseReply(s.handle(request({ opcode, unique: 9, nodeid }, body))).error, 0, `opcode ${opcode}`);
    assert.equal(v.syncs, before + 1, `opcode ${opcode} saves`);
  }
});

test('the interval saves only when something changed, one save per change', async () => {
  const v = new VolumeDouble();
  const s = session(v);
  const stop = startCheckpoints(s, 5);
  await sleep(40);
  assert.equal(v.syncs, 0, 'nothing changed: no save');
  v.changed = true;
  await until(() => v.syncs > 0);
  await sleep(40);
  assert.equal(v.syncs, 1, 'one change: one save');
  stop();
  v.changed = true;
  await sleep(30);
  assert.equal(v.syncs, 1, 'stopped: no more saves');
  assert.equal(startCheckpoints(s, 0)(), undefined, '0 starts nothing');
});

test('the interval never runs inside a request: work queued during one runs right after it', () => {
  const order: string[] = [];
  const v = new VolumeDouble();
  const s = session(v);
  const getattr = v.getattr.bind(v);
  v.getattr = (ino: number) => {
    s.between(() => order.push('checkpoint'));
    order.push('request');
    return getattr(ino);
  };
  s.handle(request({ opcode: Op.GETATTR, unique: 3, nodeid: 1 }, new Bytes().u32(0).u32(0).u64(0n)));
  assert.deepEqual(order, ['request', 'checkpoint']);
  s.between(() => order.push('idle'));
  assert.deepEqual(order, ['request', 'checkpoint', 'idle'], 'between requests it runs at once');
});

test('a failing interval save is logged once, and once more when it works again', async () => {
  const lines: string[] = [];
  const v = new VolumeDouble();
  const s = session(v, (l) => lines.push(l));
  let fail = true;
  v.sync = () => { v.syncs++; if (fail) return -28; v.changed = false; return 0; };
  v.changed = true;
  const stop = startCheckpoints(s, 5);
  await until(() => v.syncs >= 2);
  assert.ok(v.syncs >= 2, 'retried while failing');
  assert.equal(lines.filter((l) => l.includes('failed: ENOSPC')).length, 1);
  fail = false;
  await until(() => !v.changed);
  await sleep(30);
  stop();
  assert.equal(lines.filter((l) => l.includes('saved again')).length, 1);
});

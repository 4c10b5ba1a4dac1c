// Readdir streams: resuming at the cookie a reply ended with costs O(1) (no
// scan from the start), and cookies stay valid across unlinks and creates the
// way telldir/seekdir need: no entry twice, none skipped that existed throughout.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../machine/prng.js';
import { DIR_CURSORS_MAX } from './inode.js';
import { ok, simVolume } from './testkit.js';
import type { DirEntry } from './volume.js';

const S_IFREG = 0o100000;
const SEED = Number(process.env.SEED ?? 14);

/** A reply buffer of `bytes`: entries fit while their fuse_dirent records do (24 bytes + name, 8-aligned). */
function buffer(bytes: number): (e: DirEntry) => boolean {
  let room = bytes;
  return (e) => { const rec = (24 + Buffer.byteLength(e.name) + 7) & ~7; if (rec > room) return false; room -= rec; return true; };
}

function bigDir(n: number) {
  // Every file costs a record page in the next checkpoint, kept twice by the space ledger: room for 20 000 of them.
  const s = simVolume({ pageSize: 1024, pageCount: 48_000 });
  const dir = ok(s.vol.mkdir(1, 'big', 0o755, 0, 0)).ino;
  for (let i = 0; i < n; i++) ok(s.vol.mknod(dir, `file-${i}`, S_IFREG | 0o644, 0, 0, 0));
  return { ...s, dir, steps: () => (s.vol as unknown as { t: { get(i: number): { dir: { steps: number } } } }).t.get(dir).dir.steps };
}

test(`a 20 000-entry directory read in 4 KiB replies with unlinks and creates between them: each entry once, none that lived throughout missed, O(1) per resume (SEED=${SEED})`, () => {
  const N = 20_000;
  const { vol, dir, steps } = bigDir(N);
  const rng = new Prng(SEED);
  const seen = new Set<string>(), removed = new Set<string>();
  let cookie = 0, replies = 0, created = 0, lastNext = 0;
  for (;;) {
    const list = ok(vol.readdir(dir, cookie, 4096, buffer(4096)));
    if (list.length === 0) break;
    replies++;
    for (const e of list) {
      assert.ok(!seen.has(e.name), `${e.name} listed twice (SEED=${SEED})`);
      assert.ok(!removed.has(e.name), `${e.name} listed after its unlink (SEED=${SEED})`);
      assert.ok(e.next > lastNext, 'cookies grow');
      seen.add(e.name); lastNext = e.next;
    }
    cookie = list.at(-1)!.next;
    for (let k = 0; k < 3; k++) {   // unlink names seen or not yet seen
      const name = `file-${rng.below(N)}`;
      if (!removed.has(name)) { ok(vol.unlink(dir, name)); removed.add(name); }
    }
    // creates are listed too (they land after the cursor), so stop making them or the stream never ends
    if (replies < 100) for (let k = 0; k < 2; k++) ok(vol.mknod(dir, `new-${created++}`, S_IFREG | 0o644, 0, 0, 0));
  }
  for (let i = 0; i < N; i++) if (!removed.has(`file-${i}`)) assert.ok(seen.has(`file-${i}`), `file-${i} lived throughout but was not listed (SEED=${SEED})`);
  for (let i = 0; i < created; i++) assert.ok(seen.has(`new-${i}`), `new-${i}, made during the stream, is listed`);
  assert.ok(replies > 100, `${replies} replies: the stream really resumed many times`);
  // A scan from the start on every reply would step ~replies * N / 2 (~1.5 million) entries.
  assert.ok(steps() < N + created + 2 * replies, `${steps()} entries stepped for ${N + created} entries in ${replies} replies`);
});

test('an entry unlinked before the stream reaches it is not listed; one created during the stream is listed once', () => {
  const { vol, dir } = bigDir(100);
  const first = ok(vol.readdir(dir, 0, 10));
  ok(vol.unlink(dir, 'file-50'));
  ok(vol.mknod(dir, 'late', S_IFREG | 0o644, 0, 0, 0));
  const rest = ok(vol.readdir(dir, first.at(-1)!.next, 1000));
  const names = [...first, ...rest].map((e) => e.name);
  assert.ok(!names.includes('file-50'));
  assert.equal(names.filter((n) => n === 'late').length, 1);
  assert.equal(names.length, 2 + 100 - 1 + 1);
});

test('the entry a full reply refused starts the next reply, even when it is unlinked in between', () => {
  const { vol, dir } = bigDir(10);
  const a = ok(vol.readdir(dir, 0, 100, buffer(5 * 32)));   // '.', '..', file-0, file-1, file-2 fit
  assert.deepEqual(a.map((e) => e.name), ['.', '..', 'file-0', 'file-1', 'file-2']);
  const b = ok(vol.readdir(dir, a.at(-1)!.next, 1));
  assert.deepEqual(b.map((e) => e.name), ['file-3'], 'the refused entry comes first');
  ok(vol.unlink(dir, 'file-4'));   // the cursor has pulled file-4 already
  const c = ok(vol.readdir(dir, b.at(-1)!.next, 100));
  assert.deepEqual(c.map((e) => e.name), ['file-5', 'file-6', 'file-7', 'file-8', 'file-9']);
  assert.deepEqual(ok(vol.readdir(dir, c.at(-1)!.next, 100)), [], 'the end, again');
});

test('seekdir to any cookie given out, and more streams than cursors kept, still list the right entries', () => {
  const { vol, dir } = bigDir(300);
  const all = ok(vol.readdir(dir, 0, 1000));
  const streams = Array.from({ length: DIR_CURSORS_MAX * 2 }, () => ({ cookie: 0, names: [] as string[] }));
  for (let round = 0; round < 40; round++) {
    for (const s of streams) {
      const list = ok(vol.readdir(dir, s.cookie, 9));
      if (list.length === 0) continue;
      s.names.push(...list.map((e) => e.name));
      s.cookie = list.at(-1)!.next;
    }
  }
  for (const s of streams) assert.deepEqual(s.names, all.map((e) => e.name));
  // seekdir: resume from the cookie of entry 123 without a cursor there
  const from = ok(vol.readdir(dir, all[122]!.next, 1000));
  assert.deepEqual(from.map((e) => e.name), all.slice(123).map((e) => e.name));
});

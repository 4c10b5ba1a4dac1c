// A lazy mount after a service's day of small commits (bench/lib/change-child.js changeOps, smaller): 4 KiB
// writes into a file each made durable, creates, renames and unlinks each synced (and a second file made,
// written and unlinked in the tail: none of its records is applied); the mount must be led by the index, defer
// the file's records to the root group's load, and equal a full mount: tree, statfs, free pages. The pages the
// commits let go are kept aside until the next compaction (allocator.freeKept): a page the compaction lists as
// data, taken again by a later commit's log, would send every record with pages to the mount (pram/taildefer.ts);
// a page only the tail named may be taken by the log and still wait (asLog; pram/taildefer.test).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { mount } from './index.js';
import { tailDecoded } from '../pram/tailread.js';
import { Prng } from '../machine/prng.js';

const MIB = 1 << 20;
const opts = { cmdline: '', checkpointIntervalMs: 0, systemd: false } as const;

async function tree(p: Awaited<ReturnType<typeof mount>>): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of (await p.readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = `${dir === '/' ? '' : dir}/${e.name}`;
      if (e.isDirectory()) { out.push(`${path}/`); await walk(path); } else out.push(`${path} ${(await p.readFile(path)).toString('base64')}`);
    }
  };
  await walk('/');
  return out;
}

/** The lazy mount's tree, statfs and free pages (it is unmounted), then a full mount's of the arena: the same, no loss. */
async function equalsFull(lazy: Awaited<ReturnType<typeof mount>>, arena: string, seed: number): Promise<void> {
  const got = await tree(lazy);
  const fsLazy = lazy.volume.statfs(), freeLazy = lazy.volume.pram!.allocator.freeCount;
  await lazy.unmount();
  const full = await mount({ arena, verify: 'full', readOnly: true, ...opts });
  assert.deepEqual(got, await tree(full), `seed ${seed}: the lazy tree is the full one`);
  assert.deepEqual([lazy.volume.losses, fsLazy, freeLazy], [[], full.volume.statfs(), full.volume.pram!.allocator.freeCount], `seed ${seed}: no loss; statfs and free pages as a full mount's`);
  assert.deepEqual(full.volume.losses, []);
  await full.unmount();
}

test('a day of small commits: the next lazy mount is led by the index, the root\'s records wait for its load, and it equals a full one', async () => {
  const seed = Number(process.env['SEED'] ?? 7);
  const arena = `/dev/shm/taillog-test-${process.pid}.pram`;
  try {
    const r = new Prng(seed);
    const w = await mount({ arena, create: { sizeBytes: 96 * MIB }, ...opts });
    await w.sync();
    for (let d = 0; d < 2; d++) { await w.mkdir(`/d${d}`); for (let i = 0; i < 1000; i++) await w.writeFile(`/d${d}/s${i}`, Buffer.alloc(100, i)); }
    await w.sync();                                          // larger than the log: a compaction, with its index
    await w.writeFile('/target', Buffer.alloc(MIB, 3));
    await w.sync();
    const h = await w.open('/target', 'r+');
    for (let i = 0; i < 30; i++) { await h.write(Buffer.alloc(4096, i), 0, 4096, r.below(256) * 4096); await h.sync(); }
    await h.close();
    for (let i = 0; i < 30; i++) { await w.writeFile(`/d0/new${i}`, Buffer.alloc(100, 9)); await w.sync(); }
    for (let i = 0; i < 30; i++) { await w.rename(`/d0/new${i}`, `/d0/renamed${i}`); await w.sync(); }
    for (let i = 0; i < 30; i++) { await w.unlink(`/d0/renamed${i}`); await w.sync(); }
    // A file the tail makes, writes (each write made durable) and unlinks: none of its records is applied (taildefer lessGone).
    await w.writeFile('/scratch', Buffer.alloc(64 << 10, 5));
    await w.sync();
    const scratch = (await w.stat('/scratch')).ino;
    const s = await w.open('/scratch', 'r+');
    for (let i = 0; i < 10; i++) { await s.write(Buffer.alloc(4096, i), 0, 4096, r.below(16) * 4096); await s.sync(); }
    await s.close();
    await w.unlink('/scratch');
    await w.sync();
    await w.unmount();

    const lines: string[] = [];
    const lazy = await mount({ arena, verify: 'lazy', readOnly: true, log: (l) => lines.push(l), ...opts });
    const boot = lines.filter((l) => /index|whole/.test(l)).join(' | ');
    assert.match(boot, /led by its index/, `seed ${seed}: the lazy mount`);
    const tail = lazy.volume.pram!.lazyLog!.tail;
    assert.ok(tail, `seed ${seed}: with a tail`);
    // The target's records wait for the root's group like any other one-group component.
    assert.ok(tail.deferred.has(1), `seed ${seed}: the root's records are deferred`);
    const ofScratch = (rec: { type: number; ino?: number; r?: { ino?: number } }) => (rec.r?.ino ?? rec.ino) === scratch;
    assert.equal([...tail.deferred.values()].flatMap((d) => tailDecoded(d.tail, d.at)).filter((rec) => rec.type !== 3 && ofScratch(rec as never)).length, 0, `seed ${seed}: no record of the file made and unlinked waits`);
    await equalsFull(lazy, arena, seed);
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('fsync\'d 4 KiB writes into a file the compaction lists (each dirty 32-page group restated, the pages let go kept aside): the next lazy mount reads no group, the root\'s records wait for its load, and it equals a full one', async () => {
  const seed = Number(process.env['SEED'] ?? 8);
  const arena = `/dev/shm/taillog-kept-${process.pid}.pram`;
  try {
    const r = new Prng(seed);
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...opts });
    await w.writeFile('/target', Buffer.alloc(4 * MIB, 3));
    await w.mkdir('/d');
    for (let i = 0; i < 300; i++) await w.writeFile(`/d/s${i}`, Buffer.alloc(100, i));
    await w.sync();                                          // a compaction, with its index: /target's pages are its DATA
    const h = await w.open('/target', 'r+');
    for (let i = 0; i < 60; i++) { await h.write(Buffer.alloc(4096, i), 0, 4096, r.below(1024) * 4096); await h.sync(); }
    await h.close();
    for (let i = 0; i < 40; i++) { await w.writeFile(`/new${i}`, Buffer.alloc(5000, i)); await w.sync(); }
    const kept = w.volume.pram!.allocator.keptCount;
    assert.ok(kept >= 30, `seed ${seed}: the pages the writes let go are kept aside (${kept})`);
    await w.unmount();

    const lazy = await mount({ arena, verify: 'lazy', readOnly: true, ...opts });
    const log = lazy.volume.pram!.lazyLog!;
    assert.ok(log?.tail, `seed ${seed}: led by the index, with a tail`);
    assert.ok(log.tail.deferred.has(1), `seed ${seed}: the root's records wait for its load`);
    assert.ok(log.tail.deferred.get(1)!.shared.length > 0, `seed ${seed}: they name pages the DATA runs list (their dirty groups restated)`);
    assert.equal(log.isLoaded(1), false, `seed ${seed}: no group read at mount`);
    await equalsFull(lazy, arena, seed);
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

test('a tail of more than half the log that the commit lets stand (not due: under the compacted part plus 64 KiB): the lazy mount is led by the index, not a whole replay, and equals a full one', async () => {
  const seed = Number(process.env['SEED'] ?? 7);
  const arena = `/dev/shm/taillog-half-${process.pid}.pram`;
  try {
    const r = new Prng(seed);
    const w = await mount({ arena, create: { sizeBytes: 64 * MIB }, ...opts });
    await w.sync();
    await w.mkdir('/d');
    for (let i = 0; i < 300; i++) await w.writeFile(`/d/s${i}`, Buffer.alloc(100, i));
    await w.writeFile('/big', Buffer.alloc(MIB, 1));
    await w.sync();                                          // larger than the log: a compaction, with its index
    const live = (w.volume.pram as unknown as { live: { cursor: { bytes: number }; compactBytes: number } }).live;
    const compacted = live.compactBytes;
    // Small commits until the tail outweighs the compacted part (the old mount rule's limit), still under the due rule's.
    for (let i = 0; live.cursor.bytes - compacted <= compacted; i++) {
      if (r.below(2)) await w.writeFile(`/d/n${i}`, Buffer.alloc(100, i)); else await w.chmod(`/d/s${r.below(300)}`, 0o600 + r.below(64));
      await w.sync();
      assert.equal(live.compactBytes, compacted, `seed ${seed}: no compaction yet (commit ${i})`);
    }
    const bytes = live.cursor.bytes;
    assert.ok(bytes - compacted > compacted && bytes - compacted <= compacted + (64 << 10), `seed ${seed}: a tail of ${bytes - compacted} over ${compacted} compacted`);
    await w.unmount();

    const lines: string[] = [];
    const lazy = await mount({ arena, verify: 'lazy', readOnly: true, log: (l) => lines.push(l), ...opts });
    assert.match(lines.filter((l) => /index|whole/.test(l)).join(' | '), /led by its index/, `seed ${seed}: the lazy mount`);
    const ll = lazy.volume.pram!.lazyLog!;
    assert.ok((ll.cursor.bytes - ll.indexEnd) * 2 > ll.cursor.bytes, `seed ${seed}: the tail is more than half the log`);
    await equalsFull(lazy, arena, seed);
  } finally {
    fs.rmSync(arena, { force: true });
  }
});

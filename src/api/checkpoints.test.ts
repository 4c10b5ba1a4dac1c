// Interval checkpoints through the library (issue 13, no stall): a change set of
// EARLY_CHANGES records or more is committed at the next EARLY_CHECK_MS tick,
// long before the interval, as a real commit (a mount after leaving without a
// save finds it); a smaller one waits for the interval; without interval
// checkpoints nothing is committed behind the caller's back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { mount } from './index.js';
import { EARLY_CHANGES, EARLY_CHECK_MS, type PramFs } from './pramfs.js';

const PS = 4096, MIB = 1 << 20;
const arenaOf = (name: string) => `/dev/shm/checkpoints-api-test-${name}-${process.pid}.pram`;
const open = (arena: string, checkpointIntervalMs: number, create = true) =>
  mount({ arena, create: create ? { sizeBytes: 32 * MIB } : undefined, cmdline: '', systemd: false, checkpointIntervalMs, warn: () => {} });

/** `pages` 4 KiB writes of distinct bytes into /f, each page its own change. */
async function writePages(pfs: PramFs, pages: number, fill: number): Promise<Buffer> {
  const data = Buffer.alloc(pages * PS, fill);
  await using h = await pfs.open('/f', 'w');
  for (let i = 0; i < pages; i++) await h.write(data, i * PS, PS, i * PS);
  return data;
}

/** Polls `ok` every tick for up to `ms`: true once it held. */
async function within(ms: number, ok: () => boolean): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(EARLY_CHECK_MS / 2)) if (ok()) return true;
  return ok();
}

test('a change set past EARLY_CHANGES is committed long before the interval, durably', async () => {
  const arena = arenaOf('early');
  try {
    const pfs = await open(arena, 3_600_000);
    await pfs.sync();
    const data = await writePages(pfs, EARLY_CHANGES + 8, 0x5a);
    assert.ok(await within(10 * EARLY_CHECK_MS + 2000, () => !pfs.volume.unsaved()), 'committed at an early tick, not after an hour');
    assert.equal(pfs.volume.pendingChanges(), 0);
    await pfs.unmount({ save: false });          // back to the last commit: the early one
    const again = await open(arena, 0, false);
    assert.deepEqual(await again.readFile('/f'), data);
    await again.unmount();
  } finally { fs.rmSync(arena, { force: true }); }
});

test('a small change set waits for the interval; none is committed early without interval checkpoints', async () => {
  const arena = arenaOf('small');
  try {
    const pfs = await open(arena, 3_600_000);
    await pfs.sync();
    await writePages(pfs, 4, 1);
    assert.ok(pfs.volume.pendingChanges() > 0 && pfs.volume.pendingChanges() < EARLY_CHANGES);
    await sleep(5 * EARLY_CHECK_MS);
    assert.ok(pfs.volume.unsaved(), 'a few changes wait for the interval');
    await pfs.unmount();

    const off = await open(arena, 0, false);
    await writePages(off, EARLY_CHANGES * 2, 2);
    assert.ok(off.volume.pendingChanges() >= EARLY_CHANGES);
    await sleep(5 * EARLY_CHECK_MS);
    assert.ok(off.volume.unsaved(), 'checkpointIntervalMs 0: only the caller syncs');
    await off.unmount({ save: false });
    const back = await open(arena, 0, false);
    assert.deepEqual(await back.readFile('/f'), Buffer.alloc(4 * PS, 1));
    await back.unmount();
  } finally { fs.rmSync(arena, { force: true }); }
});

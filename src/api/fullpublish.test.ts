// A compaction in slices on a nearly full arena (v3 minor 5, docs/FORMAT.md §v3 Space): the
// library with interval checkpoints and its background driver, the arena filled to a few pages
// from full, or filled again while the slices run or once they are done (before the next sync's
// last step, which writes what changed since the compaction began twice). Every call either
// succeeds or fails with a Node-style ENOSPC; what succeeded is what the tree reads, and what a
// mount reads after the unmount. The space model does not price the publish step's second copy:
// the ledger keeps a whole compaction's pages free at all times (its rule's first term), and the
// step -- the changes since the compaction began -- and its copy fit in them (no last step is
// given up here; one that did not fit would be given up and the sync commit as usual:
// fs/slices.test.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { mount } from './index.js';
import type { PramFs } from './pramfs.js';
import { Prng } from '../machine/prng.js';

const PS = 4096, MIB = 1 << 20;
const open = (arena: string, create: boolean) =>
  mount({ arena, create: create ? { sizeBytes: 4 * MIB } : undefined, cmdline: '', systemd: false, checkpointIntervalMs: 15, warn: () => {} });

type Model = Map<string, Buffer>;

/** Every file under / as the tree reads it. */
async function treeOf(pfs: PramFs): Promise<Model> {
  const out: Model = new Map();
  const walk = async (dir: string): Promise<void> => {
    for (const d of await pfs.readdir(dir, { withFileTypes: true })) {
      const p = `${dir === '/' ? '' : dir}/${d.name}`;
      if (d.isDirectory()) await walk(p); else out.set(p, await pfs.readFile(p));
    }
  };
  await walk('/');
  return out;
}

/** Where two trees differ (path: bytes in each), '' when they do not. */
function diff(a: Model, b: Model): string {
  const out: string[] = [];
  for (const p of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(p), y = b.get(p);
    if (!x || !y || !x.equals(y)) out.push(`${p}: ${x?.length ?? 'none'} vs ${y?.length ?? 'none'}`);
  }
  return out.slice(0, 12).join('; ') + (out.length > 12 ? ` (+${out.length - 12})` : '');
}

/** Runs `op`: true when it succeeded; an error must be ENOSPC, Node-style. */
async function tried(op: () => Promise<unknown>, enospc: { n: number }): Promise<boolean> {
  try { await op(); return true; } catch (e) {
    const err = e as NodeJS.ErrnoException;
    assert.equal(err.code, 'ENOSPC', `a Node-style ENOSPC, not ${String(err.stack ?? err)}`);
    assert.equal(typeof err.errno, 'number');
    enospc.n++;
    return false;
  }
}

/** How one run went: sliced compactions begun, last steps published and given up, ENOSPC errors, log heads seen. */
interface Run { begun: number; published: number; gaveUp: number; enospc: number; heads: number }

/**
 * A run: 200 small files, the arena filled then `back` pages given back, then 1500 changes with the driver and the
 * interval checkpoints running; `fill`: the arena filled again once the slices run ('slicing') or once they are done,
 * before the next sync's last step ('sliced'). The tree, then a mount after the unmount, must be the model.
 */
async function run(seed: number, back: number, fill: 'no' | 'slicing' | 'sliced'): Promise<Run> {
  const arena = `/dev/shm/publishedge-fullpublish-${seed}-${process.pid}.pram`;
  try {
    const r = new Prng(seed), model: Model = new Map(), enospc = { n: 0 };
    const pfs = await open(arena, true);
    const slices = pfs.volume.pram!.slices!;
    // Probes around the engine's begin() and finish(): how each compaction in slices went.
    const out: Run = { begun: 0, published: 0, gaveUp: 0, enospc: 0, heads: 0 };
    const finish = slices.finish.bind(slices), begin = slices.begin.bind(slices);
    slices.finish = (c) => { const x = finish(c); if (x === 0) out.published++; else out.gaveUp++; return x; };
    slices.begin = () => { const x = begin(); if (x === 0) out.begun++; return x; };
    let lastHead = 0;
    const heads = setInterval(() => { const h = pfs.volume.pram!.head; if (h !== lastHead) { out.heads++; lastHead = h; } }, 1);
    await pfs.mkdir('/d');
    for (let i = 0; i < 200; i++) {                       // names and inline content: a log of several pages
      const p = `/d/f${i}`, b = r.bytes(r.range(1, 120));
      await pfs.writeFile(p, b); model.set(p, b);
    }
    // Fill the arena (64 KiB appends, then 4 KiB ones, until ENOSPC). A refused append may have written part of its
    // bytes, as a short write would: the file is what it holds.
    const big = '/big';
    const fillUp = async () => {
      for (const chunk of [16 * PS, PS]) for (;;) { const b = r.bytes(chunk); if (!(await tried(() => pfs.appendFile(big, b), enospc))) break; }
      model.set(big, await pfs.readFile(big));
    };
    await pfs.writeFile(big, Buffer.alloc(0));
    await fillUp();
    assert.ok(model.get(big)!.length > 2 * MIB, `seed ${seed}: the arena filled (${model.get(big)!.length} bytes)`);
    await pfs.truncate(big, model.get(big)!.length - back * PS);
    model.set(big, model.get(big)!.subarray(0, model.get(big)!.length - back * PS));
    // A refused writeFile has truncated the file (its open), and may have written a prefix.
    const rewrite = async (p: string, b: Buffer) => {
      if (await tried(() => pfs.writeFile(p, b), enospc)) { model.set(p, b); return; }
      const got = await pfs.readFile(p);
      assert.ok(got.length < b.length && got.equals(b.subarray(0, got.length)), `seed ${seed}: a refused write of ${p} left ${got.length} bytes of its ${b.length}`);
      model.set(p, got);
    };
    let refill = fill !== 'no';
    const names = [...model.keys()].filter((p) => p.startsWith('/d/'));
    for (let i = 0; i < 1500; i++) {
      const k = r.below(names.length), p = names[k]!, what = r.below(10);
      if (what < 4) {
        const q = `/d/r${i}`;
        if (await tried(() => pfs.rename(p, q), enospc)) { model.set(q, model.get(p)!); model.delete(p); names[k] = q; }
      } else if (what < 8) await rewrite(p, r.bytes(r.range(1, 120)));
      else if (what < 9) await tried(() => pfs.chmod(p, r.chance(0.5) ? 0o600 : 0o644), enospc);
      else await rewrite(p, r.bytes(r.range(PS, 2 * PS)));
      if (refill && (fill === 'sliced' ? slices.sliced : slices.compacting && !slices.sliced)) { refill = false; await fillUp(); }
      if (i % 8 === 7) await sleep(2);                     // the driver's slices and the interval checkpoints run
    }
    await sleep(100);
    clearInterval(heads);
    await pfs.sync();                                      // the last commit: everything acknowledged
    assert.equal(diff(await treeOf(pfs), model), '', `seed ${seed}: the tree is the model`);
    await pfs.unmount();
    const again = await open(arena, false);
    assert.deepEqual(again.losses, [], `seed ${seed}`);
    assert.equal(diff(await treeOf(again), model), '', `seed ${seed}: the next mount is the model`);
    await again.unmount();
    out.enospc = enospc.n;
    return out;
  } finally { fs.rmSync(arena, { force: true }); }
}

test('three pages from full: compactions run whole inside commits (the room left admits no append and a compaction after it), nothing acknowledged lost, every error ENOSPC', async (t) => {
  for (const seed of [1, 2]) {
    const o = await run(seed, 3, 'no');
    t.diagnostic(`seed ${seed}: ${JSON.stringify(o)}`);
    assert.ok(o.enospc > 0 && o.heads > 3, `seed ${seed}: ${JSON.stringify(o)}`);
  }
});

test('the arena filled while the slices run: the compaction in slices publishes, or gives way to a whole one when the room needs it; nothing acknowledged lost', async (t) => {
  for (const seed of [3, 4]) {
    const o = await run(seed, 160, 'slicing');
    t.diagnostic(`seed ${seed}: ${JSON.stringify(o)}`);
    assert.ok(o.begun > 0 && o.enospc > 0, `seed ${seed}: ${JSON.stringify(o)}`);
  }
});

test('the arena filled after the slices, before the step that publishes them: the step and its second copy fit (no last step given up), nothing acknowledged lost', async (t) => {
  for (const seed of [5, 6]) {
    const o = await run(seed, 160, 'sliced');
    t.diagnostic(`seed ${seed}: ${JSON.stringify(o)}`);
    assert.ok(o.published > 0 && o.enospc > 0, `seed ${seed}: ${JSON.stringify(o)}`);
    assert.equal(o.gaveUp, 0, `seed ${seed}: ${JSON.stringify(o)}`);
  }
});

// Damage to a v3 image: a bit flipped in a log record, a log page header or
// next pointer, or a header slot is detected and reported as a loss naming
// where; the rest loads; and nothing wrong is returned — a file read either
// gives what was committed or fails (EIO), never other bytes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { HeaderView } from '../format/header.js';
import { LOG_HEADER, LOG_NEXT, readNext } from '../format/v3.js';
import type { SimRam } from '../mem/simram.js';
import { Prng } from '../machine/prng.js';
import { copyRam, dump, mountOn, newRam, PS, randomOp, type Dump } from './livekit.js';

/** The committed log's pages and where its stream ends in each. */
function logPages(ram: SimRam): { pfn: number; end: number }[] {
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  const out: { pfn: number; end: number }[] = [];
  let pfn = slot.headPfn;
  for (let i = 0; i < slot.log!.logPages; i++) {
    const last = i === slot.log!.logPages - 1;
    out.push({ pfn, end: last ? slot.log!.tailOff : PS - LOG_NEXT });
    pfn = Number(readNext(ram.page(pfn)));
  }
  return out;
}

/** An image built by compaction and appends, and every committed file content's hash. */
function build(seed: number): { ram: SimRam; expect: Dump; hashes: Set<string> } {
  const r = new Prng(seed);
  const ram = newRam(4096);
  const vol = mountOn(ram);
  const hashes = new Set<string>([createHash('sha1').update(Buffer.alloc(0)).digest('hex')]);
  let expect: Dump = new Map();
  for (let round = 0; round < 12; round++) {
    for (let k = r.below(5); k >= 0; k--) randomOp(vol, r);
    assert.equal(vol.sync(), 0);
    expect = dump(vol);
    for (const v of expect.values()) hashes.add(v.split(' ').pop()!);
  }
  vol.detach();
  return { ram, expect, hashes };
}

/**
 * Every file read gives bytes some commit held, or an error; a file of the last
 * commit that reads other bytes than it held there is named by a loss (a
 * damaged record may bring back what a lost later record removed: reported).
 */
function checkNothingWrong(got: Dump, expect: Dump, hashes: Set<string>, losses: readonly { path: string | null; what: string }[], what: string): void {
  for (const [path, v] of got) {
    if (!v.startsWith('100') || expect.get(path) === v) continue;
    if (/errno -\d+$/.test(v)) continue;
    const body = v.split(' ').pop()!;
    assert.ok(hashes.has(body), `${what}: ${path} reads bytes never committed: ${v}`);
    const was = expect.get(path)?.split(' ').pop();
    const older = losses.some((l) => l.path === path || /arena header slot [AB] is damaged|the image loaded is that of commit/.test(l.what));   // a whole older commit
    if (was !== undefined && was !== body) assert.ok(older, `${what}: ${path} reads an older version, and no loss names it`);
  }
}

test('a bit flip in any committed log byte is detected, reported exactly, the rest loads, nothing wrong is returned', () => {
  const counts = { records: 0, headers: 0, next: 0, losses: 0 };
  for (const seed of [11, 12, 13]) {
    const { ram, expect, hashes } = build(seed);
    const pages = logPages(ram);
    const r = new Prng(seed * 100);
    for (let trial = 0; trial < 60; trial++) {
      const copy = copyRam(ram);
      const p = pages[r.below(pages.length)]!;
      const kind = r.below(10);
      const at = kind === 0 ? r.below(LOG_HEADER) : kind === 1 && p !== pages[pages.length - 1] ? PS - LOG_NEXT + r.below(4)
        : LOG_HEADER + r.below(p.end - LOG_HEADER);
      copy.page(p.pfn)[at]! ^= 1 << r.below(8);
      if (at < LOG_HEADER) counts.headers++; else if (at >= PS - LOG_NEXT) counts.next++; else counts.records++;
      const what = `seed ${seed} trial ${trial}: bit at pfn ${p.pfn} offset ${at}`;
      const vol = mountOn(copy, { verify: r.chance(0.5) ? 'lazy' : 'full' });
      const got = dump(vol);
      const losses = [...vol.losses];
      assert.ok(losses.length > 0, `${what}: no loss reported`);
      assert.ok(losses.some((l) => /log (record|page)/.test(l.what)), `${what}: the loss names the log: ${losses.map((l) => l.what).join('; ')}`);
      counts.losses += losses.length;
      checkNothingWrong(got, expect, hashes, losses, what);
      // The repaired image is committed whole and comes back as it was loaded (the loss stays visible).
      assert.equal(vol.sync(), 0, `${what}: sync after a damaged load`);
      vol.detach();
      const again = mountOn(copy);
      const after = dump(again);
      for (const [path, v] of after) if (v.startsWith('100') && got.get(path) !== v) {
        assert.ok(/errno -\d+$/.test(v) && /errno -\d+$/.test(got.get(path) ?? ''), `${what}: ${path} changed in the commit after the damaged load: ${got.get(path)} -> ${v}`);
      }
    }
  }
  assert.ok(counts.records > 100 && counts.headers > 5 && counts.next > 5, JSON.stringify(counts));
});

test('a bit flip in the newest header slot: the other slot is mounted and the damage reported', () => {
  for (const seed of [21, 22]) {
    const { ram, expect, hashes } = build(seed);
    const h = new HeaderView(ram.page(0));
    const cur = h.current()!;
    for (const bit of [0, 77, 300, 480]) {
      const copy = copyRam(ram);
      copy.page(0)[h.slotAt(cur.which) + (bit >> 3)]! ^= 1 << (bit & 7);
      const vol = mountOn(copy);
      assert.ok(vol.losses.some((l) => /arena header slot [AB] is damaged/.test(l.what)), `seed ${seed} bit ${bit}: slot damage reported`);
      checkNothingWrong(dump(vol), expect, hashes, vol.losses, `seed ${seed} slot bit ${bit}`);
      vol.detach();
    }
  }
});

test('flips past the committed tail (what a killed append leaves) change nothing', () => {
  const { ram, expect } = build(31);
  const pages = logPages(ram);
  const tail = pages[pages.length - 1]!;
  const copy = copyRam(ram);
  for (let at = tail.end; at < PS; at++) copy.page(tail.pfn)[at] = 0xa5;
  const vol = mountOn(copy);
  assert.deepEqual(vol.losses, []);
  assert.deepEqual(dump(vol), expect);
});

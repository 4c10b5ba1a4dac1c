// Test helpers for the v3 engine (live.test.ts, replay.test.ts): simulated RAM
// with an arena header, mounts of it, copies (what a kill leaves), a dump of
// the tree to compare, and seeded random changes through the volume's API.
import { createHash } from 'node:crypto';
import assert from 'node:assert/strict';
import { SimRam } from '../mem/simram.js';
import { HeaderView } from '../format/header.js';
import { align8, LOG_HEADER, LOG_NEXT, readLogHeader, readNext, RECORD_HEADER } from '../format/v3.js';
import { logPages, readIndex, type GroupIndex } from '../pram/groups.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { Volume } from './volume.js';
import { Prng } from '../machine/prng.js';
import { stepClock } from './testkit.js';

export const PS = 4096;
export type Dump = Map<string, string>;

export function mountOn(ram: SimRam, opts: { live?: boolean; verify?: 'full' | 'lazy'; spans?: boolean; lazyLoad?: boolean; log?: (line: string) => void } = {}): Volume {
  const handoff = ArenaHeaderHandoff.attach(ram);
  if (!(handoff instanceof ArenaHeaderHandoff)) throw new Error(handoff.message);
  return Volume.mount({ mem: ram, handoff, clock: stepClock(), keepMemOpen: true, live: opts.live, verify: opts.verify ?? 'full', spans: opts.spans, lazyLoad: opts.lazyLoad, log: opts.log });
}

export function newRam(pageCount = 2048, version = 3): SimRam {
  const ram = new SimRam({ pageSize: PS, pageCount });
  ArenaHeaderHandoff.format(ram, 0, version);
  return ram;
}

export function copyRam(ram: SimRam): SimRam {
  const out = new SimRam({ pageSize: PS, pageCount: ram.pageCount });
  for (let pfn = 0; pfn < ram.pageCount; pfn++) out.page(pfn).set(ram.page(pfn));
  return out;
}

/** Every path with its attributes (atime aside: a read changes it), xattrs, and content or target hash; EIO as such. */
/**
 * The commit after a damaged image's mount: vol syncs and detaches, and ram then mounts as that commit left it, with
 * no loss (`allowed`: losses whose text it matches are not counted).
 */
export function nextCommitClean(vol: Volume, ram: SimRam, label: string, allowed?: RegExp): void {
  assert.equal(vol.sync(), 0, label);
  const want = dump(vol);
  vol.detach();
  const again = mountOn(ram);
  assert.deepEqual(allowed ? again.losses.filter((l) => !allowed.test(l.what)) : again.losses, [], label);
  assert.deepEqual(dump(again), want, `${label}: after the next commit`);
  again.detach();
}

export function dump(vol: Volume): Dump {
  const out: Dump = new Map();
  const walk = (dir: number, path: string) => {
    const list = vol.readdir(dir, 0, 1 << 20);
    if (typeof list === 'number') throw new Error(`readdir ${path}: ${list}`);
    for (const e of list) {
      if (e.name === '.' || e.name === '..') continue;
      const p = `${path}/${e.name}`;
      const a = vol.getattr(e.ino);
      if (typeof a === 'number') throw new Error(`getattr ${p}`);
      const xs = vol.listxattr(e.ino) as string[];
      const x = [...xs].sort().map((n) => `${n}=${Buffer.from(vol.getxattr(e.ino, n) as Uint8Array).toString('hex')}`).join(',');
      let body = '';
      const type = a.mode & 0o170000;
      if (type === 0o100000) {
        const b = vol.read(e.ino, 0, a.size);
        // A read stops short at a page that fails its check (POSIX: the next read says why): an error as a whole.
        const rest = typeof b !== 'number' && b.length < a.size ? vol.read(e.ino, b.length, a.size - b.length) : null;
        body = typeof b === 'number' ? `errno ${b}` : typeof rest === 'number' ? `errno ${rest}` : createHash('sha1').update(b).digest('hex');
      } else if (type === 0o120000) body = String(vol.readlink(e.ino));
      out.set(p, `${a.mode.toString(8)} ${a.uid}:${a.gid} n${a.nlink} s${a.size} m${a.mtimeNs} c${a.ctimeNs} [${x}] ${body}`);
      if (type === 0o040000) walk(e.ino, p);
    }
  };
  walk(1, '');
  return out;
}

/** One seeded random change through the volume's API (what an application does). */
export function randomOp(vol: Volume, r: Prng): void {
  const files: { ino: number; dir: number; name: string }[] = [];
  const dirs: number[] = [1];
  const walk = (dir: number) => {
    for (const e of vol.readdir(dir, 0, 1 << 20) as { name: string; ino: number; type: number }[]) {
      if (e.name === '.' || e.name === '..') continue;
      if (e.type === 4) { dirs.push(e.ino); walk(e.ino); } else if (e.type === 8) files.push({ ino: e.ino, dir, name: e.name });
    }
  };
  walk(1);
  const dir = dirs[r.below(dirs.length)]!;
  const name = `n${r.below(40)}`;
  const f = files.length ? files[r.below(files.length)]! : null;
  switch (r.below(12)) {
    case 0: vol.mkdir(dir, name, 0o755, 0, 0); return;
    case 1: case 2: {
      const at = vol.mknod(dir, name, 0o100644, 0, 1, 2);
      const ino = typeof at === 'number' ? (f?.ino ?? 0) : at.ino;
      if (ino) vol.write(ino, r.below(3) === 0 ? r.below(40 * PS) : r.below(PS), r.bytes(1 + r.below(3 * PS)));
      return;
    }
    case 3: case 4: if (f) vol.write(f.ino, r.below(70 * PS), r.bytes(1 + r.below(2 * PS))); return;
    case 5: if (f) vol.setattr(f.ino, { size: r.below(50 * PS) }); return;
    case 6: if (f) vol.fallocate(f.ino, 3, r.below(20 * PS), 1 + r.below(8 * PS)); return;   // punch hole
    case 7: if (f) vol.unlink(f.dir, f.name); return;
    case 8: if (f) vol.rename(f.dir, f.name, dir, name, 0); return;
    case 9: if (f) vol.link(f.ino, dir, name); return;
    case 10: if (f) vol.setxattr(f.ino, `user.k${r.below(3)}`, r.bytes(r.below(3) === 0 ? 3000 : 5), 0); return;
    default: if (f) vol.setattr(f.ino, { mode: r.below(0o777), uid: r.below(5) }); return;
  }
}

/** Where each record of the committed log starts: its type, payload length, and (pfn, offset) of its first byte. */
export interface LogRecordAt { type: number; length: number; pfn: number; off: number }

export function logRecords(ram: SimRam): LogRecordAt[] {
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  const pieces: { pfn: number; start: number; end: number }[] = [];
  let pfn = slot.headPfn;
  for (let i = 0; i < slot.log!.logPages; i++) {
    pieces.push({ pfn, start: LOG_HEADER, end: i === slot.log!.logPages - 1 ? slot.log!.tailOff : PS - LOG_NEXT });
    pfn = Number(readNext(ram.page(pfn)));
  }
  const stream = Buffer.concat(pieces.map((p) => ram.page(p.pfn).subarray(p.start, p.end)));
  const where = (s: number) => {
    for (const p of pieces) { if (s < p.end - p.start) return { pfn: p.pfn, off: p.start + s }; s -= p.end - p.start; }
    throw new Error('past the stream');
  };
  const out: LogRecordAt[] = [];
  for (let s = 0; s < stream.length;) {
    const type = stream.readUInt16LE(s + 4), length = stream.readUInt32LE(s + 8);
    out.push({ type, length, ...where(s) });
    s += RECORD_HEADER + align8(length);
  }
  return out;
}

/** The byte at stream offset `k` bytes into the record (across pages). */
export function logByte(ram: SimRam, at: LogRecordAt, k: number): { pfn: number; off: number } {
  let pfn = at.pfn, off = at.off + k;
  while (off >= PS - LOG_NEXT) { off -= PS - LOG_NEXT - LOG_HEADER; pfn = Number(readNext(ram.page(pfn))); }
  return { pfn, off };
}

/** A seeded tree on a fresh arena: nested directories d0/d1/d2/d3 first (randomOp makes them one level at a time), then `ops` seeded changes (links, renames, unlinks). */
export function randomTree(seed: number, ops: number): { ram: SimRam; vol: Volume } {
  const r = new Prng(seed);
  const ram = newRam(4096);
  const vol = mountOn(ram);
  let dir = 1;
  for (let d = 0; d < 4; d++) dir = (vol.mkdir(dir, `d${d}`, 0o755, 0, 0) as { ino: number }).ino;
  for (let i = 0; i < ops; i++) randomOp(vol, r);
  return { ram, vol };
}

/** The volume driven (a due compaction waits for its slices) and commits of ~3 KiB of records on `name` until a compaction is due. */
export function growUntilDue(vol: Volume, name = 'grow'): void {
  vol.background(0);
  const f = (vol.mknod(1, name, 0o100644, 0, 0, 0) as { ino: number }).ino;
  for (let i = 0; !vol.pram!.slices!.wanted(); i++) {
    if (i >= 2000) throw new Error('the log never became due for a compaction');
    vol.setxattr(f, 'user.grow', Buffer.alloc(3000, i & 0xff), 0);
    if (vol.sync() !== 0) throw new Error('a commit growing the log failed');
  }
}

/**
 * A seeded tree whose next compaction runs in the least slices (background(0): a node or a few
 * groups each); `prepare` runs before it, `during` between slices. Returns the volume after the sync that publishes it.
 */
export function slicedCompaction(seed: number, during: (vol: Volume, step: number) => void, prepare: (vol: Volume) => void = () => {}): { ram: SimRam; vol: Volume; steps: number } {
  const { ram, vol } = randomTree(seed, 250);
  prepare(vol);
  assert.equal(vol.sync(), 0);
  growUntilDue(vol);
  const head = vol.pram!.head;
  let steps = 0;
  while (vol.background(0)) {
    assert.ok(++steps < 20000, `seed ${seed}: the compaction ends`);
    during(vol, steps);
  }
  assert.ok(steps > 10, `seed ${seed}: ${steps} slices`);
  assert.equal(vol.sync(), 0);                             // the last step publishes the fresh log
  assert.notEqual(vol.pram!.head, head, `seed ${seed}: the fresh log is published`);
  return { ram, vol, steps };
}

/** The space model's shape of a mounted volume (bytes, data pages, inline nodes). */
export const shapeOf = (vol: Volume) => { const s = vol.pram!.space.shape; return { bytes: s.bytes, data: s.data, inline: s.inline }; };

/**
 * A lazy mount of `ram` against the full replay of a copy: statfs and the space model before any
 * directory loads and after the walk, the tree, no loss. `booted` checks how the lazy mount booted.
 */
export function lazyEqualsFull(ram: SimRam, label: string, booted: (lazy: Volume) => void): void {
  const full = mountOn(copyRam(ram), { verify: 'full' });
  const want = dump(full), wantFs = full.statfs(), wantShape = shapeOf(full);
  const lazy = mountOn(ram, { verify: 'lazy' });
  booted(lazy);
  beforeLoads(lazy, wantFs, wantShape, label);
  assert.deepEqual(dump(lazy), want, `${label}: the tree`);
  assert.deepEqual(lazy.statfs(), wantFs, `${label}: statfs after`);
  assert.deepEqual(shapeOf(lazy), wantShape, `${label}: the space model after`);
  assert.deepEqual(lazy.losses, [], label);
  full.detach();
  lazy.detach();
}

/**
 * statfs and the space model of a lazy mount before any directory loads: the full replay's; with tail records
 * waiting for their groups' loads (pram/taildefer.ts), conservative: as many files, no more free pages, no less charged.
 */
export function beforeLoads(lazy: Volume, wantFs: ReturnType<Volume['statfs']>, wantShape: ReturnType<typeof shapeOf>, label: string): void {
  if (!lazy.pram!.lazyLog?.tail?.deferred.size) {
    assert.deepEqual(lazy.statfs(), wantFs, `${label}: statfs before any directory loads`);
    assert.deepEqual(shapeOf(lazy), wantShape, `${label}: the space model before any directory loads`);
    return;
  }
  const fs = lazy.statfs(), shape = shapeOf(lazy);
  assert.equal(fs.files, wantFs.files, `${label}: statfs files before any directory loads`);
  assert.ok(fs.bfree <= wantFs.bfree && fs.bavail <= wantFs.bavail, `${label}: statfs free ${fs.bfree} <= ${wantFs.bfree} before any directory loads`);
  for (const k of ['bytes', 'data', 'inline'] as const) assert.ok(shape[k] >= wantShape[k], `${label}: the space model's ${k} ${shape[k]} >= ${wantShape[k]} before any directory loads`);
}

/** The committed log of an arena on `ram`: its pages, its stream length and its id. */
export function committedLog(ram: SimRam): { pages: number[]; bytes: number; logId: number } {
  const slot = new HeaderView(ram.page(0)).current()!.slot;
  const pages = logPages(ram, slot.headPfn, slot.log!.logPages);
  if (typeof pages === 'string') throw new Error(pages);
  const h = readLogHeader(ram.page(pages[0]!));
  if (typeof h === 'string') throw new Error(h);
  return { pages, bytes: (pages.length - 1) * (PS - LOG_HEADER - LOG_NEXT) + slot.log!.tailOff - LOG_HEADER, logId: h.logId };
}

/** The index of the compaction that began the committed log, or why there is none. */
export function indexOf(ram: SimRam): GroupIndex | string {
  const log = committedLog(ram);
  return readIndex(ram, log.pages, log.bytes, log.logId);
}

/**
 * A RAM holding, in the root, a large file of `pages` seeded pages and a small one of 3, compacted (`more` runs
 * before the compaction): a lazy mount keeps the large file for its first use (laterpages.ts, groupthin.ts).
 */
export function largeAndSmall(seed: number, pages: number, more: (vol: Volume) => void = () => {}): { ram: SimRam; body: Buffer; big: number; small: number } {
  const ram = newRam(pages * 3 + 2048);
  const vol = mountOn(ram);
  const big = (vol.mknod(1, 'big', 0o100644, 0, 0, 0) as { ino: number }).ino;
  const small = (vol.mknod(1, 'small', 0o100644, 0, 0, 0) as { ino: number }).ino;
  const body = Buffer.from(new Prng(seed).bytes(pages * PS));
  assert.equal(vol.write(big, 0, body), body.length);
  assert.equal(vol.write(small, 0, Buffer.alloc(3 * PS, 9)), 3 * PS);
  more(vol);
  assert.equal(vol.unmount(), 0);                 // a compaction, led by its index: the file as spans in the root's group
  return { ram, body, big, small };
}

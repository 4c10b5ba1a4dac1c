// Test helpers for fs/: a volume on simulated RAM, mounted through the real
// boot/ and pram/ code, remountable on the same RAM (the head pfn carried by a
// MemoryHandoff, as the simulated machine carries /sys/kernel/pram).
import { Arena } from '../mem/arena.js';
import type { PhysMem } from '../mem/physmem.js';
import { SimRam } from '../mem/simram.js';
import { ArenaHeaderHandoff, MemoryHandoff, type Handoff } from '../pram/handoff.js';
import type { Attr } from './table.js';
import { Volume } from './volume.js';

export interface SimVolume { vol: Volume; ram: PhysMem; handoff: Handoff; clock: () => bigint }

/** A clock that advances 1 µs per call, from a fixed epoch: times are distinct and reproducible. */
export function stepClock(start = 1_700_000_000_000_000_000n): () => bigint {
  let t = start;
  return () => (t += 1000n);
}

/** On SimRam (default) or, with `arena: true`, on a real memfd Arena with its header at pfn 0. */
export function simVolume(opts: { pageSize?: number; pageCount?: number; arena?: boolean; maxSegmentBytes?: number } = {}): SimVolume {
  const pageSize = opts.pageSize ?? 4096, pageCount = opts.pageCount ?? 1024;
  const ram = opts.arena ? Arena.memfd('pram-fs-test', pageSize * pageCount, { pageSize, maxSegmentBytes: opts.maxSegmentBytes }) : new SimRam({ pageSize, pageCount });
  const handoff = opts.arena ? ArenaHeaderHandoff.format(ram) : new MemoryHandoff();
  const clock = stepClock();
  const vol = Volume.mount({ mem: ram, handoff, clock, keepMemOpen: true });
  return { vol, ram, handoff, clock };
}

/** Unmount (a checkpoint) and mount again on the same RAM. */
export function remount(s: SimVolume, cmdline = ''): SimVolume {
  const r = s.vol.unmount();
  if (r < 0) throw new Error(`unmount failed: ${r}`);
  const vol = Volume.mount({ mem: s.ram, handoff: s.handoff, clock: s.clock, keepMemOpen: true, cmdline });
  return { ...s, vol };
}

/** The value or a thrown error naming the errno: keeps tests short where success is expected. */
export function ok<T>(r: T | number): T {
  if (typeof r === 'number' && r < 0) throw new Error(`unexpected errno ${r}`);
  return r as T;
}

export function ino(r: Attr | number): number {
  return ok(r).ino;
}

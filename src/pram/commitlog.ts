// One v3 commit written (docs/FORMAT.md §v3): the change set appended after the
// committed tail, or a compaction of the whole tree into a fresh log (with its
// index, or without it when only that fits the room the space model kept). It
// decides which and writes it; pram.ts publishes the result into its own state
// (which pages are the log's, what the commit froze and freed).

import { ENOSPC } from '../format/errno.js';
import type { ChangeSet, NodeImage } from './image.js';
import type { LiveLog, Published } from './live.js';
import { changeRecords, leastChangeBytes, treeRecords, type Emitted, type Emitter } from './records.js';
import { groupedTreeRecords, setLocate } from './indexes.js';
import type { Slices } from './slices.js';
import type { PhysMem } from '../mem/physmem.js';
import type { Log } from './types.js';

export interface CommitParts {
  mem: PhysMem;
  live: LiveLog;
  slices: Slices;
  emitter: Emitter;
  log: Log;
  /** Pages the ledger keeps beyond the next durable steps (< 0: an append would eat the compaction's room). */
  room(): number;
}

/** What a commit wrote: the published log (compact: a fresh one) and its records. */
export interface Written { p: Published; e: Emitted; compact: boolean }

/**
 * Writes commit `generation`: the append of `changes` unless a compaction is
 * due or the append does not fit (then all() compacted whole: the slices'
 * unfinished one is abandoned). A due compaction runs whole here without a
 * driver for slices, at unmount (`closing`: even with nothing changed, the image
 * left is what the next mount reads: with its index, not a whole replay), and
 * for a change that outweighs the committed log (then it is O(change) as the
 * append is). Returns what to publish, 0 (nothing to write), or -ENOSPC with the
 * previous commit current and intact.
 */
export function writeCommit(changes: ChangeSet | null, all: () => Iterable<NodeImage>, generation: number, closing: boolean, c: CommitParts): Written | number {
  const { live, slices, emitter: e } = c;
  let idle = false;
  if (changes !== null && live.cursor !== null) {
    const committed = live.cursor.bytes;
    const whole = (appended: number): boolean => live.compactsWhole(appended, slices.driven, closing);
    // Known from the change's least bytes, a compaction's append is not written first.
    const least = leastChangeBytes(changes);
    if (!(least > 0 && whole(least))) {
      // The append is written in place past the committed tail before it is decided on: unpublished, it is never read.
      changeRecords(changes, e.reset(live.openAppend(), generation));
      const r = live.endAppend(), compact = r === 0 && whole(live.appendEnd - committed);
      idle = r === 0 && e.records === 0;
      if (idle && !(compact && closing)) { live.dropAppend(); return 0; }   // nothing to write, not even a due compaction
      // The append must leave room for the compaction after it (the ledger's rule: the pages it took are no longer free).
      if (r === 0 && !compact && c.room() >= 0) return { p: live.publishAppend(generation, e), e, compact: false };
      if (r === 0) live.dropAppend();
    }
  }
  slices.abandon();
  const p = compaction(all, generation, c);
  if (p) return { p, e, compact: true };
  // An unmount that changed nothing keeps its image (the next mount's first commit compacts).
  if (idle) { c.log(`PRAM: the due compaction at unmount failed (${-ENOSPC}): the log is kept as committed`); return 0; }
  c.log(`PRAM: Failed to save FS tree: ${-ENOSPC}`);
  return -ENOSPC;
}

/** The whole tree into a fresh log with its index, else (the ledger prices none) without one; null: no room. */
function compaction(all: () => Iterable<NodeImage>, generation: number, c: CommitParts): Published | null {
  const { live, emitter: e } = c;
  const fresh = live.openFresh(generation);
  if (typeof fresh === 'number') return null;
  const locate = groupedTreeRecords(all(), e.reset(live.writer, generation), live.writer, generation, c.mem.pageSize);
  if (live.closeFresh() === 0) { setLocate(c.mem, fresh, locate); return live.publishFresh(fresh, generation, e); }
  live.drop(fresh);
  const plain = live.openFresh(generation);
  if (typeof plain === 'number') return null;
  treeRecords(all(), e.reset(live.writer, generation));
  if (live.closeFresh() === 0) return live.publishFresh(plain, generation, e);
  live.drop(plain);
  return null;
}

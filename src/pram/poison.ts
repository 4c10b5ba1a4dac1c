// Poisoning what a lost link page cut (v1/v2 chains, at load): the pages of a
// file listed after the gap are unknown, so each hole there gets a page marked
// Bad that reads EIO instead of zeros, until the range is rewritten whole.
import { Owner, PageFlag, type PageFrames } from '../boot/frames.js';
import type { PageAllocator } from '../boot/allocator.js';
import type { PhysMem } from '../mem/physmem.js';
import type { Loss, NodeImage } from './image.js';
import type { LoadState } from './load.js';

/** Most pages a gap may mark unreadable in one file (hostile sizes stay bounded). */
const MAX_POISON = 1 << 16;

interface PoisonMemory { mem: PhysMem; allocator: PageAllocator; frames: PageFrames }

/**
 * Files whose entries went on in a lost link page: their pages from there to
 * the end of the file are unknown. Each hole there gets a page marked Bad, so
 * it reads EIO (not zeros) and is saved with a checksum that cannot match it —
 * the loss stays visible until the range is rewritten whole. Bounded by the
 * tail's count of missing pages when there is one, and by MAX_POISON.
 */
export function poisonCuts(m: PoisonMemory, st: LoadState, kept: Set<NodeImage>, readOnly: boolean): Loss[] {
  const out: Loss[] = [];
  const ps = m.mem.pageSize;
  for (const { b, from, link } of st.cutAtGap) {
    if (!kept.has(b.node)) continue;                     // dropped by tree.ts (its pages go back)
    const t = b.tail;
    if (t && b.dataSeen >= t.dataPages) continue;        // every page it had was found: the gap cut nothing
    const end = Math.min(Math.ceil(b.node.size / ps), from + MAX_POISON);
    let first = -1, last = -1, n = 0;
    for (let index = from; index < end; index++) {
      if (b.node.pages.get(index) !== 0) continue;
      const pfn = m.allocator.alloc(Owner.Data);
      if (pfn < 0) break;                                  // no room: the loss is still reported
      if (!readOnly) m.mem.page(pfn).fill(0);            // Bad: reads EIO whatever the page holds
      m.frames.flags[pfn] = PageFlag.Bad | PageFlag.Dirty;
      b.node.pages.set(index, pfn);
      if (first < 0) first = index;
      last = index; n++;
    }
    m.allocator.releaseHeld();
    if (n === 0) continue;
    const range = { start: first * ps, end: Math.min((last + 1) * ps, b.node.size) };
    out.push({ path: b.path, pfn: link || null, range,
      what: `pages ${first}-${last} (bytes ${range.start}-${range.end - 1}) may have been listed in the lost link page` +
        `${link ? ` pfn:${link.toString(16)}` : ''}: they read EIO until rewritten (${n} page(s))` });
  }
  return out;
}

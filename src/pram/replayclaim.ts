// The last step of a v3 replay (replay.ts): every live run's and span's data pages reserved
// through memblock before the allocator exists; a run that cannot be reserved is a loss.

import type { PhysMem } from '../mem/physmem.js';
import type { Memblock } from '../boot/memblock.js';
import { RUN, type ReplayNode } from './apply.js';
import { claimSpans, Reserver } from './spans.js';
import type { Loss } from './image.js';

/** Reserve every live run's and span's pages; a run that cannot be reserved is lost (its indexes read EIO). */
export function claim(mem: PhysMem, memblock: Memblock, out: { nodes: Map<number, ReplayNode>; losses: Loss[] }): number {
  const r = new Reserver(mem, memblock);
  for (const [ino, n] of out.nodes) {
    claimSpans(ino, n, r, out.losses);
    if (!n.groups) continue;
    for (const [g, runs] of n.groups) {
      let kept: number[] | null = null;   // a copy only once a run is lost
      for (let k = 0; k < runs.length; k += RUN) {
        const index = runs[k]!, pfn = runs[k + 1]!, count = runs[k + 2]!;
        const why = r.claim(pfn, count);
        if (why) {
          out.losses.push({ path: null, pfn: why.startsWith('outside') ? null : pfn, what: `ino ${ino}: data page${count > 1 ? 's' : ''} ${index}${count > 1 ? `-${index + count - 1}` : ''} lost: MAP names pfn:${pfn.toString(16)}+${count}, ${why}` });
          for (let i = index; i < index + count; i++) (n.poison ??= new Set()).add(i);
          kept ??= runs.slice(0, k);
          continue;
        }
        if (kept) for (let f = 0; f < RUN; f++) kept.push(runs[k + f]!);
      }
      if (!kept) continue;
      if (kept.length) n.groups.set(g, kept); else n.groups.delete(g);
    }
  }
  r.flush();
  return r.pages;
}

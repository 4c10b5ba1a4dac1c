// The volume's work between requests, in bounded slices (pram/slices.ts):
// settling checksums of written pages, and a compaction in slices — the nodes
// walked in table order (a Map iterator: nodes made meanwhile may or may not be
// visited, gone ones are not; either way the change tracker holds them for the
// last step), each with the names it holds when it is a directory. The last
// step is the next sync's commit (Volume.sync): nothing here commits, so what a
// kill comes back to is always a sync's state.
import type { Slices, SliceNode } from '../pram/slices.js';
import type { Inode } from './inode.js';
import { imageOf, liveNode } from './snapshot.js';
import type { InodeTable } from './table.js';

export class Background {
  private walk: IterableIterator<Inode> | null = null;

  constructor(private readonly t: InodeTable, private readonly slices: Slices) {}

  /** Work until `until` (performance.now()). true: more to do now (not waiting for a sync). */
  step(until: number): boolean {
    const { slices } = this, tracker = this.t.tracker!;
    if (!slices.compacting && tracker.holding) tracker.release();    // a commit compacted whole meanwhile
    if (slices.wanted() && slices.begin() === 0) { tracker.hold(); this.walk = this.t.inodes.values(); }
    if (slices.compacting && !slices.sliced) slices.slice(() => this.next(), until);
    const more = slices.settler?.settle(until) ?? false;
    if (!slices.compacting) { this.walk = null; if (tracker.holding) tracker.release(); }
    return more || (slices.compacting && !slices.sliced);
  }

  private next(): SliceNode | null {
    for (;;) {
      const r = this.walk!.next();
      if (r.done) return null;
      const node = r.value;
      if (!liveNode(node)) continue;                     // unlinked but open: dies with this mount
      const names: SliceNode['names'][number][] = [];
      if (node.dir) for (const [name, d] of node.dir.entries) names.push({ parent: node.ino, name, ino: d.ino });
      return { node: imageOf(this.t, node, [], true), names };
    }
  }
}

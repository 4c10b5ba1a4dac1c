// The volume's work between requests, in bounded slices (pram/slices.ts):
// settling checksums of written pages, and a compaction in slices — the nodes
// walked by directory (DirWalk below: nodes made meanwhile may or may not be
// visited, gone ones are not; either way the change tracker holds them for the
// last step), each with the names it holds when it is a directory. The last
// step is the next sync's commit (Volume.sync): nothing here commits, so what a
// kill comes back to is always a sync's state.
import type { Slices, SliceNode } from '../pram/slices.js';
import type { Inode } from './inode.js';
import { imageOf, liveNode } from './snapshot.js';
import { ROOT_INO, type InodeTable } from './table.js';

export class Background {
  private walk: DirWalk | null = null;

  constructor(private readonly t: InodeTable, private readonly slices: Slices) {}

  /** Work until `until` (performance.now()). true: more to do now (not waiting for a sync). */
  step(until: number): boolean {
    const { slices } = this, tracker = this.t.tracker!;
    if (!slices.compacting && tracker.holding) tracker.release();    // a commit compacted whole meanwhile
    if (slices.wanted() && slices.begin() === 0) { tracker.hold(); this.walk = new DirWalk(this.t); }
    if (slices.compacting && !slices.sliced) { this.walk!.sliceBegins(); slices.slice(() => this.walk!.next(), until); }
    const more = slices.settler?.settle(until) ?? false;
    if (!slices.compacting) { this.walk = null; if (tracker.holding) tracker.release(); }
    return more || (slices.compacting && !slices.sliced);
  }
}

/**
 * The nodes of a compaction in slices grouped by directory (v3 minor 2): breadth
 * first from the root, each directory ('dir', with the names it holds now and its
 * parent: the directory before it whose names held it, or the root itself) then
 * the nodes it is first to name ('member'); then, in table order, every live node
 * the walk did not write ('rest': one moved meanwhile out of a directory not yet
 * visited, say). A node changed or made meanwhile is the tracker's either way.
 */
class DirWalk {
  private readonly queue: number[] = [ROOT_INO];
  /** Each queued directory's parent: the directory whose names (written before it) hold it. */
  private readonly ups: number[] = [ROOT_INO];
  private q = 0;
  private dir = ROOT_INO;              // the directory whose members are being walked
  private members: number[] = [];
  private m = 0;
  private readonly written = new Set<number>();
  private rest: IterableIterator<Inode> | null = null;
  /** No node given in this slice yet; a member whose pages wait for adoption held for the next slice. */
  private fresh = true;
  private held: Inode | null = null;

  constructor(private readonly t: InodeTable) {}

  /** A slice begins: the node it takes first may be one whose adoption costs milliseconds. */
  sliceBegins(): void { this.fresh = true; }

  /**
   * The next node; undefined when it is a file whose pages wait for adoption and this slice wrote
   * a node already: the adoption (a 1 GiB file's: milliseconds) begins a slice, not the end of one.
   */
  next(): SliceNode | null | undefined {
    const n = this.walkOn();
    if (n !== undefined) this.fresh = false;
    return n;
  }

  private walkOn(): SliceNode | null | undefined {
    while (!this.rest) {
      while (this.held !== null || this.m < this.members.length) {
        const node = this.held ?? this.t.get(this.members[this.m++]!);
        this.held = null;
        if (!node || !liveNode(node) || this.written.has(node.ino)) continue;
        if (node.dir) { this.queue.push(node.ino); this.ups.push(this.dir); continue; }
        if (node.waitsAdoption && !this.fresh) { this.held = node; return undefined; }
        this.written.add(node.ino);
        return { node: imageOf(this.t, node, [], true), names: [], group: 'member', linked: node.nlink > 1 };
      }
      if (this.q >= this.queue.length) { this.t.loadAll(); this.rest = this.t.inodes.values(); break; }
      const up = this.ups[this.q]!, dir = this.t.get(this.queue[this.q++]!);
      if (!dir || !dir.dir || !liveNode(dir) || this.written.has(dir.ino)) continue;
      this.written.add(dir.ino);
      this.dir = dir.ino;
      const names: SliceNode['names'][number][] = [];
      this.members = [];
      this.m = 0;
      for (const [name, d] of dir.dir.entries) { names.push({ parent: dir.ino, name, ino: d.ino }); this.members.push(d.ino); }
      // Its parent as this walk wrote it (HOMES): a move since is the tracker's, a NAME of the last step.
      return { node: imageOf(this.t, dir, [], true), names, group: 'dir', parent: up };
    }
    for (;;) {
      const r = this.rest.next();
      if (r.done) return null;
      const node = r.value;
      if (!liveNode(node) || this.written.has(node.ino)) continue;   // unlinked but open: dies with this mount
      const names: SliceNode['names'][number][] = [];
      if (node.dir) for (const [name, d] of node.dir.entries) names.push({ parent: node.ino, name, ino: d.ino });
      return { node: imageOf(this.t, node, [], true), names, group: 'rest' };
    }
  }
}

// How a volume's tree becomes durable (Volume.sync): a v3 engine commits what
// the change tracker noted since the last commit -- the whole tree after a
// salvage, and the last step of a compaction in slices when one is done --
// and a v1/v2 engine checkpoints the whole tree. The slices themselves are
// background work between requests (background.ts), started here. Whether the
// volume is still mounted is volume.ts's to ask first.
import type { Pram } from '../pram/pram.js';
import { Background } from './background.js';
import type { VolumeEngine } from './parts.js';
import { imageOf, liveNode, toImages } from './snapshot.js';
import type { InodeTable } from './table.js';

export class Checkpointer {
  /** InodeTable.changes at the last checkpoint; -1: the loaded image differs from the tree (salvage) or none was saved. */
  private savedChanges: number;
  /** The next commit writes the whole tree (a repaired tree is written whole first). */
  private wholeNext = false;
  private bg: Background | null = null;

  /** `salvaged`: the tree was repaired at load (losses), so the memory's image is not the tree. */
  constructor(private readonly t: InodeTable, private readonly engine: VolumeEngine, private readonly pram: Pram | undefined, salvaged: boolean) {
    this.savedChanges = salvaged || pram?.head === 0 ? -1 : t.changes;
    // A v3 engine logs what changes from here.
    if (engine.logs && engine.commit) { t.track(); this.wholeNext = salvaged; }
  }

  /**
   * A commit (v3) or a whole checkpoint (v1/v2): 0, or -errno with the previous
   * one still current. `closing`: the unmount's, which writes a due compaction whole.
   */
  sync(closing = false): number {
    const changes = this.t.changes;
    const { engine } = this, tracker = this.t.tracker;
    let r: number;
    if (engine.commit && tracker && this.pram?.slices?.sliced && !this.wholeNext && this.finishCompaction() === 0) r = 0;
    else if (engine.commit && tracker) {
      // A commit the engine will write whole needs no change set (a build's million creates: it would only be dropped).
      const whole = this.wholeNext || (engine.compactsWhole?.(tracker.changed, { closing }) ?? false);
      const set = whole ? null : tracker.build((ino) => this.t.get(ino), (node) => imageOf(this.t, node, [], true), liveNode);
      r = engine.commit(set, () => toImages(this.t, true), { closing });
      if (r === 0) { tracker.clear(); this.wholeNext = false; }
    } else r = engine.checkpoint(toImages(this.t));
    if (r === 0) this.savedChanges = changes;
    return r;
  }

  /**
   * Background work, at most about budgetMs (the library runs it between
   * requests, then this volume compacts in slices instead of inside a commit;
   * the next sync publishes it): true when there is more to do now. Never
   * needed for safety, and it never commits.
   */
  background(budgetMs: number): boolean {
    // A lazy mount's files kept for adoption on first use, adopted now while a checking thread would check them ahead.
    if (this.pram?.adoptLater(performance.now() + budgetMs)) return true;
    const slices = this.pram?.slices;
    if (!slices || !this.t.tracker) return false;
    this.drive();
    this.bg ??= new Background(this.t, slices);
    return this.bg.step(performance.now() + budgetMs);
  }

  /** From now on a driver calls background() between requests: a due compaction waits for its slices. */
  drive(): void {
    if (this.pram?.slices) this.pram.slices.driven = true;
  }

  /**
   * About how many records the next commit writes (changed inodes, names and
   * pages); 0 without a change tracker (a v2 engine's commit rewrites the whole
   * tree whatever changed, so committing early would only cost more).
   */
  pending(): number {
    return this.t.tracker?.size ?? 0;
  }

  /** Something a checkpoint saves changed since the last one (an interval checkpoint is skipped when not). */
  unsaved(): boolean {
    return this.t.changes !== this.savedChanges;
  }

  /** The last step of a compaction in slices (a sync's commit): everything changed since it began, into the fresh log. */
  private finishCompaction(): number {
    const tracker = this.t.tracker!;
    const set = tracker.build((ino) => this.t.get(ino), (node) => imageOf(this.t, node, [], true), liveNode, { held: true });
    const r = this.pram!.slices!.finish(set);
    tracker.release();
    if (r === 0) tracker.clear();
    return r;
  }
}

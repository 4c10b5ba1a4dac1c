// What a lazily mounted image still has to do after Pram.load returned: the
// directory groups fs/ has not asked for yet (loading.ts LazyGroups), the large
// files kept for adoption on first use (laterpages.ts LaterFiles), the checking
// thread's feeding with the sums of both (verify.ts FirstTouch, ahead.ts), and
// the losses found after the load. Apart from pram.ts, which sequences the
// engine's durable steps and owns its pages: nothing here writes, frees or
// charges a page; what a group's load means for the log and the ledger the
// engine does through GroupEffects. After a full mount only FirstTouch (with
// nothing left unverified) and the late losses are used.

import type { Loss, PageMap } from './image.js';
import type { LazyLog, LoadedGroup } from './lazy.js';
import { LaterFiles, unbuilt, type LaterPageMap } from './laterpages.js';
import type { Build, LazyGroups, Loaded } from './loading.js';
import { FirstTouch, unverifiedPages, type FirstTouchContext } from './verify.js';

/** What a group's load asks of the engine. */
export interface GroupEffects {
  /** The group held damage (a late loss now). */
  damaged(): void;
  /** Tail records waited for this load (taildefer.ts): the pages they freed, and the mount's charge less the exact. */
  settle(s: NonNullable<LoadedGroup['settle']>): void;
}

export class LazyMount {
  /** Losses found after the load: a lazily loaded group's damage, a run failing its first read. */
  readonly late: Loss[] = [];
  /** Verification on first read, and the checking thread ahead of the readers. */
  readonly touch: FirstTouch;
  /** Files of lazily loaded groups kept for adoption on first use (laterpages.ts), not adopted yet. */
  private readonly later = new LaterFiles();
  /** The loaded nodes, searched (only when a check fails) for the file holding a pfn; null: verified in full. */
  private builds: readonly Build[] | null = null;
  private groups: LazyGroups | null = null;

  constructor(private readonly ctx: Omit<FirstTouchContext, 'late' | 'builds'>, private readonly effects: GroupEffects) {
    this.touch = new FirstTouch({ ...ctx, late: this.late, builds: () => this.builds ?? undefined });
  }

  /** LoadParts.later (loading.ts): a file kept for adoption on first use, and one adopted then. */
  readonly laterFiles = {
    made: (map: LaterPageMap): void => this.later.made(map),
    built: (pages: PageMap): void => this.laterBuilt(pages),
  };

  /** What the load left (loading.ts Loaded): the files to name, the groups to load; the checking thread starts. */
  loaded(l: Loaded): void {
    this.builds = l.builds;
    this.groups = l.groups;
    // A thin SPAN's damaged page crcs, found when its file is adopted (groupthin.ts): a late loss, and (once the
    // request adopting it is done: a commit may be the one adopting) the next commit writes a fresh log, as after a group's.
    if (l.groups) {
      const log = l.groups.log;
      log.lateLoss = (loss) => { this.late.push(loss); queueMicrotask(() => this.effects.damaged()); };
      for (const loss of log.early.splice(0)) log.lateLoss(loss);
    }
    if (l.ahead > 0) this.touch.startAhead(l.ahead);
    else if (this.groups) this.touch.startAhead(this.groups.log.dataPages, true);   // its sums come as groups load (loadGroup)
  }

  /** A log booted lazily, whose groups loadGroup adopts (null: the image was loaded whole). */
  get log(): LazyLog | null { return this.groups?.log ?? null; }

  /**
   * The group of directory `dir` of a lazily booted log, adopted (null: loaded before);
   * damage found in it is a late loss. `pathOf` names the directory in losses.
   */
  loadGroup(dir: number, pathOf: (ino: number) => string): LoadedGroup | string | null {
    const before = this.late.length;
    const g = this.groups!.load(dir, (l) => this.late.push(l), pathOf);
    if (this.late.length > before) this.effects.damaged();
    if (g && typeof g !== 'string' && g.settle) this.effects.settle(g.settle);
    // A file adopted on first use (laterpages.ts) has no sums yet: the checking thread gets them when it is built.
    if (g !== null) this.touch.groupLoaded(typeof g === 'string' ? [] : g.nodes.filter((n) => !unbuilt(n.pages)), this.lastSums);
    return g;
  }

  /** Every group loaded and every file adopted: the checking thread gets no more sums. */
  private get lastSums(): boolean { return this.groups!.log.done && this.later.files === 0; }

  /**
   * A file kept for later (laterpages.ts) adopted now: its pages' sums go to the checking thread as a group's do.
   * The first one used while a checking thread runs brings every other one waiting with it: a reader going through
   * the files one by one would otherwise hand the thread each file's sums as it starts reading it, so the thread
   * never gets ahead (12 GiB in 1 GiB files read after a lazy mount: 1.23x the reads after a full mount, against
   * 1.13x when the sums came with the group). The mount stays free of it; the first use pays what the mount did.
   */
  private laterBuilt(pages: PageMap): void {
    this.later.built(pages);
    this.touch.groupLoaded([{ pages }], this.lastSums);
    if (this.adoptingAll || this.later.files === 0 || !this.touch.aheadRan) return;
    this.adoptingAll = true;
    try { this.later.adoptUntil(Infinity); } finally { this.adoptingAll = false; }
  }
  private adoptingAll = false;

  /**
   * Background work between requests (fs/ checkpoint.ts, through Pram.adoptLater): while a checking thread runs,
   * the files kept for adoption on first use are adopted now, one at least, until `until` (performance.now()):
   * their sums let the thread check them ahead of their first read, as it checks the files adopted with their
   * group. Without a thread nothing is gained by adopting early: they wait for their first use. true: more to do.
   */
  adoptLater(until: number): boolean {
    if (!(this.later.files > 0 && this.touch.aheadRan)) return false;
    // At its own pace: a file it adopts brings no other with it (laterBuilt's rule is a first use's). All at once, the
    // background's first slice after a 4 GiB lazy mount adopted its four 1 GiB files: 8-17 ms of CPU (issue 13).
    const was = this.adoptingAll;
    this.adoptingAll = true;
    try { return this.later.adoptUntil(until); } finally { this.adoptingAll = was; }
  }

  /** The checking thread (verify.ts): blocks [not checked (and a file awaiting adoption, one each), being checked, good, differing, left to readers]; null: none ran. */
  aheadVerdicts(): number[] | null {
    const v = this.touch.aheadVerdicts();
    // A file kept for adoption on first use (laterpages.ts) holds pages the thread has not checked: one block not checked each, until adopted.
    if (v && this.later.files > 0) v[0]! += this.later.files;
    return v;
  }

  /** Pages the fs still holds unverified (`gone`: those it no longer uses); 0 after a full mount. */
  unverified(gone: () => Iterable<number>): number {
    // A file adopted on first use (laterpages.ts) has every page still to verify: not flagged yet, counted all the same.
    return this.builds ? unverifiedPages(this.ctx.frames.flags, gone()) + this.later.pages : 0;
  }
}

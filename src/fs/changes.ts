// What changed since the last commit, for a v3 engine's O(change) commit
// (pram/records.ts): inodes whose attributes, size, xattrs or life changed,
// names added or removed per directory, and file page indexes set, replaced
// or removed. Hooks on the page maps and directories report every change at
// its one place of mutation, so nothing can change unseen; the table reports
// attribute changes (touch, setattr) and new and evicted inodes.
import type { ChangeSet, NodeImage } from '../pram/image.js';
import type { Inode } from './inode.js';
import { GROUP_PAGES } from '../format/v3.js';

export class ChangeTracker {
  private readonly nodes = new Set<number>();
  /** Nodes whose atime changed (a read): an ATIMES entry each at the commit, unless also in `nodes` (an INODE carries it). */
  private readonly atimes = new Set<number>();
  private readonly fresh = new Set<number>();
  private readonly names = new Map<string, [parent: number, name: string]>();
  // Per ino: 32-page group -> a bit per page changed (a commit logs changed groups whole); one map
  // operation per page, no entry per page. The last ino's groups are kept at hand (a write is page after page).
  private readonly pages = new Map<number, Map<number, number>>();
  private pageCount = 0;               // pages changed, all inodes
  private lastIno = -1;
  private lastGroups: Map<number, number> | null = null;
  /** While a compaction runs in slices: what commits since it began changed (its last step logs it again). */
  private held: ChangeTracker | null = null;

  /**
   * unlogged: inos from here up are in no committed log (the table's next ino when
   * tracking began: every ino the log holds alive was loaded, and a load with
   * losses compacts first). 0: any ino may be.
   */
  constructor(private unlogged = 0) {}

  get empty(): boolean { return this.nodes.size === 0 && this.names.size === 0 && this.atimes.size === 0; }

  /** Records the next commit writes, about: one per changed inode, name and page (what an early checkpoint weighs). */
  get size(): number { return this.nodes.size + this.names.size + this.pageCount + this.atimes.size; }
  /** Changed inodes and names since the last commit, without building the set. */
  get changed(): { nodes: number; names: number } { return { nodes: this.nodes.size, names: this.names.size }; }

  node(ino: number): void { this.nodes.add(ino); }

  /** Only the atime of `ino` changed (a read): 16 bytes of an ATIMES record at the commit, not an INODE record. */
  atime(ino: number): void { this.atimes.add(ino); }

  /**
   * A new inode: hooks on its page map and directory. A reused ino (one a log
   * may hold) is fresh: the commit drops what an older log says of it first.
   * A new number needs no DROP (24 bytes of every create).
   */
  made(node: Inode): void {
    if (node.ino < this.unlogged) this.fresh.add(node.ino);
    else this.unlogged = node.ino + 1;
    this.nodes.add(node.ino);
    this.watch(node);
  }

  /** Report this inode's page and name changes from now on (a loaded inode: nothing changed yet). */
  watch(node: Inode): void {
    const ino = node.ino;
    node.pageHook = this.pageHook;
    const pages = node.adoptedPages;             // a map made or adopted later gets the hook then (inode.ts)
    if (pages) { pages.owner = ino; pages.onChange = this.pageHook; }
    if (node.dir) node.dir.onChange = (name) => { this.names.set(`${ino}/${name}`, [ino, name]); };
  }

  /** Every page map's hook (the map says whose it is): a mount of many files makes no closure per file. */
  private readonly pageHook = (ino: number, index: number): void => this.page(ino, index);

  private page(ino: number, index: number): void {
    let groups = ino === this.lastIno ? this.lastGroups : null;
    if (!groups) {
      groups = this.pages.get(ino) ?? null;
      if (!groups) { this.pages.set(ino, (groups = new Map())); this.nodes.add(ino); }
      this.lastIno = ino; this.lastGroups = groups;
    }
    const g = Math.floor(index / GROUP_PAGES), bit = 1 << (index - g * GROUP_PAGES);
    const mask = groups.get(g) ?? 0;
    if (mask & bit) return;
    groups.set(g, mask | bit);
    this.pageCount++;
  }

  /**
   * The change set: live inodes whole (image()), inodes gone as drops, names
   * as they stand now in their directory (gone: ino 0), changed page indexes.
   */
  build(get: (ino: number) => Inode | undefined, image: (node: Inode) => NodeImage, live: (node: Inode) => boolean, opts: { held?: boolean } = {}): ChangeSet {
    if (opts.held && this.held) { this.held.merge(this); return this.held.build(get, image, live); }
    const set: ChangeSet = { nodes: [], fresh: this.fresh, dropped: [], names: [], groups: new Map() };
    for (const ino of this.nodes) {
      const node = get(ino);
      if (!node || !live(node)) { set.dropped.push(ino); continue; }
      set.nodes.push(image(node));
      const p = this.pages.get(ino);
      if (p) set.groups.set(ino, p);
    }
    set.atimes = this.atimesOnly(get, live);
    for (const [parent, name] of this.names.values()) {
      const dir = get(parent);
      const d = dir && live(dir) ? dir.dir?.get(name) : undefined;
      set.names.push({ parent, name, ino: d?.ino ?? 0 });
    }
    return set;
  }

  /** The nodes of `atimes` not otherwise changed, ascending, with their atimes now. */
  private atimesOnly(get: (ino: number) => Inode | undefined, live: (node: Inode) => boolean): ChangeSet['atimes'] {
    const inos = new Float64Array(this.atimes.size);
    let n = 0;
    for (const ino of this.atimes) if (!this.nodes.has(ino)) inos[n++] = ino;
    if (n === 0) return undefined;
    const sorted = inos.subarray(0, n).sort(), times = new BigUint64Array(n);
    let m = 0;
    for (let k = 0; k < n; k++) {
      const node = get(sorted[k]!);
      // (A node gone or dying changed its life too: it is in `nodes`.)
      if (!node || !live(node)) continue;
      sorted[m] = sorted[k]!; times[m++] = node.atimeNs;   // (a BigUint64Array stores it modulo 2^64: two's complement, as an INODE's)
    }
    return m === 0 ? undefined : { inos: sorted.subarray(0, m), times: times.subarray(0, m) };
  }

  /** The commit is published: start over (what it held is kept while a compaction in slices holds changes). */
  clear(): void {
    this.held?.merge(this);
    this.nodes.clear(); this.atimes.clear(); this.fresh.clear(); this.names.clear(); this.pages.clear(); this.pageCount = 0;
    this.lastIno = -1; this.lastGroups = null;
  }

  /** Keep what every commit from now on logged, until release(): a compaction in slices began. */
  hold(): void { this.held = new ChangeTracker(); }

  /** The compaction was published or given up. */
  release(): void { this.held = null; }

  get holding(): boolean { return this.held !== null; }

  private merge(from: ChangeTracker): void {
    for (const ino of from.nodes) this.nodes.add(ino);
    for (const ino of from.atimes) this.atimes.add(ino);
    for (const ino of from.fresh) this.fresh.add(ino);
    for (const [k, v] of from.names) this.names.set(k, v);
    for (const [ino, groups] of from.pages) {
      let mine = this.pages.get(ino);
      if (!mine) this.pages.set(ino, (mine = new Map()));
      for (const [g, mask] of groups) {
        const before = mine.get(g) ?? 0;
        mine.set(g, before | mask);
        this.pageCount += bits(mask & ~before);
      }
    }
  }
}

/** Bits set in a 32-bit mask. */
function bits(m: number): number {
  let n = 0;
  for (let x = m >>> 0; x !== 0; x >>>= 1) n += x & 1;
  return n;
}

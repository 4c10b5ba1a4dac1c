// The inode table's side of a lazy mount (pram/lazy.ts): a directory's inode,
// its names and the nodes it is home to are made the first time anything asks
// the table for one of them (InodeTable.get), one group at a time; whatever
// needs the whole tree (a compaction, images for check/info/save) calls
// loadAll first. Loading changes nothing a commit would log: the tracker is
// told of each loaded inode as a load (watch), never as a change.
//
// Links are counted as a full load counts them: a directory's nlink counts the
// subdirectories it names (known from the index without loading them); a
// subdirectory's own name is counted when it loads; a node named in several
// directories loads all of them with it, so its nlink is whole when it is seen.
import type { Loss } from '../pram/image.js';
import type { Inode } from './inode.js';
import { S_IFDIR } from './mode.js';
import { nameCost } from './names.js';
import type { LazySource } from './parts.js';
import { attachStray, lostFound, makeLoaded } from './snapshot.js';
import { ROOT_INO, type InodeTable, type TreeLoader } from './table.js';

export class LazyTree implements TreeLoader {
  /** Subdirectories named by a loaded directory, not loaded yet: their parent and name. */
  private readonly parents = new Map<number, { parent: number; name: string }>();
  /** Names in loaded directories of linked nodes not loaded yet. */
  private readonly pendingNames = new Map<number, { dir: number; name: string }[]>();
  private depth = 0;
  private damaged = false;
  private loadingAll = false;

  constructor(private readonly t: InodeTable, private readonly src: LazySource, private readonly root: { uid: number; gid: number; mode: number }) {}

  /** Nodes of the image not loaded yet (statfs). */
  get unloaded(): number { return this.src.unloaded; }
  get maxIno(): number { return this.src.maxIno; }

  /** A directory's entry type without loading it (a subdirectory is known from the index); else the node's own. */
  isDir(ino: number): boolean { return this.src.isDir(ino); }

  /** The inode `ino` after loading the group that holds it (undefined: none does, or it is loaded and gone). */
  fetch(ino: number): Inode | undefined {
    // The root's group, which the mount leaves to the first need (Volume), loads before anything else is looked for:
    // whatever the volume is asked first (a path, or a node by number as after a mount that loaded it) starts there.
    if (this.src.groupOf(ROOT_INO) === ROOT_INO && !this.src.isLoaded(ROOT_INO)) {
      this.load(ROOT_INO);
      const node = this.t.inodes.get(ino);
      if (node !== undefined || ino === ROOT_INO) return node;
    }
    const dir = this.src.groupOf(ino);
    if (dir === 0 || this.src.isLoaded(dir)) return undefined;
    this.load(dir);
    return this.t.inodes.get(ino);
  }

  /** Every group (a compaction, check, info, a save in another format). */
  loadAll(): void {
    for (const dir of this.src.dirs()) this.load(dir);
  }

  /** Load directory `dir`'s group; a directory whose parent is not loaded yet loads the groups before it first (a parent comes first). */
  private load(dir: number): void {
    if (this.src.isLoaded(dir)) return;
    if (dir !== ROOT_INO && !this.parents.has(dir)) {
      const up = this.src.parentOf?.(dir) ?? 0;
      if (up !== 0 && up !== dir) this.load(up);           // HOMES: the way up (a directory a later commit moved, or made)
      else for (const d of this.src.dirs()) { if (d === dir) break; this.load(d); }
    }
    if (this.src.isLoaded(dir)) return;
    let before = this.src.charged();
    const tracker = this.t.tracker;
    this.t.tracker = null;              // a load is not a change
    const made: Inode[] = [];
    const links: Inode[] = [];
    const named: Inode[] = [];          // nodes an earlier load made, named here too: their charge grows by the name
    const strays: Inode[] = [];
    const dangling: { name: string; ino: number }[] = [];
    this.depth++;
    try {
      const g = this.src.load(dir, (ino) => this.pathOf(ino));
      before = this.src.charged();          // what the load itself settled (a deferred tail's charge made exact) stays
      const losses: Loss[] = [];
      if (g === null) return;
      if (typeof g === 'string' || g.damaged) this.damaged = true;
      if (typeof g === 'string') { this.standIn(dir, g, made); this.attachSelf(dir); } else {
        for (const img of g.nodes) { const n = makeLoaded(this.t, img, losses); if (n) made.push(n); }
        const d = this.t.inodes.get(dir);
        if (!d || !d.dir) this.standIn(dir, 'its group does not make a directory', made);
        this.attachSelf(dir);
        const node = this.t.inodes.get(dir)!;
        for (const { name, ino } of g.names) {
          const isDir = this.src.isDir(ino), child = isDir ? undefined : this.t.inodes.get(ino);
          const home = isDir || child ? dir : this.src.groupOf(ino);
          if (home === 0 || (home !== dir && this.src.isLoaded(home))) {
            dangling.push({ name, ino });       // a linked node whose home loaded without it (its INODE record was lost, reported)
            continue;
          }
          node.dir!.add(name, ino);
          if (isDir) { this.parents.set(ino, { parent: dir, name }); node.nlink++; continue; }
          // A node made by this load is not charged yet (chargeMade below makes records >= 1): only earlier ones join `named`.
          if (child) { child.nlink++; child.nameBytes += nameCost(name); if (child.records !== 0) named.push(child); continue; }
          const list = this.pendingNames.get(ino);
          if (list) list.push({ dir, name }); else this.pendingNames.set(ino, [{ dir, name }]);
        }
      }
      for (const n of made) {
        const pending = this.pendingNames.get(n.ino);
        if (pending) { for (const p of pending) { n.nlink++; n.nameBytes += nameCost(p.name); } this.pendingNames.delete(n.ino); }
        if (this.src.namedIn(n.ino).length) links.push(n);
        else if (n.nlink === 0 && !n.dir) strays.push(n);          // its NAME record was lost (reported): as a full load, to /lost+found
      }
      for (const l of losses) this.src.lose(l);
      for (const { name, ino } of dangling) this.src.lose({ path: this.childPath(dir, name), pfn: null, what: `name names ino ${ino}, whose INODE record was lost: dropped` });
    } finally {
      this.depth--;
      this.t.chargeMade(made);
      // A linked node made by an earlier group's load is charged per node already: its NAME here joins that
      // charge (else a later recharge of it, a rename or unlink, counts the name's bytes a second time).
      for (const n of named) this.t.recharge(n);
      this.t.tracker = tracker;
      for (const n of made) tracker?.watch(n);
      const after = this.src.charged();
      this.src.release({ bytes: after.bytes - before.bytes, inline: after.inline - before.inline });
    }
    // A linked node's other directories load now: its nlink is whole before anyone sees it.
    for (const n of links) for (const other of this.src.namedIn(n.ino)) this.load(other);
    this.dropDangling(dir);
    if (strays.length) this.toLostFound(strays.map((n) => ({ node: n, was: `inode ${n.ino}, no reachable name` })));
    // Damage (reported): a lost NAME may leave a node or directory no path reaches; as after a damaged
    // replay, everything loads now and what no name reaches is named in /lost+found.
    if (this.depth === 0 && this.damaged && !this.loadingAll) { this.loadingAll = true; this.loadAll(); }
    if (this.depth === 0 && this.lostDirs.length) {
      const dirs = this.lostDirs.splice(0);
      this.toLostFound(dirs.map((n) => ({ node: n, was: `directory ${n.ino}, whose name was lost` })));
    }
    if (this.depth === 0 && this.done()) this.t.lazy = null;
  }

  /**
   * Names of linked nodes homed in `dir` that its load did not make (their INODE record was lost,
   * reported): dropped with a loss each, as a full load drops them — never a name of nothing.
   */
  private dropDangling(dir: number): void {
    for (const [ino, names] of this.pendingNames) {
      if (this.src.groupOf(ino) !== dir || this.t.inodes.has(ino)) continue;
      this.pendingNames.delete(ino);
      for (const { dir: parent, name } of names) {
        this.t.inodes.get(parent)?.dir?.remove(name);
        this.src.lose({ path: this.childPath(parent, name), pfn: null, what: `name names ino ${ino}, whose INODE record was lost: dropped` });
      }
    }
  }

  /** Directories whose name was lost, moved to /lost+found once their load is done. */
  private lostDirs: Inode[] = [];

  /** Nodes a load left nameless (their NAME records lost, reported), named in /lost+found as a full load names them. */
  private toLostFound(list: { node: Inode; was: string }[]): void {
    // A change like any other (the tracker logs it); the damage already makes the next commit a compaction.
    const losses: Loss[] = [];
    const lf = lostFound(this.t);
    for (const { node, was } of list) { attachStray(this.t, lf, node, was, losses); this.t.recharge(node); }
    this.t.recharge(lf.dir);
    for (const l of losses) this.src.lose(l);
  }

  private done(): boolean {
    if (this.src.allLoaded) return this.src.allLoaded();     // O(1): a walk of every directory per load is quadratic in a tree of many
    for (const d of this.src.dirs()) if (!this.src.isLoaded(d)) return false;
    return true;
  }

  /** A loaded directory's own name (its parent loaded it first): its nlink and name bytes, as a full load attaches it. */
  private attachSelf(dir: number): void {
    const node = this.t.inodes.get(dir)!;
    if (dir === ROOT_INO) { node.nlink += 2; return; }
    const p = this.parents.get(dir);
    if (!p) { this.lostDirs.push(node); return; }   // its parents all loaded, none names it: its NAME record was lost (attachStray links it)
    node.nlink += 2;
    this.parents.delete(dir);
    node.dir!.parent = p.parent;
    node.nameBytes += nameCost(p.name);
  }

  /** A directory whose group cannot be read: an empty one in its place (never a dangling name), the loss said. */
  private standIn(dir: number, why: string, made: Inode[]): void {
    if (!this.t.inodes.has(dir)) made.push(this.t.make(S_IFDIR | 0o700, this.root.uid, this.root.gid, 0, ROOT_INO, dir));
    this.src.lose({ path: this.pathOf(dir), pfn: null, what: `directory ino ${dir}: its group in the log cannot be read (${why}): the names it held and the nodes it was home to are lost` });
  }

  private childPath(dir: number, name: string): string {
    const base = this.pathOf(dir);
    return `${base === '/' ? '' : base}/${name}`;
  }

  /** The path of a loaded directory (its parents are loaded: a path goes through them). */
  pathOf(ino: number): string {
    const parts: string[] = [];
    for (let cur = ino, steps = 0; cur !== ROOT_INO && steps < 4096; steps++) {
      const p = this.parents.get(cur);
      const node = this.t.inodes.get(cur);
      const parent = p?.parent ?? node?.dir?.parent;
      if (parent === undefined || parent === cur) return `(ino ${ino})`;
      const dir = this.t.inodes.get(parent);
      let name = p?.name;
      if (!name && dir?.dir) for (const [n, d] of dir.dir.entries) if (d.ino === cur) { name = n; break; }
      if (!name) return `(ino ${ino})`;
      parts.unshift(name);
      cur = parent;
    }
    return `/${parts.join('/')}`;
  }
}

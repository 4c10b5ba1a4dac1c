// Second half of load: make the loaded nodes a consistent tree. Gives inos to
// RFC nodes (no tail), drops duplicate inos, attaches extra names (NAME pages),
// checks every counted thing against what was found (names, data pages, xattr
// pages), and moves nodes whose parent is lost or that are unreachable from the
// root into /lost+found. Everything it changes is reported as a loss.

import { decodeXattrs } from '../format/v2.js';
import { DecodeError } from '../format/reader.js';
import type { Loss, NodeImage } from './image.js';
import type { LoadState, NodeBuild } from './load.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import { LOST_FOUND, strayLoss, strayName, uniqueName } from './lostfound.js';

const isDir = (n: NodeImage) => (n.mode & S_IFMT) === S_IFDIR;

/** Nodes of a consistent tree, root (ino 1) first; paths filled in on each build. */
export function buildTree(st: LoadState, salvage: boolean): NodeImage[] {
  const lose = (l: Loss) => st.losses.push(l);
  const byIno = new Map<number, NodeBuild>();
  let maxIno = 1;
  for (const b of st.builds) if (b.tail) maxIno = Math.max(maxIno, b.tail.ino);
  const kept: NodeBuild[] = [];
  for (const b of st.builds) {
    if (!b.tail) b.node.ino = ++maxIno;              // an RFC file: a fresh ino in the root
    const prev = byIno.get(b.node.ino);
    if (prev) {
      lose({ path: b.path, pfn: b.metaPfn, what: `ino ${b.node.ino} already used by '${prev.path}': this copy is dropped` });
      dropPages(st, b);
      continue;
    }
    byIno.set(b.node.ino, b);
    kept.push(b);
  }
  let root = byIno.get(1);
  if (root && !isDir(root.node)) {
    lose({ path: '/', pfn: root.metaPfn, what: 'ino 1 is not a directory: dropped' });
    dropPages(st, root); byIno.delete(1); kept.splice(kept.indexOf(root), 1); root = undefined;
  }
  if (!root) {
    root = synthetic(1, '/', []);
    byIno.set(1, root); kept.unshift(root);
  } else { kept.splice(kept.indexOf(root), 1); kept.unshift(root); }

  for (const n of st.extraNames) {
    const t = byIno.get(n.target);
    if (!t || t.node.ino === 1) lose({ path: null, pfn: null, what: `extra name '${n.name}' in dir ino ${n.parent} names lost ino ${n.target}` });
    else t.node.names.push({ parent: n.parent, name: n.name });
  }

  for (const b of kept) checkCounts(st, b);
  placeInTree(st, kept, byIno, () => ++maxIno);
  void salvage;
  for (const [loss, b] of st.pathOf) loss.path = b.path;
  reportAbandoned(st, byIno);
  return kept.map((b) => b.node);
}

function checkCounts(st: LoadState, b: NodeBuild): void {
  const t = b.tail;
  // The path is final only after placeInTree: pathOf fills it in.
  const lose = (what: string) => { const l: Loss = { path: b.path, pfn: b.metaPfn, what }; st.losses.push(l); st.pathOf.set(l, b); };
  if (!t) return;
  if (b.dataSeen < t.dataPages) lose(`${t.dataPages - b.dataSeen} of ${t.dataPages} data pages missing (their entries were lost)`);
  if (b.dataSeen > t.dataPages) lose(`${b.dataSeen} data pages found, ${t.dataPages} recorded`);
  const nlinkFound = b.node.ino === 1 ? 0 : b.node.names.length;
  if (nlinkFound < t.nlink) lose(`${t.nlink - nlinkFound} of ${t.nlink} names lost`);
  const xattrParts = b.xattrParts.length - (t.xattrInline ? 1 : 0);
  if (xattrParts < t.xattrPages) { lose(`${t.xattrPages - xattrParts} xattr pages missing: extended attributes lost`); return; }
  if (t.xattrBytes === 0) return;
  const blob = Buffer.concat(b.xattrParts);
  if (blob.length !== t.xattrBytes) { lose(`xattr bytes ${blob.length} found, ${t.xattrBytes} recorded: extended attributes lost`); return; }
  const xs = decodeXattrs(blob);
  if (xs instanceof DecodeError) lose(`extended attributes lost: ${xs.message}`);
  else b.node.xattrs = xs;
}

/**
 * Keep every name whose parent is a reachable directory and free in that
 * directory; directories keep one name only. Nodes left without a name go
 * to /lost+found as '#<ino>'. Bounded: each node is visited once per name.
 */
function placeInTree(st: LoadState, kept: NodeBuild[], byIno: Map<number, NodeBuild>, nextIno: () => number): void {
  // Per directory ino: the builds naming it and which of their names does (parallel arrays: few objects).
  const children = new Map<number, { bs: NodeBuild[]; pos: number[] }>();
  for (const b of kept) {
    const names = b.node.names;
    for (let pos = 0; pos < names.length; pos++) {
      const parent = names[pos]!.parent;
      let list = children.get(parent);
      if (!list) children.set(parent, (list = { bs: [], pos: [] }));
      list.bs.push(b); list.pos.push(pos);
    }
  }
  // Names kept: counted on the build; listed only for builds with several names (hard links).
  const placed = new Map<NodeBuild, { parent: number; name: string; pos: number }[]>();
  const taken = new Map<number, Set<string>>();
  const queue: NodeBuild[] = [byIno.get(1)!];
  byIno.get(1)!.path = '/';
  const seenDir = new Set<number>([1]);
  for (let q = 0; q < queue.length; q++) {
    const dir = queue[q]!;
    const names = new Set<string>();
    taken.set(dir.node.ino, names);
    const list = children.get(dir.node.ino);
    if (!list) continue;
    for (let k = 0; k < list.bs.length; k++) {
      const b = list.bs[k]!, pos = list.pos[k]!;
      const name = b.node.names[pos]!.name;
      if (names.has(name)) { st.losses.push({ path: join(dir.path, name), pfn: b.metaPfn, what: `duplicate name in ${dir.path}: ino ${b.node.ino}'s name dropped` }); continue; }
      if (isDir(b.node) && seenDir.has(b.node.ino)) continue;   // a second name of a directory, or a cycle
      names.add(name);
      if (b.placed === 0) b.path = join(dir.path, name);
      b.placed++;
      if (b.node.names.length > 1) {
        const kept = placed.get(b) ?? [];
        kept.push({ parent: dir.node.ino, name, pos });
        placed.set(b, kept);
      }
      if (isDir(b.node)) { seenDir.add(b.node.ino); queue.push(b); }
    }
  }
  let lostFound: NodeBuild | null = null;
  for (const b of [...kept]) {
    if (b.node.ino === 1) continue;
    if (b.placed === 1 && b.node.names.length === 1) continue;   // the common case: its one name stands
    const list = placed.get(b);
    const dropped = b.node.names.length - (list?.length ?? 0);
    if (list && list.length) {
      if (dropped > 0 && !isDir(b.node)) st.losses.push({ path: b.path, pfn: b.metaPfn, what: `${dropped} name(s) whose directory was lost or taken` });
      b.node.names = list.sort((x, y) => x.pos - y.pos).map(({ parent, name }) => ({ parent, name }));
      continue;
    }
    if (!lostFound) {
      lostFound = synthetic(nextIno(), `/${LOST_FOUND}`, [{ parent: 1, name: uniqueName(taken.get(1)!, LOST_FOUND) }]);
      lostFound.path = join('/', lostFound.node.names[0]!.name);
      kept.push(lostFound);
      taken.set(lostFound.node.ino, new Set());
    }
    const name = strayName(b.node.ino);
    const was = b.node.names.map((n) => `${n.name} in dir ino ${n.parent}`).join(', ') || 'no name';
    b.node.names = [{ parent: lostFound.node.ino, name }];
    b.path = join(lostFound.path, name);
    st.losses.push({ path: b.path, pfn: b.metaPfn, what: strayLoss(was, b.path) });
  }
}

/** RFC mode: every node after the stop is lost; name each by its path (its parent may be loaded, or lost too). */
function reportAbandoned(st: LoadState, byIno: Map<number, NodeBuild>): void {
  if (st.abandoned.length === 0) return;
  const at = `the load stopped at pfn:${st.stopPfn.toString(16)} (RFC mode: the rest of the chain is not read)`;
  for (const a of st.abandoned) {
    const dir = byIno.get(a.parent);
    const path = a.name === null ? null : dir ? join(dir.path, a.name) : a.parent === 1 ? join('/', a.name) : `${a.name} (in lost dir ino ${a.parent})`;
    st.losses.push({ path, pfn: a.metaPfn, what: `${a.name === null ? 'an unreadable node' : 'file'} lost with its ${a.dataPages} data page(s): ${at}` });
  }
}

function join(dir: string, name: string): string { return dir === '/' ? `/${name}` : `${dir}/${name}`; }

function synthetic(ino: number, path: string, names: NodeImage['names']): NodeBuild {
  return {
    node: { ino, mode: S_IFDIR | 0o755, uid: 0, gid: 0, rdev: 0, size: 0, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n,
      names, xattrs: [], pages: { get: () => 0, set: () => {}, delete: () => {}, count: 0, entries: function* () {} } },
    tail: null, metaPfn: 0, dataSeen: 0, nextIndex: 0, placed: 0, xattrParts: [], path,
  };
}

function dropPages(st: LoadState, b: NodeBuild): void {
  for (const [, pfn] of b.node.pages.entries()) st.chainPages.push(pfn);
}

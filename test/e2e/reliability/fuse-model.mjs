// The model of fuse-sigkill.test.mjs (no side effects at import): a tree as a
// Map path -> node, a seeded generator of op lists valid for it, and what each
// durable call must leave in the arena. It shares nothing with pram's code.
//
// What reaches the server when (writeback cache): every namespace, mode and
// xattr call, a truncate, and a write on an fd that is then closed, before the
// call returns; a write on a file kept open ("held") sits in the kernel's page
// cache until close or fsync/fdatasync of that file — or the kernel's own
// writeback at any moment (sync/syncfs start it but do not wait for it). A durable call checkpoints what the
// server has once that flushing is done. So after a crash, a held file's page
// may hold any version written since it was last flushed: held writes are
// whole pages inside the file (its size never changes while held), each page
// version distinct, and the check accepts any of them for such a page.
//
// Hard links: two paths naming one node object (cloneTree keeps the sharing);
// the check wants them one inode, with nlink the number of its names (a
// directory: 2 + its subdirectories). Times: utime sets a file's or a
// directory's mtime to exact nanoseconds (a SETATTR that reaches the server
// before it returns), and the check wants exactly that until something else
// changes it — a write, truncate or creation of the file, a name made or
// removed in the directory — after which the model does not know it (the
// server's clock, or the kernel's own with the writeback cache: `mtime: null`).
// After a crash, the tree read back is the next run's start with every mtime
// known. atime and ctime are not checked through FUSE: the server stamps atime
// on reads (the dump reads everything) and a read is no change a checkpoint
// must save; ctime is the server's or the kernel's clock at moments the writer
// cannot see (the kernel sends cached times with its writeback).
import { Prng } from '../../../dist/machine/prng.js';

export const PS = 4096;
export const HELD = ['/h0', '/h1'];
export const HELD_PAGES = 4;
const FILES = ['f0', 'f1', 'f2', 'f3', 'f4', 'f5'], DIRS = ['d0', 'd1', 'd2'], LINKS = ['l0', 'l1'];
export const DURABLE = ['fsync', 'fdatasync', 'hfsync', 'hfdatasync', 'dirfsync', 'sync', 'syncfs'];
/** Ops that change what a checkpoint saves (for "was something lost"). */
export const MUTATING = ['create', 'write', 'truncate', 'rename', 'unlink', 'mkdir', 'rmdir', 'symlink', 'link', 'chmod', 'utime', 'setxattr', 'removexattr', 'hwrite'];

const parentOf = (p) => p.slice(0, p.lastIndexOf('/')) || '/';
const join = (d, n) => (d === '/' ? '' : d) + '/' + n;

/** A deep copy of a tree (Map path -> node; files' data Buffers copied; two paths of one node stay one node). */
export function cloneTree(t) {
  const c = new Map(), copies = new Map();
  for (const [p, n] of t) {
    if (!copies.has(n)) copies.set(n, { ...n, data: n.data && Buffer.from(n.data), xattrs: n.xattrs && new Map(n.xattrs), pages: n.pages?.map((v) => [...v]) });
    c.set(p, copies.get(n));
  }
  return c;
}

/** A name made or removed in p's directory: its mtime is the clock's. */
const entryChanged = (t, p) => { t.get(parentOf(p)).mtime = null; };

/**
 * Held files carry `pages`: per page the versions the server may have, the
 * first being the last one known to have reached it. flush() makes the newest
 * the only one (close, fsync of the file, sync, syncfs).
 */
function flush(node) {
  if (!node.pages) return;
  node.pages = node.pages.map((v) => [v[v.length - 1]]);
}

/** Apply op to tree t (the client's view; held pages record every version). */
export function apply(t, op) {
  // An empty create carries '' (no bytes): still a buffer, never null.
  const data = typeof op.data === 'string' ? Buffer.from(op.data, 'base64') : null;
  switch (op.op) {
    case 'create': t.set(op.path, { type: 'f', mode: op.mode, data, xattrs: new Map(), mtime: null }); entryChanged(t, op.path); break;
    case 'write': {
      const n = t.get(op.path);
      const b = Buffer.alloc(Math.max(n.data.length, op.off + data.length));
      n.data.copy(b); data.copy(b, op.off);
      n.data = b;
      n.mtime = null;
      break;
    }
    case 'truncate': {
      const n = t.get(op.path);
      const b = Buffer.alloc(op.len);
      n.data.copy(b, 0, 0, Math.min(op.len, n.data.length));
      n.data = b;
      n.mtime = null;
      break;
    }
    case 'rename': {
      const moved = [...t.keys()].filter((p) => p === op.path || p.startsWith(op.path + '/'));
      const nodes = moved.map((p) => [op.to + p.slice(op.path.length), t.get(p)]);
      for (const p of moved) t.delete(p);
      for (const [p, n] of nodes) t.set(p, n);
      entryChanged(t, op.path); entryChanged(t, op.to);
      break;
    }
    case 'unlink': case 'rmdir': t.delete(op.path); entryChanged(t, op.path); break;
    case 'mkdir': t.set(op.path, { type: 'd', mode: op.mode, xattrs: new Map(), mtime: null }); entryChanged(t, op.path); break;
    case 'symlink': t.set(op.path, { type: 'l', mode: 0o777, target: op.target, mtime: null }); entryChanged(t, op.path); break;
    case 'link': t.set(op.to, t.get(op.path)); entryChanged(t, op.to); break;
    case 'chmod': t.get(op.path).mode = op.mode; break;
    case 'utime': t.get(op.path).mtime = op.mtime; break;
    case 'setxattr': t.get(op.path).xattrs.set(op.name, op.data); break;
    case 'removexattr': t.get(op.path).xattrs.delete(op.name); break;
    case 'hopen': { const n = t.get(op.path); n.pages = Array.from({ length: n.data.length / PS }, (_, i) => [n.data.subarray(i * PS, (i + 1) * PS).toString('base64')]); break; }
    case 'hwrite': {
      const n = t.get(op.path);
      data.copy(n.data, op.off);
      n.pages[op.off / PS].push(op.data);
      n.mtime = null;
      break;
    }
    case 'hclose': case 'hfsync': case 'hfdatasync': case 'fsync': case 'fdatasync': flush(t.get(op.path)); if (op.op === 'hclose') delete t.get(op.path).pages; break;
    // sync(2)/syncfs(2) start the kernel's writeback of FUSE pages but do not wait for it
    // (Linux gives FUSE no data integrity on sync: wait_sb_inodes skips its mappings, 7.x sets
    // SB_I_NO_DATA_INTEGRITY), so SYNCFS may be served before a held file's WRITE: its pages keep
    // every version since their last fsync/close. What reached the server (all else) is saved.
    case 'sync': case 'syncfs': break;
    default: break;   // dirfsync: flushes no file data; read: moves atime only
  }
  return t;
}

/** Pages of held files that a durable op makes certain (written since their last flush): for the "sync flushed the kernel's cache" count. */
export function dirtyPagesCovered(t, op) {
  const covered = op.op === 'sync' || op.op === 'syncfs' ? [...t.values()] : ['hfsync', 'hfdatasync', 'fsync', 'fdatasync'].includes(op.op) ? [t.get(op.path)] : [];
  return covered.reduce((sum, n) => sum + (n.pages ? n.pages.filter((v) => v.length > 1).length : 0), 0);
}

/** A seeded op list for tree t (applied to t as drawn, so every op is valid when it runs in order). */
export function genOps(seed, t, count) {
  const r = new Prng(seed);
  const ops = [];
  const pick = (a) => a[r.below(a.length)];
  const bytes = (n) => Buffer.from(r.bytes(n)).toString('base64');
  const push = (op) => { ops.push(op); apply(t, op); };
  const paths = (pred) => [...t.keys()].filter((p) => p !== '/' && pred(t.get(p), p)).sort();   // '/' only where named
  const free = (names) => {
    const dirs = ['/', ...paths((n) => n.type === 'd')];
    for (let tries = 0; tries < 8; tries++) { const p = join(pick(dirs), pick(names)); if (!t.has(p)) return p; }
    return null;
  };
  for (const h of HELD) push({ op: 'hopen', path: h });
  while (ops.length < count) {
    const files = paths((n, p) => n.type === 'f' && !HELD.includes(p));
    const k = r.below(100);
    if (k < 12) { const p = free(FILES); if (p) push({ op: 'create', path: p, mode: pick([0o644, 0o600, 0o755]), data: bytes(r.chance(0.2) ? r.range(PS, 3 * PS) : r.below(300)) }); }
    else if (k < 24 && files.length) { const p = pick(files); const off = r.below(t.get(p).data.length + 100); push({ op: 'write', path: p, off, data: bytes(r.range(1, r.chance(0.3) ? 2 * PS : 200)) }); }
    else if (k < 28 && files.length) push({ op: 'truncate', path: pick(files), len: r.below(2 * PS) });
    else if (k < 36) {
      const movable = paths((n, p) => !HELD.includes(p));
      if (!movable.length) continue;
      const src = pick(movable), n = t.get(src);
      const to = free(n.type === 'd' ? DIRS : n.type === 'l' ? LINKS : FILES);
      if (to && !(to + '/').startsWith(src + '/')) push({ op: 'rename', path: src, to });
    }
    else if (k < 42) { const victims = paths((n, p) => n.type !== 'd' && !HELD.includes(p)); if (victims.length) push({ op: 'unlink', path: pick(victims) }); }
    else if (k < 46) { const p = free(DIRS); if (p && p.split('/').length <= 4) push({ op: 'mkdir', path: p, mode: pick([0o755, 0o700, 0o750]) }); }
    else if (k < 50) { const empty = paths((n, p) => n.type === 'd' && ![...t.keys()].some((q) => parentOf(q) === p)); if (empty.length) push({ op: 'rmdir', path: pick(empty) }); }
    else if (k < 54) { const p = free(LINKS); if (p) push({ op: 'symlink', path: p, target: pick(['f0', '../d0/f1', '/nowhere', 'h0']) + r.below(10) }); }
    else if (k < 59) { const p = pick(paths((n) => n.type !== 'l')); push({ op: 'chmod', path: p, mode: (t.get(p).type === 'd' ? 0o700 : 0) | r.below(0o1000) }); }
    else if (k < 64) { const p = pick(paths((n) => n.type !== 'l')); push({ op: 'setxattr', path: p, name: `user.k${r.below(3)}`, data: bytes(r.range(1, 40)) }); }
    else if (k < 66) { const withX = paths((n) => n.type !== 'l' && n.xattrs.size > 0); if (withX.length) { const p = pick(withX); push({ op: 'removexattr', path: p, name: pick([...t.get(p).xattrs.keys()].sort()) }); } }
    else if (k < 70) {
      // Not a held file: its cached writes may reach the server after the utime, and the WRITE stamps the clock.
      const ns = () => String(BigInt(r.below(2 ** 31)) * 1_000_000_000n + BigInt(r.below(1e9)));
      push({ op: 'utime', path: pick(['/', ...paths((n) => n.type === 'd'), ...files]), atime: ns(), mtime: ns() });
    }
    else if (k < 73) { const p = free(FILES); if (p && files.length) push({ op: 'link', path: pick(files), to: p }); }
    else if (k < 76 && files.length) push({ op: 'read', path: pick(files) });   // atime only (not checked: see above); the next checkpoint's ATIMES
    else if (k < 84) { const h = pick(HELD); const page = r.below(HELD_PAGES); push({ op: 'hwrite', path: h, off: page * PS, data: bytes(PS) }); }
    else {
      const kind = pick(DURABLE);
      if (kind === 'fsync' || kind === 'fdatasync') push({ op: kind, path: pick([...files, ...HELD]) ?? HELD[0] });
      else if (kind === 'hfsync' || kind === 'hfdatasync') push({ op: kind, path: pick(HELD) });
      else if (kind === 'dirfsync') push({ op: kind, path: pick(['/', ...paths((n) => n.type === 'd')]) });
      else push({ op: kind });
    }
  }
  for (const h of HELD) push({ op: 'hclose', path: h });
  return ops;
}

/** nlink the model gives path p's node: its names, or for a directory 2 + its subdirectories. */
function nlinkOf(want, p, w) {
  if (w.type === 'd') return 2 + [...want].filter(([q, n]) => q !== '/' && parentOf(q) === p && n.type === 'd').length;
  return [...want.values()].filter((n) => n === w).length;
}

/** '' when node g (dumped) is one that w allows, else the difference. */
function nodeDiff(g, w) {
  if (g.type !== w.type) return `is a ${g.type}, expected ${w.type}`;
  if (g.mode !== w.mode) return `mode ${g.mode.toString(8)}, expected ${w.mode.toString(8)}`;
  if (w.mtime != null && g.mtime !== w.mtime) return `mtime ${g.mtime}, expected ${w.mtime} (utime)`;
  if (w.type === 'l') return g.target === w.target ? '' : `-> ${g.target}, expected ${w.target}`;
  const gx = Object.entries(g.xattrs).sort(), wx = [...w.xattrs].sort();
  if (JSON.stringify(gx) !== JSON.stringify(wx)) return `xattrs ${JSON.stringify(gx)}, expected ${JSON.stringify(wx)}`;
  if (w.type !== 'f') return '';
  const gd = Buffer.from(g.data, 'base64');
  if (gd.length !== w.data.length) return `has ${gd.length} bytes, expected ${w.data.length}`;
  for (let i = 0; i < gd.length; i += PS) {
    const page = gd.subarray(i, i + PS);
    const ok = w.pages ? w.pages[i / PS].some((v) => page.equals(Buffer.from(v, 'base64'))) : page.equals(w.data.subarray(i, i + PS));
    if (!ok) return `page ${i / PS} is none of the ${w.pages ? w.pages[i / PS].length + ' allowed versions' : 'expected bytes'}`;
  }
  return '';
}

/** '' when the dumped tree `got` is one the model state `want` allows, else the first difference. */
export function diffTree(got, want) {
  const inoOf = new Map(), nodeOf = new Map();
  for (const [p, w] of want) {
    const g = got[p];
    if (!g) return `${p} missing`;
    const d = nodeDiff(g, w);
    if (d) return `${p} ${d}`;
    const nlink = nlinkOf(want, p, w);
    if (g.nlink !== nlink) return `${p} nlink ${g.nlink}, expected ${nlink}`;
    // Hard links: one model node is one inode; two nodes are two inodes.
    if (inoOf.has(w) && inoOf.get(w) !== g.ino) return `${p} is inode ${g.ino}, not its other name's ${inoOf.get(w)}`;
    if (nodeOf.has(g.ino) && nodeOf.get(g.ino) !== w) return `${p} shares inode ${g.ino} with a path it should not`;
    inoOf.set(w, g.ino); nodeOf.set(g.ino, w);
  }
  for (const p of Object.keys(got)) if (!want.has(p)) return `${p} should not exist`;
  return '';
}

/** The dumped tree as a model tree (after a crash: what the next run starts from); mtimes known unless `times` is false. */
export function treeOf(got, times = true) {
  const t = new Map(), byIno = new Map();
  for (const [p, g] of Object.entries(got)) {
    if (!byIno.has(g.ino)) {
      const mtime = times ? g.mtime : null;
      byIno.set(g.ino, g.type === 'l' ? { type: 'l', mode: g.mode, target: g.target, mtime }
        : { type: g.type, mode: g.mode, mtime, xattrs: new Map(Object.entries(g.xattrs)), ...(g.type === 'f' ? { data: Buffer.from(g.data, 'base64') } : {}) });
    }
    t.set(p, byIno.get(g.ino));
  }
  return t;
}

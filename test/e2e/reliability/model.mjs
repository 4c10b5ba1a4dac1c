// The owner-crash tests' shared model (no side effects at import: node --test
// loads every file here). It shares nothing with pram's code: a tree of paths
// naming nodes (two paths, one node: a hard link), each node with its type,
// mode, bytes or symlink target, xattrs and three times; a seeded op list over
// it; the state it leaves before each sync (what that sync commits). Used by
// sigkill.test.mjs (parent) and writer.mjs (child); reading a mounted tree
// back and comparing is in model-tree.mjs.
//
// `idle` waits (the library's background work runs: a due compaction in slices).
//
// Times. utimes sets atime and mtime to the exact nanoseconds it is given.
// Every other change takes the clock: the model knows only the interval of the
// op that made it (`{ lo, hi }`, Date.now() ms the writer reported before the
// op and before the next one), and pram's clock (wall time at mount plus a
// monotonic offset) must fall inside it, give or take SLACK_MS. What changes
// which time (POSIX, as Linux does it): a write or truncate sets the file's
// mtime and ctime; chmod, utimes, setxattr, removexattr, link, rename of the
// node and unlink of one of its names set its ctime; making or removing a name
// in a directory sets the directory's mtime and ctime; a new node gets the
// clock in all three. A read (read, readall) moves atime by relatime: to the
// clock when atime <= mtime, atime <= ctime or the clock is more than 24 h
// past atime. The model often cannot tell which side of such a comparison two
// clocked times fall (pram's clock may stamp two ops alike), so an atime may be
// a set of alternatives (`{ any: [...] }`): each read keeps the old one, takes
// the new one, or both when undecided. A sync commits atime-only changes (as
// ATIMES or ATIMES_PAGES records), so they are as durable as any other.
import { Prng } from '../../../dist/machine/prng.js';

export const PS = 4096;
/** Fixed directories, never removed or renamed: the template makes them. */
export const DIRS = ['/d', '/d/e'];
/** Directories made, renamed (over an empty one too) and removed by the ops; never nested. */
const KDIRS = ['/k0', '/k1', '/d/k2'];
/** Names for regular files, symlinks and hard links; a made directory adds x0 and x1 inside it. */
const NAMES = ['/f0', '/f1', '/f2', '/f3', '/f4', '/f5', '/d/g0', '/d/g1', '/d/g2', '/d/e/h0', '/d/e/h1'];
const XATTRS = ['user.a', 'user.b', 'user.c'];
/**
 * A directory of many 1-byte files (op `many`, some runs): read all at once (`readall`), their atimes are more
 * than a page of ATIMES entries, which a commit writes as an ATIMES_PAGES record (v3 minor 6). Only readall and
 * ageall touch them: the other ops pick among the few names above.
 */
export const MANY = '/m';
const manyName = (op, k) => `${op.dir}/n${String(k).padStart(3, '0')}`;

export const parentOf = (p) => (p === '/' ? '/' : p.slice(0, p.lastIndexOf('/')) || '/');
const under = (p, dir) => p === dir || p.startsWith(dir + '/');

/** The bytes one write op puts down (both processes derive them from the op). */
export function dataOf(op) { return new Prng(op.dseed).bytes(op.len); }
/** An xattr value of a setxattr op. */
export function valueOf(op) { return new Prng(op.vseed).bytes(op.vlen); }

/** A model: { paths: Map path -> node id, nodes: Map id -> node, next }. */
export function cloneModel(m) {
  const nodes = new Map();
  for (const [id, n] of m.nodes) nodes.set(id, { ...n, data: n.data && Buffer.from(n.data), xattrs: new Map(n.xattrs) });
  return { paths: new Map(m.paths), nodes, next: m.next };
}

function newNode(m, node, at) {
  const id = m.next++;
  m.nodes.set(id, { xattrs: new Map(), atime: at, mtime: at, ctime: at, ...node });
  return id;
}

const nodeAt = (m, p) => m.nodes.get(m.paths.get(p));

const DAY_NS = 86_400n * 1_000_000_000n;
/** A clocked stamp lies in [lo - EDGE_MS, hi + EDGE_MS] of its op's interval (pram's clock is never before the wall clock's ms). */
const EDGE_MS = 2n, MS = 1_000_000n;
const boundsOf = (t) => (t.ns !== undefined ? [BigInt(t.ns), BigInt(t.ns)] : [(BigInt(t.lo) - EDGE_MS) * MS, (BigInt(t.hi) + EDGE_MS) * MS]);

/** a <= b: true, false, or null when the model cannot tell (a time never stamped is null: undecided). */
function atMost(a, b) {
  if (a === null || b === null) return null;
  // Two stamps of one owner: its clock never goes back, so an earlier op's is at most a later one's (one
  // op's several stamps: creation takes atime first). A later op's is greater only if a wall ms lies between.
  if (a.i !== undefined && b.i !== undefined) return a.i <= b.i ? true : BigInt(a.lo) > BigInt(b.hi) + EDGE_MS ? false : null;
  const [aLo, aHi] = boundsOf(a), [bLo, bHi] = boundsOf(b);
  return aHi <= bLo ? true : aLo > bHi ? false : null;
}

/** The clock at `now` more than 24 h past atime a (the edge is a second wide: the code compares with a clock read up to 1 s before). */
function dayOld(a, now) {
  if (a === null || now === null) return null;
  if (a.i !== undefined) return false;   // stamped in this run
  const [aLo, aHi] = boundsOf(a), [nLo, nHi] = boundsOf(now), second = 1000n * MS;
  return nLo - aHi > DAY_NS + second ? true : nHi - aLo <= DAY_NS - second ? false : null;
}

const or3 = (...v) => (v.includes(true) ? true : v.includes(null) ? null : false);
const alternatives = (t) => (t && t.any ? t.any : [t]);

/** A read of node n at `at` (relatime: fs/table.ts accessed, modelled from its rule). */
function read(n, at) {
  const out = [];
  const add = (t) => { if (!out.some((x) => JSON.stringify(x) === JSON.stringify(t))) out.push(t); };
  for (const a of alternatives(n.atime)) {
    const moves = or3(atMost(a, n.mtime), atMost(a, n.ctime), dayOld(a, at));
    if (moves !== false) add(at);
    if (moves !== true) add(a);
  }
  n.atime = out.length === 1 ? out[0] : { any: out };
}

function changed(m, p, at, data = false) { const n = nodeAt(m, p); n.ctime = at; if (data) n.mtime = at; }
/** A name made or removed in p's directory. */
const entryChanged = (m, p, at) => changed(m, parentOf(p), at, true);

/** Drops nodes no path names any more. */
function collect(m) {
  const named = new Set(m.paths.values());
  for (const id of m.nodes.keys()) if (!named.has(id)) m.nodes.delete(id);
}

function resize(n, len) {
  const b = Buffer.alloc(len);
  n.data.copy(b, 0, 0, Math.min(n.data.length, len));
  n.data = b;
}

function rename(m, op, at) {
  const src = m.paths.get(op.path), dst = m.paths.get(op.to);
  if (dst === src) return;   // two names of one node: POSIX says rename does nothing
  if (dst !== undefined) { m.paths.delete(op.to); m.nodes.get(dst).ctime = at; }
  const moved = [...m.paths].filter(([p]) => under(p, op.path));
  for (const [p] of moved) m.paths.delete(p);
  for (const [p, id] of moved) m.paths.set(op.to + p.slice(op.path.length), id);
  entryChanged(m, op.path, at); entryChanged(m, op.to, at); changed(m, op.to, at);
  collect(m);
}

/** Apply one op to model m; `at` is the op's clock interval (null while generating). */
export function apply(m, op, at = null) {
  switch (op.op) {
    case 'write': {
      if (!m.paths.has(op.path)) { m.paths.set(op.path, newNode(m, { type: 'f', mode: op.mode, data: Buffer.alloc(0) }, at)); entryChanged(m, op.path, at); }
      const n = nodeAt(m, op.path);
      if (op.off + op.len > n.data.length) resize(n, op.off + op.len);
      dataOf(op).copy(n.data, op.off);
      changed(m, op.path, at, true);
      break;
    }
    case 'truncate': resize(nodeAt(m, op.path), op.len); changed(m, op.path, at, true); break;
    case 'rename': rename(m, op, at); break;
    case 'unlink': case 'rmdir': changed(m, op.path, at); m.paths.delete(op.path); entryChanged(m, op.path, at); collect(m); break;
    case 'mkdir': m.paths.set(op.path, newNode(m, { type: 'd', mode: op.mode }, at)); entryChanged(m, op.path, at); break;
    case 'symlink': m.paths.set(op.path, newNode(m, { type: 'l', mode: 0o777, target: op.target }, at)); entryChanged(m, op.path, at); break;
    case 'link': m.paths.set(op.to, m.paths.get(op.path)); entryChanged(m, op.to, at); changed(m, op.path, at); break;
    case 'chmod': nodeAt(m, op.path).mode = op.mode; changed(m, op.path, at); break;
    case 'utimes': { const n = nodeAt(m, op.path); n.atime = { ns: op.atime }; n.mtime = { ns: op.mtime }; n.ctime = at; break; }
    case 'setxattr': nodeAt(m, op.path).xattrs.set(op.name, valueOf(op)); changed(m, op.path, at); break;
    case 'removexattr': nodeAt(m, op.path).xattrs.delete(op.name); changed(m, op.path, at); break;
    case 'read': read(nodeAt(m, op.path), at); break;
    case 'readall': for (const p of op.paths) read(nodeAt(m, p), at); break;
    case 'many': {
      m.paths.set(op.dir, newNode(m, { type: 'd', mode: 0o755 }, at)); entryChanged(m, op.dir, at);
      for (let k = 0; k < op.n; k++) m.paths.set(manyName(op, k), newNode(m, { type: 'f', mode: 0o644, data: Buffer.from([k & 0xff]) }, at));
      break;
    }
    case 'ageall': for (const p of op.paths) { const n = nodeAt(m, p); n.atime = { ns: op.atime }; n.mtime = { ns: op.mtime }; n.ctime = at; } break;
    case 'fsync': case 'sync': case 'idle': break;
    default: throw new Error(`model: unknown op ${op.op}`);
  }
  return m;
}

/** What a generator may pick from model m (sorted: the seed alone decides). */
function views(m) {
  const all = [...m.paths.keys()].sort();
  const of = (type) => all.filter((p) => nodeAt(m, p).type === type);
  const kdirs = KDIRS.filter((k) => m.paths.has(k));
  const names = [...NAMES, ...kdirs.flatMap((k) => [`${k}/x0`, `${k}/x1`])];
  const empty = (d) => !all.some((p) => parentOf(p) === d);
  const every = of('f');
  return { all, every, files: every.filter((p) => !under(p, MANY)), links: of('l'), dirs: of('d'), kdirs, names, free: names.filter((p) => !m.paths.has(p)), empty };
}

/** One random change to m (or null when the draw does not fit the tree). */
function draw(r, m, write) {
  const v = views(m);
  const pick = (a) => (a.length ? a[r.below(a.length)] : null);
  const notDir = [...v.files, ...v.links];
  const k = r.below(100);
  if (k >= 93 && r.chance(0.5)) {   // reads take half of the sync share: one file's range, or every file
    if (r.chance(0.75) && v.files.length) { const p = pick(v.files); return { op: 'read', path: p, pos: r.below(nodeAt(m, p).data.length + 1), len: r.range(1, 3 * PS) }; }
    return { op: 'readall', paths: v.every };
  }
  if (k < 28 || !v.files.length) return write(r.chance(0.7) ? pick(v.files) ?? pick(v.free) : pick(v.free) ?? pick(v.files));
  if (k < 34) { const p = pick(v.files); return { op: 'truncate', path: p, len: r.below(nodeAt(m, p).data.length * 2 + PS) }; }
  if (k < 42) {
    if (r.chance(0.25) && v.kdirs.length) {   // a directory, to a free name or over an empty one
      const p = pick(v.kdirs), to = pick(KDIRS.filter((d) => d !== p && (!m.paths.has(d) || v.empty(d))));
      return to && { op: 'rename', path: p, to };
    }
    const p = pick(notDir);   // onto any name but a directory: a free one, a file, a symlink, another name of itself
    return { op: 'rename', path: p, to: pick(v.names.filter((x) => x !== p && !v.dirs.includes(x))) };
  }
  if (k < 47) return { op: 'unlink', path: pick(notDir) };
  if (k < 51) { const p = pick(KDIRS.filter((d) => !m.paths.has(d))); return p && { op: 'mkdir', path: p, mode: r.below(0o10000) }; }
  if (k < 54) { const p = pick(v.kdirs.filter(v.empty)); return p && { op: 'rmdir', path: p }; }
  if (k < 59) { const p = pick(v.free); return p && { op: 'symlink', path: p, target: pick(['f0', '../d/g1', '/nowhere', 'e/h0', 'x'.repeat(300)]) + r.below(100) }; }
  if (k < 64) { const to = pick(v.free); return to && { op: 'link', path: pick(v.files), to }; }
  const meta = [...v.files, ...v.dirs];
  if (k < 70) return { op: 'chmod', path: pick(meta), mode: r.below(0o10000) };
  if (k < 76) {
    const ns = () => String(BigInt(r.below(2 ** 31)) * 1_000_000_000n + BigInt(r.below(1e9)));
    return { op: 'utimes', path: pick(meta), atime: ns(), mtime: ns() };
  }
  if (k < 82) return { op: 'setxattr', path: pick(meta), name: pick(XATTRS), vseed: r.next(), vlen: r.chance(0.15) ? r.range(PS, PS + 500) : r.range(1, 60) };
  if (k < 85) { const p = pick(meta.filter((x) => nodeAt(m, x).xattrs.size)); return p && { op: 'removexattr', path: p, name: pick([...nodeAt(m, p).xattrs.keys()].sort()) }; }
  if (k < 93) return { op: 'fsync', path: pick(v.files) };
  return { op: 'sync' };
}

/** The share of first owners that make the many files (each costs the run ~300 creates and reads). */
const MANY_SHARE = Number(process.env['PRAM_SIGKILL_MANY'] ?? 0.2);

/**
 * A seeded op list: a prefix that writes a few files and syncs (so every run
 * has synced content to lose), then a random mix. Ops are valid for the model
 * they were drawn against, so the child never sees an expected error.
 */
export function genOps(seed, start) {
  const r = new Prng(seed);
  const m = cloneModel(start);
  const ops = [];
  const push = (op) => { ops.push(op); apply(m, op); };
  const write = (path) => {
    if (!path) return null;
    const n = nodeAt(m, path);
    const size = n?.data.length ?? 0;
    const off = r.chance(0.2) ? r.below(3 * PS) + size : r.below(size + 1);
    const len = r.chance(0.15) ? r.range(PS, 16 * PS) : r.range(1, 2 * PS + 100);
    return { op: 'write', path, off, len, dseed: r.next(), ...(n ? {} : { mode: r.below(0o10000) }) };
  };
  for (let i = r.range(2, 6); i > 0; i--) {
    const { free, files } = views(m);
    const op = write(r.chance(0.5) && free.length ? free[r.below(free.length)] : files[0] ?? free[0]);
    if (op) push(op);
  }
  // Some runs make the many files (then readall gives the next commit an ATIMES_PAGES record); a second owner
  // that has them sometimes ages them (utimes: their next read moves every atime again).
  const many = m.paths.has(MANY) ? views(m).every.filter((p) => under(p, MANY)) : [];
  const aged = many.length > 0 && r.chance(0.8);
  if (!many.length && r.chance(MANY_SHARE)) push({ op: 'many', dir: MANY, n: r.range(280, 340) });
  else if (aged) push({ op: 'ageall', paths: many, atime: String(BigInt(r.range(1e9, 1.5e9)) * 1_000_000_000n), mtime: String(BigInt(r.range(1e9, 1.5e9)) * 1_000_000_000n) });
  push({ op: 'sync' });
  if (m.paths.has(MANY) && (aged || r.chance(0.8))) {   // read them all, a few ops, a sync: the commit with the ATIMES_PAGES record
    push({ op: 'readall', paths: views(m).every });
    for (let i = r.below(4); i > 0;) { const op = draw(r, m, write); if (op && !op.op.endsWith('sync')) { push(op); i--; } }   // its commit is msyncs 3-4
    push({ op: 'sync' });
    // Idle, the library's background driver writes a due compaction in slices (a second owner's log, its
    // tail grown by ageall, is due); the next sync publishes it, freeing the ATIMES_PAGES records' pages.
    if (aged || r.chance(0.7)) { push({ op: 'idle', ms: r.range(60, 150) }); push(write(views(m).files[0] ?? '/f0')); push({ op: 'sync' }); }
  }
  const n = r.range(5, 60);
  while (ops.length < n + 8) { const op = draw(r, m, write); if (op) push(op); }
  return ops;
}

/** Model states before every sync op (what that sync commits), keyed by op index; times[i] is op i's clock interval. */
export function syncStates(ops, start, times) {
  const m = cloneModel(start);
  const states = new Map();
  ops.forEach((op, i) => {
    if (op.op === 'sync' || op.op === 'fsync') states.set(i, cloneModel(m));
    apply(m, op, times[i] ?? null);
  });
  return states;
}

/** The op list a writer child gets from its parent: one JSON line on stdin. */
export function readOps() {
  return new Promise((resolve) => {
    let s = '';
    process.stdin.setEncoding('utf8');
    process.stdin.on('data', (d) => {
      s += d;
      const nl = s.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(s.slice(0, nl)));
    });
  });
}

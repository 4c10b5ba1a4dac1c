// The full-arena suite's model (no side effects at import): one worker's
// seeded ops on its own subtree, an independent model of what each call that
// returned success leaves, and an upper bound of the pages each op may need
// (for "ENOSPC only from a call that did not fit"). The same ops run through
// the library (PramFs, fs/promises-like) and through a mount (node:fs).
import { createHash } from 'node:crypto';
import { Prng } from '../../../dist/machine/prng.js';

export const PS = 4096;
const LINK_ENTRIES = 169;
/** Xattr values big enough that some need pages of their own in the chain. */
const XATTR_BYTES_MAX = 6000;

/** A worker's model: names under its root, inodes by id (hard links share one). */
export function newModel(root) {
  return { root, names: new Map([[root, { kind: 'dir' }]]), inodes: new Map(), nextId: 1 };
}

function files(m) { return [...m.names].filter(([, n]) => n.kind === 'file').map(([p]) => p); }
function dirs(m) { return [...m.names].filter(([, n]) => n.kind === 'dir').map(([p]) => p); }

/** A random op valid for the model (names fresh or existing as the op needs). */
export function genOp(r, m, seq) {
  const have = files(m);
  const fresh = () => `${dirs(m)[r.below(dirs(m).length)]}/n${seq}`;
  const pick = () => have[r.below(have.length)];
  const len = () => (r.chance(0.2) ? r.range(16 * PS, 64 * PS) : r.range(0, 4 * PS));
  const k = r.below(100);
  if (have.length === 0 || k < 22) return { op: 'create', path: fresh(), len: len(), dseed: r.next() };
  if (k < 45) { const p = pick(); const size = m.inodes.get(m.names.get(p).id).data.length; return { op: 'write', path: p, off: r.below(size + PS), len: r.range(1, r.chance(0.2) ? 48 * PS : 3 * PS), dseed: r.next() }; }
  if (k < 55) { const p = pick(); const size = m.inodes.get(m.names.get(p).id).data.length; return { op: 'truncate', path: p, len: r.chance(0.5) ? r.below(size + 1) : size + r.range(1, 32 * PS) }; }
  if (k < 63) { const p = pick(); return { op: 'rename', path: p, to: r.chance(0.5) && have.length > 1 ? pick() : fresh() }; }
  if (k < 71) return { op: 'link', path: pick(), to: fresh() };
  if (k < 78) return { op: 'unlink', path: pick() };
  if (k < 88) return { op: 'setxattr', path: pick(), name: `user.x${r.below(3)}`, len: r.range(1, XATTR_BYTES_MAX), dseed: r.next() };
  if (k < 93) return { op: 'symlink', path: fresh(), target: `t${seq}`.repeat(r.range(1, 40)) };
  return { op: 'mkdir', path: fresh() };
}

export function dataOf(op) { return new Prng(op.dseed).bytes(op.len); }

/** What `done` bytes of the op's call left (a short write stores a prefix): apply to the model. */
export function apply(m, op, done = op.len) {
  const node = (p) => m.inodes.get(m.names.get(p).id);
  switch (op.op) {
    case 'create': {
      const id = m.nextId++;
      m.inodes.set(id, { data: dataOf(op).subarray(0, done), xattrs: new Map() });
      m.names.set(op.path, { kind: 'file', id });
      break;
    }
    case 'write': {
      const n = node(op.path), data = dataOf(op).subarray(0, done);
      const b = Buffer.alloc(Math.max(n.data.length, op.off + data.length));
      n.data.copy(b); data.copy(b, op.off);
      n.data = b;
      break;
    }
    case 'truncate': {
      const n = node(op.path), b = Buffer.alloc(op.len);
      n.data.copy(b, 0, 0, Math.min(op.len, n.data.length));
      n.data = b;
      break;
    }
    case 'rename': {
      // POSIX: a rename between two names of one inode does nothing.
      if (op.to === op.path || m.names.get(op.to)?.id === m.names.get(op.path).id) break;
      m.names.set(op.to, m.names.get(op.path));
      m.names.delete(op.path);
      break;
    }
    case 'link': m.names.set(op.to, { ...m.names.get(op.path) }); break;
    case 'unlink': m.names.delete(op.path); break;
    case 'setxattr': node(op.path).xattrs.set(op.name, dataOf(op)); break;
    case 'symlink': m.names.set(op.path, { kind: 'symlink', target: op.target }); break;
    case 'mkdir': m.names.set(op.path, { kind: 'dir' }); break;
  }
  for (const id of [...m.inodes.keys()]) if (![...m.names.values()].some((n) => n.id === id)) m.inodes.delete(id);
}

/**
 * Pages the op may need at most, the way the ledger counts them: every page it
 * touches may be new or a copy of a checkpointed page, and each record page
 * (META/NODE, NAME, xattr) and link page is kept twice (the next checkpoint
 * and the one after it).
 */
export function needPages(m, op) {
  const links = (entries) => Math.ceil(entries / LINK_ENTRIES) + 1;
  const pages = (off, len) => (len === 0 ? 0 : Math.floor((off + len - 1) / PS) - Math.floor(off / PS) + 1);
  switch (op.op) {
    case 'create': { const d = pages(0, op.len); return d + 2 * (1 + links(1 + d)); }
    case 'write': { const d = pages(op.off, op.len); return d + 2 * links(d); }
    case 'truncate': return 1;                                    // a copy of the new last page
    case 'link': case 'mkdir': return 2 * (1 + links(1));
    case 'symlink': return 1 + 2 * (1 + links(2));
    case 'setxattr': { const n = m.inodes.get(m.names.get(op.path).id); let bytes = op.len + op.name.length + 8; for (const [k, v] of n.xattrs) bytes += k.length + v.length + 8; return 2 * (Math.ceil(bytes / (PS - 16)) + 1 + links(8)); }
    default: return 0;                                            // rename, unlink: nothing grows
  }
}

/** Run one op through an fs/promises-like api on `base` + path; { done } or { code } of the first call that failed. */
export async function runOp(fsp, base, op, xattr) {
  const at = (p) => base + p;
  try {
    switch (op.op) {
      case 'create': case 'write': {
        const fh = await fsp.open(at(op.path), op.op === 'create' ? 'wx' : 'r+');
        let done = 0, err = null;
        try {
          if (op.len > 0) done = (await fh.write(dataOf(op), 0, op.len, op.op === 'create' ? 0 : op.off)).bytesWritten;
        } catch (e) { err = e; }
        try { await fh.close(); } catch (e) { return { code: e.code, done, at: 'close' }; }
        // The library stores what fits and says how much on the error (write(2) returns the short count instead).
        if (err) return { code: err.code, done: err.bytesWritten ?? 0, at: 'write' };
        return { done };
      }
      case 'truncate': await fsp.truncate(at(op.path), op.len); break;
      case 'rename': await fsp.rename(at(op.path), at(op.to)); break;
      case 'link': await fsp.link(at(op.path), at(op.to)); break;
      case 'unlink': await fsp.unlink(at(op.path)); break;
      case 'setxattr': await xattr(at(op.path), op.name, dataOf(op)); break;
      case 'symlink': await fsp.symlink(op.target, at(op.path)); break;
      case 'mkdir': await fsp.mkdir(at(op.path)); break;
    }
    return { done: op.len ?? 0 };
  } catch (e) {
    return { code: e.code ?? String(e), done: 0, at: op.op };
  }
}

/** The model as the tree dump below writes it (hard links as groups of names). */
export function modelTree(m) {
  const out = {};
  const groups = new Map();
  for (const [p, n] of [...m.names].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (n.kind !== 'file') { out[p] = n.kind === 'dir' ? 'dir' : `symlink ${n.target}`; continue; }
    if (!groups.has(n.id)) groups.set(n.id, []);
    groups.get(n.id).push(p);
  }
  for (const [id, names] of groups) {
    const ino = m.inodes.get(id);
    for (const p of names) out[p] = fileLine(ino.data, names, [...ino.xattrs].map(([k, v]) => [k, v]));
  }
  return out;
}

function fileLine(data, names, xattrs) {
  const h = (b) => createHash('sha256').update(b).digest('hex').slice(0, 16);
  const xs = xattrs.sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${h(v)}`).join(',');
  return `file ${data.length} ${h(data)} links[${[...names].sort().join(' ')}] xattrs[${xs}]`;
}

/** The tree under `root` as seen through an fs/promises-like api, in modelTree's form. */
export async function dumpTree(fsp, base, root, getxattrs) {
  const out = {};
  const byIno = new Map();
  const walk = async (dir) => {
    out[dir] = 'dir';
    for (const name of (await fsp.readdir(base + dir)).sort()) {
      const p = `${dir}/${name}`;
      const st = await fsp.lstat(base + p);
      if (st.isDirectory()) await walk(p);
      else if (st.isSymbolicLink()) out[p] = `symlink ${await fsp.readlink(base + p)}`;
      else { if (!byIno.has(st.ino)) byIno.set(st.ino, []); byIno.get(st.ino).push(p); }
    }
  };
  await walk(root);
  for (const names of byIno.values()) {
    let data;
    try { data = await fsp.readFile(base + names[0]); } catch (e) { data = Buffer.from(`unreadable ${e.code}`); }
    const line = fileLine(data, names, await getxattrs(base + names[0]));
    for (const p of names) out[p] = line;
  }
  return out;
}

/** '' or the first difference between two dumps. */
export function diffDumps(got, want) {
  for (const p of Object.keys(want)) if (got[p] !== want[p]) return `${p}: got ${got[p] ?? 'nothing'}, want ${want[p]}`;
  for (const p of Object.keys(got)) if (!(p in want)) return `${p}: should not exist (${got[p]})`;
  return '';
}

export { Prng };

// Reading a mounted tree back (library API) and judging it against the model
// of model.mjs: for every path its type, mode, size and bytes, symlink target,
// nlink and which paths share an inode (hard links), xattrs, and the three
// times. No side effects at import (node --test loads every file here).
import { parentOf } from './model.mjs';

/**
 * pram's clock against Date.now() in the writer: pram stamps with the wall
 * time read at mount plus a monotonic offset, so its clock runs at the same
 * rate but may lag by however long the writer was held up between the two
 * reads at mount (tens of ms on a loaded machine), never lead. So all times one
 * writer stamped must fit its ops' intervals shifted by one common lag in
 * [-LAG_MAX_MS, 0], give or take SLACK_MS (both clocks truncated to ms).
 */
const SLACK_MS = 2, LAG_MAX_MS = 2000;

/** Every path of a mount, '/' included: path -> { ino, type, mode, nlink, size, atime, mtime, ctime, data | target, xattrs }. */
export async function readTree(pfs) {
  const out = new Map();
  const walk = async (p) => {
    const st = await pfs.lstat(p, { bigint: true });
    const type = st.isDirectory() ? 'd' : st.isSymbolicLink() ? 'l' : st.isFile() ? 'f' : '?';
    out.set(p, { ino: Number(st.ino), type, mode: Number(st.mode) & 0o7777, nlink: Number(st.nlink), size: Number(st.size),
      atime: st.atimeNs, mtime: st.mtimeNs, ctime: st.ctimeNs });
    if (type === 'd') for (const name of (await pfs.readdir(p)).sort()) await walk(p === '/' ? `/${name}` : `${p}/${name}`);
  };
  await walk('/');
  // Contents after every stat: a read may move atime (relatime), and one inode can have two names.
  for (const [p, g] of out) {
    try {
      if (g.type === 'l') { g.target = await pfs.readlink(p); continue; }
      g.xattrs = new Map();
      for (const x of (await pfs.listxattr(p)).sort()) g.xattrs.set(x, await pfs.getxattr(p, x));
      if (g.type === 'f') g.data = await pfs.readFile(p);
    } catch (e) { g.error = e.code ?? String(e); }
  }
  return out;
}

/** A tree read back as a model (exact times): what the next owner starts from. */
export function modelOf(tree) {
  const m = { paths: new Map(), nodes: new Map(), next: 1 };
  const byIno = new Map();
  for (const [p, g] of tree) {
    if (!byIno.has(g.ino)) {
      const id = m.next++;
      byIno.set(g.ino, id);
      m.nodes.set(id, { type: g.type, mode: g.mode, data: g.data && Buffer.from(g.data), target: g.target, xattrs: new Map(g.xattrs ?? []),
        atime: { ns: String(g.atime) }, mtime: { ns: String(g.mtime) }, ctime: { ns: String(g.ctime) } });
    }
    m.paths.set(p, byIno.get(g.ino));
  }
  return m;
}

/**
 * '' or the difference, for exact times; interval times are pushed on `clocked` for clockDiff. An atime the
 * model could not decide (`{ any }`) is right when one alternative is: an exact one equal, else one of the
 * clocked ones (clockDiff then needs one lag that fits an alternative of each).
 */
function timeDiff(got, want, what, clocked) {
  if (want?.any) {
    if (want.any.some((t) => t?.ns !== undefined && got === BigInt(t.ns))) return '';
    const alts = want.any.filter((t) => t && t.ns === undefined);
    if (!alts.length) return `${what} ${got}, expected exactly one of ${want.any.map((t) => t?.ns).join(', ')}`;
    clocked.push({ what, got: Number(got) / 1e6, alts });
    return '';
  }
  if (want === null) throw new Error(`the model has no clock interval for a ${what}`);
  if (want.ns !== undefined) return got === BigInt(want.ns) ? '' : `${what} ${got}, expected exactly ${want.ns}`;
  clocked.push({ what, got: Number(got) / 1e6, lo: want.lo, hi: want.hi });
  return '';
}

/** Intervals as the fewest disjoint ones (sorted): their number stays bounded however many atimes narrow them. */
function merged(list) {
  const out = [];
  for (const [a, b] of list.sort((x, y) => x[0] - y[0])) {
    if (out.length && a <= out.at(-1)[1]) out.at(-1)[1] = Math.max(out.at(-1)[1], b);
    else out.push([a, b]);
  }
  return out;
}

/** '' when one lag fits every clocked time (one of its alternatives, for an undecided atime), else two that need lags that do not meet. */
function clockDiff(all) {
  const clocked = all.filter((c) => !c.alts), undecided = all.filter((c) => c.alts);
  let min = -LAG_MAX_MS, max = SLACK_MS;
  const say = (c) => `${c.what} ${c.got.toFixed(3)} ms (op interval ${c.alts ? c.alts.map((t) => `${t.lo}…${t.hi}`).join(' or ') : `${c.lo}…${c.hi}`})`;
  if (clocked.length) {
    const early = clocked.reduce((a, c) => (c.got - c.hi > a.got - a.hi ? c : a));   // needs the largest lag
    const late = clocked.reduce((a, c) => (c.got - c.lo < a.got - a.lo ? c : a));    // allows the smallest
    min = Math.max(early.got - early.hi - SLACK_MS, min); max = Math.min(late.got - late.lo + SLACK_MS, max);
    if (min > max) return `times the clock stamped fit no one lag of pram's clock in [-${LAG_MAX_MS}, 0] ms: ${say(early)} and ${say(late)}`;
  }
  // The lags left, as intervals, narrowed by each undecided atime to those one of its alternatives allows.
  let fits = [[min, max]];
  for (const c of undecided) {
    const allows = c.alts.map((t) => [c.got - t.hi - SLACK_MS, c.got - t.lo + SLACK_MS]);
    fits = merged(fits.flatMap(([a, b]) => allows.map(([x, y]) => [Math.max(a, x), Math.min(b, y)])).filter(([a, b]) => a <= b));
    if (!fits.length) return `times the clock stamped fit no one lag of pram's clock in [${min.toFixed(3)}, ${max.toFixed(3)}] ms with ${say(c)}`;
  }
  return '';
}

/** What nlink the model gives the node at p: its names, or for a directory 2 + its subdirectories. */
function nlinkOf(m, p, id) {
  const n = m.nodes.get(id);
  if (n.type !== 'd') return [...m.paths.values()].filter((x) => x === id).length;
  return 2 + [...m.paths].filter(([q, x]) => q !== '/' && parentOf(q) === p && m.nodes.get(x).type === 'd').length;
}

function nodeDiff(g, w, p, clocked) {
  if (g.type !== w.type) return `is a ${g.type}, expected ${w.type}`;
  if (g.error) return `unreadable: ${g.error}`;
  if (g.mode !== w.mode) return `mode ${g.mode.toString(8)}, expected ${w.mode.toString(8)}`;
  if (w.type === 'l' && g.target !== w.target) return `-> ${g.target}, expected ${w.target}`;
  if (w.type === 'f') {
    if (g.size !== w.data.length || g.data.length !== w.data.length) return `has ${g.size} bytes (read ${g.data.length}), expected ${w.data.length}`;
    const at = g.data.findIndex((b, i) => b !== w.data[i]);
    if (at >= 0) return `differs at byte ${at}`;
  }
  if (w.type !== 'l') {
    const gx = [...g.xattrs].map(([k, v]) => `${k}=${v.toString('hex')}`).sort().join(' ');
    const wx = [...w.xattrs].map(([k, v]) => `${k}=${Buffer.from(v).toString('hex')}`).sort().join(' ');
    if (gx !== wx) return `xattrs ${gx.slice(0, 120)}, expected ${wx.slice(0, 120)}`;
  }
  return timeDiff(g.mtime, w.mtime, `${p} mtime`, clocked) || timeDiff(g.atime, w.atime, `${p} atime`, clocked) || timeDiff(g.ctime, w.ctime, `${p} ctime`, clocked);
}

/** '' when the tree read back (`got`) is what model `want` allows, else the first difference in words. */
export function diffTrees(got, want) {
  const inoOf = new Map(), idOf = new Map(), clocked = [];
  for (const [p, id] of want.paths) {
    const g = got.get(p);
    if (!g) return `${p} missing`;
    const d = nodeDiff(g, want.nodes.get(id), p, clocked);
    if (d) return d.startsWith(p) ? d : `${p} ${d}`;
    const nlink = nlinkOf(want, p, id);
    if (g.nlink !== nlink) return `${p} nlink ${g.nlink}, expected ${nlink}`;
    // Hard links: the same model node is one inode, different ones are different inodes.
    if (inoOf.has(id) && inoOf.get(id) !== g.ino) return `${p} is inode ${g.ino}, not the same as its other name's ${inoOf.get(id)}`;
    if (idOf.has(g.ino) && idOf.get(g.ino) !== id) return `${p} shares inode ${g.ino} with a path it should not`;
    inoOf.set(id, g.ino); idOf.set(g.ino, id);
  }
  for (const p of got.keys()) if (!want.paths.has(p)) return `${p} should not exist`;
  return clockDiff(clocked);
}

// The owner-crash tests' shared model (no side effects at import: node --test
// loads every file here): a seeded op list over a small tree, the state it
// leaves before each op (what a sync at that op commits), and reading a whole
// mounted tree back. Used by sigkill.test.mjs (parent) and writer.mjs (child).
import { Prng } from '../../../dist/machine/prng.js';

export const PS = 4096;
export const DIRS = ['/d', '/d/e'];
const NAMES = ['/f0', '/f1', '/f2', '/f3', '/f4', '/f5', '/d/g0', '/d/g1', '/d/g2', '/d/e/h0', '/d/e/h1'];

/** The bytes one write op puts down (both processes derive them from the op). */
export function dataOf(op) { return new Prng(op.dseed).bytes(op.len); }

/** Apply one op to a model (Map path → Buffer); returns the model. */
export function apply(model, op) {
  switch (op.op) {
    case 'write': {
      const old = model.get(op.path) ?? Buffer.alloc(0);
      const end = Math.max(old.length, op.off + op.len);
      const b = Buffer.alloc(end);
      old.copy(b);
      dataOf(op).copy(b, op.off);
      model.set(op.path, b);
      break;
    }
    case 'truncate': {
      const old = model.get(op.path);
      const b = Buffer.alloc(op.len);
      old.copy(b, 0, 0, Math.min(old.length, op.len));
      model.set(op.path, b);
      break;
    }
    case 'rename': model.set(op.to, model.get(op.path)); model.delete(op.path); break;
    case 'unlink': model.delete(op.path); break;
    default: break; // fsync, sync: no change of content
  }
  return model;
}

/**
 * A seeded op list: a prefix that writes a few files and syncs (so every run
 * has synced content to lose), then a random mix. Ops are valid for the model
 * they were drawn against, so the child never sees an expected error.
 */
export function genOps(seed, start = new Map()) {
  const r = new Prng(seed);
  const model = new Map(start);
  const ops = [];
  const push = (op) => { ops.push(op); apply(model, op); };
  const existing = () => [...model.keys()].sort();
  const pick = (a) => a[r.below(a.length)];
  const write = (path) => {
    const size = model.get(path)?.length ?? 0;
    const off = r.chance(0.2) ? r.below(3 * PS) + size : r.below(size + 1);
    const len = r.chance(0.15) ? r.range(PS, 16 * PS) : r.range(1, 2 * PS + 100);
    push({ op: 'write', path, off, len, dseed: r.next() });
  };
  for (let i = r.range(2, 6); i > 0; i--) write(pick(NAMES));
  push({ op: 'sync' });
  const n = r.range(5, 60);
  while (ops.length < n + 8) {
    const have = existing();
    const k = r.below(100);
    if (k < 45 || have.length === 0) write(r.chance(0.7) && have.length ? pick(have) : pick(NAMES));
    else if (k < 55) { const p = pick(have); push({ op: 'truncate', path: p, len: r.below(model.get(p).length * 2 + PS) }); }
    else if (k < 67) { const p = pick(have); const to = pick(NAMES.filter((x) => x !== p)); push({ op: 'rename', path: p, to }); }
    else if (k < 75) push({ op: 'unlink', path: pick(have) });
    else if (k < 88) push({ op: 'fsync', path: pick(have) });
    else push({ op: 'sync' });
  }
  return ops;
}

/** Model states before every sync op (what that sync commits) — keyed by op index. */
export function syncStates(ops, start = new Map()) {
  const model = new Map(start);
  const states = new Map();
  ops.forEach((op, i) => {
    if (op.op === 'sync' || op.op === 'fsync') states.set(i, new Map(model));
    apply(model, op);
  });
  return states;
}

/** Every regular file under / of a mount, path → Buffer or the error code reading it gave. */
export async function readTree(pfs) {
  const out = new Map();
  const walk = async (dir) => {
    for (const d of await pfs.readdir(dir, { withFileTypes: true })) {
      const p = dir === '/' ? `/${d.name}` : `${dir}/${d.name}`;
      if (d.isDirectory()) { await walk(p); continue; }
      try { out.set(p, await pfs.readFile(p)); } catch (e) { out.set(p, e.code ?? String(e)); }
    }
  };
  await walk('/');
  for (const d of DIRS) out.delete(d);
  return out;
}

/** '' when `got` equals `want`, else the first difference in words. */
export function diffTrees(got, want) {
  for (const [p, w] of want) {
    const g = got.get(p);
    if (g === undefined) return `${p} missing`;
    if (!Buffer.isBuffer(g)) return `${p} unreadable: ${g}`;
    if (g.length !== w.length) return `${p} has ${g.length} bytes, expected ${w.length}`;
    const at = g.findIndex((b, i) => b !== w[i]);
    if (at >= 0) return `${p} differs at byte ${at}`;
  }
  for (const p of got.keys()) if (!want.has(p)) return `${p} should not exist`;
  return '';
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

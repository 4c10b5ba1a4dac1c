// One full-arena worker: seeded ops on its own subtree until it has met ENOSPC
// `enospcMax` times (past full) or run `opsMax` ops. Imported by the library
// test (runWorker with a PramFs), run as a child by the mount test
// (argv: mount dir, JSON options; prints one JSON line: the result).
import * as fsp from 'node:fs/promises';
import * as fs from 'node:fs';
import { execFile } from 'node:child_process';
import { Prng, apply, genOp, modelTree, needPages, newModel, runOp } from './full-model.mjs';

/**
 * @param env { fsp, base, xattr(path, name, value), avail(): pages free net of reservations }
 * Returns { tree, enospc: [{ op, need, before, after, at }], closeErrors, ops }.
 */
export async function runWorker(env, { seed, root, opsMax, enospcMax }) {
  const r = new Prng(seed);
  const m = newModel(root);
  await env.fsp.mkdir(env.base + root);
  const enospc = [], closeErrors = [];
  let seq = 0;
  for (; seq < opsMax && enospc.length < enospcMax; seq++) {
    const op = genOp(r, m, seq);
    const need = needPages(m, op);
    const before = await env.avail();
    const res = await runOp(env.fsp, env.base, op, env.xattr);
    if (res.code === undefined) { apply(m, op, res.done); continue; }
    if (res.at === 'close') { closeErrors.push({ seq, op, code: res.code }); continue; }
    if (res.code !== 'ENOSPC') throw new Error(`seed ${seed} op ${seq} ${JSON.stringify(op)}: ${res.code}`);
    if (res.at === 'write' && (op.op === 'create' || res.done > 0)) apply(m, op, res.done);   // made, and what fitted written
    enospc.push({ seq, op: op.op, need, before, after: await env.avail(), at: res.at });
  }
  return { tree: modelTree(m), enospc, closeErrors, ops: seq };
}

/** Through a mount: xattrs with setfattr (attr; node has no setxattr). */
export function mountEnv(dir) {
  return {
    fsp, base: dir,
    avail: async () => fs.statfsSync(dir).bavail,
    xattr: (p, name, value) => new Promise((resolve, reject) => {
      execFile('setfattr', ['-n', name, '-v', `0x${Buffer.from(value).toString('hex')}`, p], (err, _o, stderr) => {
        if (!err) return resolve();
        reject(Object.assign(new Error(stderr), { code: /No space left on device/.test(stderr) ? 'ENOSPC' : stderr.trim() }));
      });
    }),
  };
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()) && process.argv[2]) {
  const opts = JSON.parse(process.argv[3]);
  const res = await runWorker(mountEnv(process.argv[2]), opts);
  process.stdout.write(JSON.stringify(res) + '\n');
}

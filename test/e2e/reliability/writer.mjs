// The owner that gets killed (child of sigkill.test.mjs): started ahead, it
// waits for one JSON line on stdin ({ ops, killAtMsync }), then mounts ARENA
// with the library API and performs the ops, telling the parent over stdout
// where it is:
//   R            mounted           o <i> <ms>  about to perform op i (Date.now())
//   s <i>        sync op i begins  S <i>   sync op i returned (committed)
//   D <ms>       all done (then waits to be killed)      E <msg>  an op failed
// The times bound the clock pram stamps each change with (model.mjs).
// With killAtMsync 'n[:after]' it SIGKILLs itself at the n-th msync of the
// arena (before it, or after it): inside a checkpoint's commit, deterministically.
import * as fs from 'node:fs';
import { mount } from '../../../dist/api/index.js';
import { dataOf, readOps, valueOf } from './model.mjs';

const arena = process.argv[2];
// PRAM_SIGKILL_PACE_MS: a pause before each op, so each op's clock interval stands apart and a time the model
// gives the wrong op fails its check (on an idle machine ops run ~0.1 ms apart, inside any tolerance).
const pace = Number(process.env['PRAM_SIGKILL_PACE_MS'] ?? 0);
const say = (line) => fs.writeSync(1, line + '\n');

const { ops, killAtMsync: killAt } = await readOps();
process.umask(0);   // modes exactly as the ops give them (the mount takes the umask at mount)

const pfs = await mount({ arena, cmdline: '', warn: () => {}, checkpointIntervalMs: 0 });   // only the op list's syncs
if (killAt) {
  const [n, when] = killAt.split(':');
  const mem = pfs.volume.mem;
  const real = mem.sync.bind(mem);
  let calls = 0;
  mem.sync = () => {
    calls++;
    if (calls === Number(n) && when !== 'after') process.kill(process.pid, 'SIGKILL');
    real();
    if (calls === Number(n) && when === 'after') process.kill(process.pid, 'SIGKILL');
  };
}
say('R');
try {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    if (pace > 0) await new Promise((r) => setTimeout(r, pace));
    say(`o ${i} ${Date.now()}`);
    switch (op.op) {
      case 'write': {
        const h = await pfs.open(op.path, 2 | 0o100, op.mode); // O_RDWR | O_CREAT: no truncation
        try { await h.write(dataOf(op), 0, op.len, op.off); } finally { await h.close(); }
        break;
      }
      case 'truncate': await pfs.truncate(op.path, op.len); break;
      case 'rename': await pfs.rename(op.path, op.to); break;
      case 'unlink': await pfs.unlink(op.path); break;
      case 'mkdir': await pfs.mkdir(op.path, op.mode); break;
      case 'rmdir': await pfs.rmdir(op.path); break;
      case 'symlink': await pfs.symlink(op.target, op.path); break;
      case 'link': await pfs.link(op.path, op.to); break;
      case 'chmod': await pfs.chmod(op.path, op.mode); break;
      case 'utimes': await pfs.utimes(op.path, BigInt(op.atime), BigInt(op.mtime)); break;
      case 'setxattr': await pfs.setxattr(op.path, op.name, valueOf(op)); break;
      case 'removexattr': await pfs.removexattr(op.path, op.name); break;
      case 'read': {
        const h = await pfs.open(op.path, 'r');
        try { await h.read(Buffer.alloc(op.len), 0, op.len, op.pos); } finally { await h.close(); }
        break;
      }
      case 'readall': for (const p of op.paths) await pfs.readFile(p); break;
      case 'many': {
        await pfs.mkdir(op.dir, 0o755);
        for (let k = 0; k < op.n; k++) {
          const h = await pfs.open(`${op.dir}/n${String(k).padStart(3, '0')}`, 2 | 0o100, 0o644);
          try { await h.write(Buffer.from([k & 0xff]), 0, 1, 0); } finally { await h.close(); }
        }
        break;
      }
      case 'ageall': for (const p of op.paths) await pfs.utimes(p, BigInt(op.atime), BigInt(op.mtime)); break;
      case 'idle': await new Promise((r) => setTimeout(r, op.ms)); break;
      case 'fsync': {
        const h = await pfs.open(op.path, 'r+');
        say(`s ${i}`);
        try { await h.sync(); } finally { await h.close(); }
        say(`S ${i}`);
        break;
      }
      case 'sync': say(`s ${i}`); await pfs.sync(); say(`S ${i}`); break;
      default: throw new Error(`unknown op ${op.op}`);
    }
  }
  say(`D ${Date.now()}`);
} catch (e) {
  say(`E ${e.stack ?? e}`.replace(/\n/g, ' | '));
  process.exit(1);
}
setInterval(() => {}, 1 << 30); // wait for the SIGKILL

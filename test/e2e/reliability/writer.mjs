// The owner that gets killed (child of sigkill.test.mjs): mounts ARENA with the
// library API, reads its op list (one JSON line) from stdin and performs it,
// telling the parent over stdout where it is:
//   R            mounted           o <i>   about to perform op i
//   s <i>        sync op i begins  S <i>   sync op i returned (committed)
//   D            all done (then waits to be killed)      E <msg>  an op failed
// With KILL_AT_MSYNC=n[:after] it SIGKILLs itself at the n-th msync of the
// arena (before it, or after it): inside a checkpoint's commit, deterministically.
import * as fs from 'node:fs';
import { mount } from '../../../dist/api/index.js';
import { dataOf, readOps } from './model.mjs';

const arena = process.argv[2];
const say = (line) => fs.writeSync(1, line + '\n');

const ops = await readOps();

const pfs = await mount({ arena, cmdline: '', warn: () => {}, checkpointIntervalMs: 0 });   // only the op list's syncs
const killAt = process.env['KILL_AT_MSYNC'];
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
    say(`o ${i}`);
    switch (op.op) {
      case 'write': {
        const h = await pfs.open(op.path, 2 | 0o100); // O_RDWR | O_CREAT: no truncation
        try { await h.write(dataOf(op), 0, op.len, op.off); } finally { await h.close(); }
        break;
      }
      case 'truncate': await pfs.truncate(op.path, op.len); break;
      case 'rename': await pfs.rename(op.path, op.to); break;
      case 'unlink': await pfs.unlink(op.path); break;
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
  say('D');
} catch (e) {
  say(`E ${e.stack ?? e}`.replace(/\n/g, ' | '));
  process.exit(1);
}
setInterval(() => {}, 1 << 30); // wait for the SIGKILL

// The writer inside a `pram mount` (child of fuse-sigkill.test.mjs): performs
// an op list (stdin, one JSON line) with node:fs on files under MNT; fsync of
// a file and fsync of the mount's root directory are pram checkpoints. Same
// protocol on stdout as writer.mjs (R, o i, s i, S i, D); any error after the
// server was killed ends it quietly (X <code>).
import * as fs from 'node:fs';
import { dataOf, readOps } from './model.mjs';

const mnt = process.argv[2];
const say = (line) => fs.writeSync(1, line + '\n');
const ops = await readOps();
const at = (p) => mnt + p;
say('R');
try {
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    say(`o ${i}`);
    switch (op.op) {
      case 'write': {
        const fd = fs.openSync(at(op.path), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o644);
        try { fs.writeSync(fd, dataOf(op), 0, op.len, op.off); } finally { fs.closeSync(fd); }
        break;
      }
      case 'truncate': fs.truncateSync(at(op.path), op.len); break;
      case 'rename': fs.renameSync(at(op.path), at(op.to)); break;
      case 'unlink': fs.unlinkSync(at(op.path)); break;
      case 'fsync': case 'sync': {
        const fd = fs.openSync(op.op === 'fsync' ? at(op.path) : mnt, 'r');
        try { say(`s ${i}`); fs.fsyncSync(fd); say(`S ${i}`); } finally { fs.closeSync(fd); }
        break;
      }
      default: throw new Error(`unknown op ${op.op}`);
    }
  }
  say('D');
} catch (e) {
  say(`X ${e.code ?? e.message}`);
  process.exit(0);
}
setInterval(() => {}, 1 << 30);

// --debug tracing: one line per FUSE message, `rx 12: LOOKUP n1 "a"` for a
// request and `tx 12: OK` / `tx 12: -ENOENT` for its reply (session.ts writes
// the tx lines). Built only when tracing is on, so the fast path pays nothing.
import type { Request } from './conn.js';
import { Op } from './wire.js';

const RW = new Set<number>([Op.READ, Op.WRITE, Op.READDIR, Op.READDIRPLUS]);

export function describeRequest(req: Request, name: string | undefined): string {
  const parts = [name ?? `op${req.opcode}`, `n${req.nodeid}`];
  for (const n of req.names) parts.push(JSON.stringify(n));
  if (RW.has(req.opcode) && req.arg.remaining >= 24) {
    // fuse_read_in / fuse_write_in: fh, offset, size
    const r = req.arg.fork();
    r.skip(8, 'fh');
    parts.push(`off=${r.u64big('offset')} size=${r.u32('size')}`);
  }
  return parts.join(' ');
}

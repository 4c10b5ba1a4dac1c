// The opcode table, as data: for each FUSE opcode pram serves, its name, the
// size of its fixed argument struct, the names that follow the struct, whether
// a reply is sent, and the handler. An opcode missing here is answered ENOSYS
// by the session (session.ts), which is also what unknown opcodes get.
import type { Conn, Request, Result } from './conn.js';
import { Op, Size } from './wire.js';
import * as node from './handlers-node.js';
import * as data from './handlers-data.js';
import * as conn from './handlers-conn.js';

/**
 * 'name': a path component (no '/'; over 255 bytes is ENAMETOOLONG); 'target': a
 * symlink target (<= PATH_MAX); 'xattr': an attribute name ('/' allowed, as on
 * every Linux file system; fs/ answers ERANGE past XATTR_NAME_MAX).
 */
export type NameKind = 'name' | 'target' | 'xattr';

export interface OpSpec {
  name: string;
  inBytes: number;
  names: readonly NameKind[];
  /** The field each name is decoded as, for errors ('LOOKUP.name'): made once, not per request. */
  fields: readonly string[];
  reply: boolean;
  handler: (s: Conn, q: Request) => Result;
}

const N0: readonly NameKind[] = [], N1: readonly NameKind[] = ['name'], N2: readonly NameKind[] = ['name', 'name'];
const X1: readonly NameKind[] = ['xattr'];

function op(name: string, inBytes: number, names: readonly NameKind[], handler: OpSpec['handler'], reply = true): OpSpec {
  return { name, inBytes, names, fields: names.map((kind) => `${name}.${kind}`), reply, handler };
}

export const OPS: Readonly<Record<number, OpSpec>> = {
  [Op.INIT]: op('INIT', Size.initInCompat, N0, conn.init),
  [Op.DESTROY]: op('DESTROY', 0, N0, conn.destroy),
  [Op.LOOKUP]: op('LOOKUP', 0, N1, node.lookup),
  [Op.FORGET]: op('FORGET', Size.forgetIn, N0, node.forget, false),
  [Op.BATCH_FORGET]: op('BATCH_FORGET', Size.batchForgetIn, N0, node.batchForget, false),
  [Op.GETATTR]: op('GETATTR', Size.getattrIn, N0, node.getattr),
  [Op.SETATTR]: op('SETATTR', Size.setattrIn, N0, node.setattr),
  [Op.READLINK]: op('READLINK', 0, N0, node.readlink),
  [Op.SYMLINK]: op('SYMLINK', 0, ['name', 'target'], node.symlink),
  [Op.MKNOD]: op('MKNOD', Size.mknodIn, N1, node.mknod),
  [Op.MKDIR]: op('MKDIR', Size.mkdirIn, N1, node.mkdir),
  [Op.UNLINK]: op('UNLINK', 0, N1, node.unlink),
  [Op.RMDIR]: op('RMDIR', 0, N1, node.rmdir),
  [Op.RENAME]: op('RENAME', Size.renameIn, N2, node.rename),
  [Op.RENAME2]: op('RENAME2', Size.rename2In, N2, node.rename2),
  [Op.LINK]: op('LINK', Size.linkIn, N1, node.link),
  [Op.ACCESS]: op('ACCESS', Size.accessIn, N0, node.access),
  [Op.OPEN]: op('OPEN', Size.openIn, N0, data.open),
  [Op.CREATE]: op('CREATE', Size.createIn, N1, data.create),
  [Op.READ]: op('READ', Size.readIn, N0, data.read),
  [Op.WRITE]: op('WRITE', Size.writeIn, N0, data.write),
  [Op.FLUSH]: op('FLUSH', Size.flushIn, N0, data.flush),
  [Op.RELEASE]: op('RELEASE', Size.releaseIn, N0, data.release),
  [Op.FSYNC]: op('FSYNC', Size.fsyncIn, N0, data.fsync),
  [Op.OPENDIR]: op('OPENDIR', Size.openIn, N0, data.opendir),
  [Op.READDIR]: op('READDIR', Size.readIn, N0, data.readdir),
  [Op.READDIRPLUS]: op('READDIRPLUS', Size.readIn, N0, data.readdirplus),
  [Op.RELEASEDIR]: op('RELEASEDIR', Size.releaseIn, N0, data.releasedir),
  [Op.FSYNCDIR]: op('FSYNCDIR', Size.fsyncIn, N0, data.fsyncdir),
  [Op.FALLOCATE]: op('FALLOCATE', Size.fallocateIn, N0, data.fallocate),
  [Op.LSEEK]: op('LSEEK', Size.lseekIn, N0, data.lseek),
  [Op.COPY_FILE_RANGE]: op('COPY_FILE_RANGE', Size.copyFileRangeIn, N0, data.copyFileRange),
  [Op.STATFS]: op('STATFS', 0, N0, conn.statfs),
  [Op.SYNCFS]: op('SYNCFS', 8, N0, conn.syncfs),
  [Op.INTERRUPT]: op('INTERRUPT', Size.interruptIn, N0, conn.interrupt, false),
  [Op.SETXATTR]: op('SETXATTR', Size.setxattrInCompat, X1, conn.setxattr),
  [Op.GETXATTR]: op('GETXATTR', Size.getxattrIn, X1, conn.getxattr),
  [Op.LISTXATTR]: op('LISTXATTR', Size.getxattrIn, N0, conn.listxattr),
  [Op.REMOVEXATTR]: op('REMOVEXATTR', 0, X1, conn.removexattr),
};

/** Name of an opcode for tracing, also for the ones pram leaves unanswered with ENOSYS. */
export function opName(opcode: number): string {
  return OPS[opcode]?.name ?? `op${opcode}`;
}

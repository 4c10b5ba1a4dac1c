// An inode's attributes changed (setattr) and its extended attributes set or
// removed: the checks, the ledger's charge for the xattr records a checkpoint
// will write (table.ts admit/recharge), and the times each change moves. Apart
// from volume.ts, which only finds the inode by number, as namespace.ts holds
// the changes of names: here the changes of one inode's own metadata.
import type { PageCache } from './file.js';
import type { Inode } from './inode.js';
import type { Attr, InodeTable } from './table.js';
import * as xa from './xattr.js';

/** What setattr may change (FUSE SETATTR's valid fields); a field left out stays. */
export interface AttrChange { mode?: number; uid?: number; gid?: number; size?: number; atimeNs?: bigint; mtimeNs?: bigint; ctimeNs?: bigint }

/** Applies `set` to the node (a size first: a truncate may fail, -errno, and then nothing changed); its attributes after. */
export function setattr(t: InodeTable, pc: PageCache, node: Inode, set: AttrChange): Attr | number {
  if (set.size !== undefined) {
    const r = node.ops.setsize(pc, node, set.size);
    if (r < 0) return r;
    t.touch(node, 'm');
  }
  if (set.mode !== undefined) node.mode = (node.mode & 0o170000) | (set.mode & 0o7777);
  if (set.uid !== undefined && set.uid >= 0) node.uid = set.uid;
  if (set.gid !== undefined && set.gid >= 0) node.gid = set.gid;
  if (set.atimeNs !== undefined) node.atimeNs = set.atimeNs;
  if (set.mtimeNs !== undefined) node.mtimeNs = set.mtimeNs;
  node.ctimeNs = set.ctimeNs ?? t.now();
  t.changed(node);
  return t.attr(node);
}

/** xattr.ts setxattr, admitted by the ledger for the records the node's xattrs will take; 0 or -errno. */
export function setxattr(t: InodeTable, node: Inode, name: string, value: Uint8Array, flags: number): number {
  const r = xa.setxattr(node, name, value, flags, (next) => {
    const cost = t.xattrCost(next);
    const room = t.admit(cost.records - node.xattrRecords, cost.bytes - node.xattrBytes);
    if (room === 0) { node.xattrRecords = cost.records; node.xattrBytes = cost.bytes; }
    return room;
  });
  if (r === 0) { t.recharge(node); t.touch(node, 'c'); }
  return r;
}

/** xattr.ts removexattr, the node's charge for its xattrs made exact again; 0 or -errno. */
export function removexattr(t: InodeTable, node: Inode, name: string): number {
  const r = xa.removexattr(node, name);
  if (r === 0) {
    t.rechargeXattrs(node);
    t.touch(node, 'c');
  }
  return r;
}

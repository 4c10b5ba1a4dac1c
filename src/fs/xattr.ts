// Extended attributes of one inode: Linux's namespaces, flags and limits.
// Values are copied in and out so a caller never shares a buffer with an inode.
import { E2BIG, EEXIST, ENODATA, EOPNOTSUPP, ERANGE } from '../format/errno.js';
import type { Inode } from './inode.js';
import { XATTR_CREATE, XATTR_NAME_MAX, XATTR_REPLACE, XATTR_SIZE_MAX } from './mode.js';

const NAMESPACES = ['user.', 'trusted.', 'security.', 'system.'];

function checkXattrName(name: string): number {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > XATTR_NAME_MAX) return -ERANGE;
  const ns = NAMESPACES.find((p) => name.startsWith(p));
  if (!ns || name.length === ns.length) return -EOPNOTSUPP;
  return 0;
}

export function getxattr(node: Inode, name: string): Uint8Array | number {
  const bad = checkXattrName(name);
  if (bad) return bad;
  const v = node.xattrs.get(name);
  return v ? Buffer.from(v) : -ENODATA;
}

/** Set one xattr; `admit` sees the xattrs it would leave and says whether they fit (0 or -ENOSPC). */
export function setxattr(node: Inode, name: string, value: Uint8Array, flags: number, admit: (next: [string, Uint8Array][]) => number): number {
  const bad = checkXattrName(name);
  if (bad) return bad;
  if (value.length > XATTR_SIZE_MAX) return -E2BIG;
  const has = node.xattrs.has(name);
  if ((flags & XATTR_CREATE) && has) return -EEXIST;
  if ((flags & XATTR_REPLACE) && !has) return -ENODATA;
  const copy = Uint8Array.from(value);
  const room = admit([...node.xattrs].filter(([k]) => k !== name).concat([[name, copy]]));
  if (room < 0) return room;
  node.xattrs.set(name, copy);
  return 0;
}

export function listxattr(node: Inode): string[] {
  return [...node.xattrs.keys()];
}

export function removexattr(node: Inode, name: string): number {
  const bad = checkXattrName(name);
  if (bad) return bad;
  return node.xattrs.delete(name) ? 0 : -ENODATA;
}

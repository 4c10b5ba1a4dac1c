// A small in-memory double of fs/'s Volume, for the protocol core's byte-array
// tests only (the mount tests serve the real Volume). It keeps just enough
// POSIX behaviour to check that each opcode reaches fs/ with the right
// arguments and that fs/'s answers are encoded right; it is not a file system.
import { EEXIST, EINVAL, ENODATA, ENOENT, ENOTDIR, ENOTEMPTY, EISDIR } from '../format/errno.js';
import type { Attr, DirEntry, HeldViews, ServedVolume, SetAttr } from './served.js';
import { S_IFDIR, S_IFLNK, S_IFMT } from '../format/mode.js';

interface Node { attr: Attr; data: Buffer; target?: string; kids?: Map<string, number>; xattrs: Map<string, Uint8Array> }

export class VolumeDouble implements ServedVolume {
  readonly rootIno = 1;
  readonly nodes = new Map<number, Node>();
  /** Every call, for tests asserting what reached fs/. */
  readonly calls: string[] = [];
  /** Views handed out by view() and not yet released. */
  viewsHeld = 0;
  readonly forgotten: [number, number][] = [];
  private nextIno = 2;
  syncs = 0;

  constructor(private readonly timeNs = 1_700_000_000_123_456_789n) {
    this.nodes.set(1, this.make(1, S_IFDIR | 0o755, 0, 0));
    this.nodes.get(1)!.kids = new Map();
  }

  private make(ino: number, mode: number, uid: number, gid: number): Node {
    const t = this.timeNs;
    return { attr: { ino, mode, nlink: (mode & S_IFMT) === S_IFDIR ? 2 : 1, uid, gid, rdev: 0, size: 0, blocks: 0, blksize: 4096, atimeNs: t, mtimeNs: t, ctimeNs: t }, data: Buffer.alloc(0), xattrs: new Map() };
  }

  private dir(ino: number): Map<string, number> | number {
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    return n.kids ?? -ENOTDIR;
  }

  private add(parent: number, name: string, mode: number, uid: number, gid: number): Node | number {
    const d = this.dir(parent);
    if (typeof d === 'number') return d;
    if (d.has(name)) return -EEXIST;
    const n = this.make(this.nextIno++, mode, uid, gid);
    this.nodes.set(n.attr.ino, n);
    d.set(name, n.attr.ino);
    return n;
  }

  lookup(parent: number, name: string): Attr | number {
    this.calls.push(`lookup ${parent} ${name}`);
    const d = this.dir(parent);
    if (typeof d === 'number') return d;
    const ino = d.get(name);
    return ino === undefined ? -ENOENT : { ...this.nodes.get(ino)!.attr };
  }
  getattr(ino: number): Attr | number {
    const n = this.nodes.get(ino);
    return n ? { ...n.attr } : -ENOENT;
  }
  setattr(ino: number, set: SetAttr): Attr | number {
    this.calls.push(`setattr ${ino} ${JSON.stringify(set, (_, v) => (typeof v === 'bigint' ? v.toString() : v))}`);
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    if (set.mode !== undefined) n.attr.mode = (n.attr.mode & S_IFMT) | (set.mode & 0o7777);
    if (set.uid !== undefined) n.attr.uid = set.uid;
    if (set.gid !== undefined) n.attr.gid = set.gid;
    if (set.size !== undefined) { n.data = resize(n.data, set.size); n.attr.size = set.size; }
    if (set.atimeNs !== undefined) n.attr.atimeNs = set.atimeNs;
    if (set.mtimeNs !== undefined) n.attr.mtimeNs = set.mtimeNs;
    if (set.ctimeNs !== undefined) n.attr.ctimeNs = set.ctimeNs;
    return { ...n.attr };
  }
  mknod(parent: number, name: string, mode: number, rdev: number, uid: number, gid: number): Attr | number {
    this.calls.push(`mknod ${parent} ${name} ${mode.toString(8)} ${rdev} ${uid} ${gid}`);
    const n = this.add(parent, name, mode, uid, gid);
    if (typeof n === 'number') return n;
    n.attr.rdev = rdev;
    return { ...n.attr };
  }
  mkdir(parent: number, name: string, mode: number, uid: number, gid: number): Attr | number {
    this.calls.push(`mkdir ${parent} ${name} ${mode.toString(8)}`);
    const n = this.add(parent, name, S_IFDIR | (mode & 0o7777), uid, gid);
    if (typeof n === 'number') return n;
    n.kids = new Map();
    return { ...n.attr };
  }
  symlink(parent: number, name: string, target: string, uid: number, gid: number): Attr | number {
    this.calls.push(`symlink ${parent} ${name} ${target}`);
    const n = this.add(parent, name, S_IFLNK | 0o777, uid, gid);
    if (typeof n === 'number') return n;
    n.target = target;
    n.attr.size = Buffer.byteLength(target);
    return { ...n.attr };
  }
  readlink(ino: number): string | number {
    const n = this.nodes.get(ino);
    return !n ? -ENOENT : n.target ?? -EINVAL;
  }
  link(ino: number, newParent: number, newName: string): Attr | number {
    this.calls.push(`link ${ino} ${newParent} ${newName}`);
    const n = this.nodes.get(ino);
    const d = this.dir(newParent);
    if (!n) return -ENOENT;
    if (typeof d === 'number') return d;
    if (d.has(newName)) return -EEXIST;
    d.set(newName, ino);
    n.attr.nlink++;
    return { ...n.attr };
  }
  unlink(parent: number, name: string): number {
    this.calls.push(`unlink ${parent} ${name}`);
    const d = this.dir(parent);
    if (typeof d === 'number') return d;
    const ino = d.get(name);
    if (ino === undefined) return -ENOENT;
    if (this.nodes.get(ino)!.kids) return -EISDIR;
    d.delete(name);
    this.nodes.get(ino)!.attr.nlink--;
    return 0;
  }
  rmdir(parent: number, name: string): number {
    this.calls.push(`rmdir ${parent} ${name}`);
    const d = this.dir(parent);
    if (typeof d === 'number') return d;
    const ino = d.get(name);
    if (ino === undefined) return -ENOENT;
    const kids = this.nodes.get(ino)!.kids;
    if (!kids) return -ENOTDIR;
    if (kids.size) return -ENOTEMPTY;
    d.delete(name);
    return 0;
  }
  rename(parent: number, name: string, newParent: number, newName: string, flags: number): number {
    this.calls.push(`rename ${parent} ${name} ${newParent} ${newName} ${flags}`);
    const a = this.dir(parent), b = this.dir(newParent);
    if (typeof a === 'number') return a;
    if (typeof b === 'number') return b;
    const ino = a.get(name);
    if (ino === undefined) return -ENOENT;
    if (flags & 1 && b.has(newName)) return -EEXIST;
    a.delete(name);
    b.set(newName, ino);
    return 0;
  }
  read(ino: number, offset: number, length: number): Uint8Array | number {
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    return n.data.subarray(Math.min(offset, n.data.length), Math.min(offset + length, n.data.length));
  }
  readViews(ino: number, offset: number, length: number): Buffer[] | number {
    const r = this.read(ino, offset, length);
    return typeof r === 'number' ? r : [Buffer.from(r.buffer, r.byteOffset, r.byteLength)];
  }
  /** A copy: the double writes its bytes in place, so only a copy stays valid until release. */
  view(ino: number, offset: number, length: number): HeldViews | number {
    const r = this.read(ino, offset, length);
    if (typeof r === 'number') return r;
    this.viewsHeld++;
    let live = true;
    return { buffers: [Buffer.from(r)], release: () => { if (live) this.viewsHeld--; live = false; } };
  }
  write(ino: number, offset: number, data: Uint8Array): number {
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    if (offset + data.length > n.data.length) n.data = resize(n.data, offset + data.length);
    n.data.set(data, offset);
    n.attr.size = n.data.length;
    return data.length;
  }
  fallocate(ino: number, mode: number, offset: number, length: number): number {
    this.calls.push(`fallocate ${ino} ${mode} ${offset} ${length}`);
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    if (offset + length > n.data.length) { n.data = resize(n.data, offset + length); n.attr.size = n.data.length; }
    return 0;
  }
  seek(ino: number, offset: number, whence: 3 | 4): number {
    const n = this.nodes.get(ino);
    if (!n) return -ENOENT;
    if (offset >= n.data.length) return -6;   // ENXIO
    return whence === 3 ? offset : n.data.length;
  }
  readdir(ino: number, cookie: number, max: number, fits: (e: DirEntry) => boolean = () => true): DirEntry[] | number {
    const d = this.dir(ino);
    if (typeof d === 'number') return d;
    const all: DirEntry[] = [{ name: '.', ino, type: 4, next: 1 }, { name: '..', ino: 1, type: 4, next: 2 }];
    for (const [name, kid] of d) {
      const n = this.nodes.get(kid)!;
      all.push({ name, ino: kid, type: (n.attr.mode & S_IFMT) >> 12, next: all.length + 1 });
    }
    const out: DirEntry[] = [];
    for (const e of all.slice(cookie, cookie + max)) { if (!fits(e)) break; out.push(e); }
    return out;
  }
  getxattr(ino: number, name: string): Uint8Array | number {
    return this.nodes.get(ino)?.xattrs.get(name) ?? -ENODATA;
  }
  setxattr(ino: number, name: string, value: Uint8Array, flags: number): number {
    const x = this.nodes.get(ino)?.xattrs;
    if (!x) return -ENOENT;
    if (flags === 1 && x.has(name)) return -EEXIST;
    if (flags === 2 && !x.has(name)) return -ENODATA;
    x.set(name, value);
    return 0;
  }
  listxattr(ino: number): string[] | number {
    const x = this.nodes.get(ino)?.xattrs;
    return x ? [...x.keys()] : -ENOENT;
  }
  removexattr(ino: number, name: string): number {
    const x = this.nodes.get(ino)?.xattrs;
    if (!x) return -ENOENT;
    return x.delete(name) ? 0 : -ENODATA;
  }
  open(ino: number): number { this.calls.push(`open ${ino}`); return this.nodes.has(ino) ? 0 : -ENOENT; }
  release(ino: number): void { this.calls.push(`release ${ino}`); }
  forget(ino: number, nlookup: number): void { this.forgotten.push([ino, nlookup]); }
  statfs() { return { bsize: 4096, blocks: 1000, bfree: 900, bavail: 900, files: 100, ffree: 90, namelen: 255 }; }
  fsync(ino: number): number { this.calls.push(`fsync ${ino}`); this.syncs++; return 0; }
  sync(): number { this.syncs++; this.changed = false; return 0; }
  /** Tests set it to stand for a change; sync() clears it. */
  changed = false;
  unsaved(): boolean { return this.changed; }
}

function resize(b: Buffer, size: number): Buffer {
  const n = Buffer.alloc(size);
  b.copy(n, 0, 0, Math.min(size, b.length));
  return n;
}

// Stats and Dirent shaped like node:fs's, built from fs/'s Attr and DirEntry.
import type { Attr } from '../fs/volume.js';
import { DT_BLK, DT_CHR, DT_DIR, DT_FIFO, DT_LNK, DT_REG, DT_SOCK, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../fs/mode.js';

abstract class TypeTests {
  protected abstract typeBits(): number;
  isFile(): boolean { return this.typeBits() === S_IFREG; }
  isDirectory(): boolean { return this.typeBits() === S_IFDIR; }
  isSymbolicLink(): boolean { return this.typeBits() === S_IFLNK; }
  isFIFO(): boolean { return this.typeBits() === S_IFIFO; }
  isSocket(): boolean { return this.typeBits() === S_IFSOCK; }
  isCharacterDevice(): boolean { return this.typeBits() === S_IFCHR; }
  isBlockDevice(): boolean { return this.typeBits() === S_IFBLK; }
}

const nsToMs = (ns: bigint) => Number(ns / 1000n) / 1000;

export class Stats extends TypeTests {
  dev: number; ino: number; mode: number; nlink: number; uid: number; gid: number; rdev: number;
  size: number; blksize: number; blocks: number;
  atimeMs: number; mtimeMs: number; ctimeMs: number; birthtimeMs: number;
  atime: Date; mtime: Date; ctime: Date; birthtime: Date;
  constructor(a: Attr, dev = 0) {
    super();
    this.dev = dev; this.ino = a.ino; this.mode = a.mode; this.nlink = a.nlink; this.uid = a.uid; this.gid = a.gid;
    this.rdev = a.rdev; this.size = a.size; this.blksize = a.blksize; this.blocks = a.blocks;
    this.atimeMs = nsToMs(a.atimeNs); this.mtimeMs = nsToMs(a.mtimeNs); this.ctimeMs = nsToMs(a.ctimeNs);
    this.birthtimeMs = this.ctimeMs;
    this.atime = new Date(this.atimeMs); this.mtime = new Date(this.mtimeMs); this.ctime = new Date(this.ctimeMs);
    this.birthtime = new Date(this.birthtimeMs);
  }
  protected typeBits(): number { return this.mode & S_IFMT; }
}

/** `stat(path, { bigint: true })`: every number a bigint, plus the *Ns fields. */
export class BigIntStats extends TypeTests {
  dev: bigint; ino: bigint; mode: bigint; nlink: bigint; uid: bigint; gid: bigint; rdev: bigint;
  size: bigint; blksize: bigint; blocks: bigint;
  atimeMs: bigint; mtimeMs: bigint; ctimeMs: bigint; birthtimeMs: bigint;
  atimeNs: bigint; mtimeNs: bigint; ctimeNs: bigint; birthtimeNs: bigint;
  atime: Date; mtime: Date; ctime: Date; birthtime: Date;
  constructor(a: Attr, dev = 0) {
    super();
    const b = BigInt;
    this.dev = b(dev); this.ino = b(a.ino); this.mode = b(a.mode); this.nlink = b(a.nlink); this.uid = b(a.uid);
    this.gid = b(a.gid); this.rdev = b(a.rdev); this.size = b(a.size); this.blksize = b(a.blksize); this.blocks = b(a.blocks);
    this.atimeNs = a.atimeNs; this.mtimeNs = a.mtimeNs; this.ctimeNs = a.ctimeNs; this.birthtimeNs = a.ctimeNs;
    this.atimeMs = a.atimeNs / 1_000_000n; this.mtimeMs = a.mtimeNs / 1_000_000n; this.ctimeMs = a.ctimeNs / 1_000_000n;
    this.birthtimeMs = this.ctimeMs;
    this.atime = new Date(Number(this.atimeMs)); this.mtime = new Date(Number(this.mtimeMs));
    this.ctime = new Date(Number(this.ctimeMs)); this.birthtime = new Date(Number(this.birthtimeMs));
  }
  protected typeBits(): number { return Number(this.mode) & S_IFMT; }
}

const DT_TO_MODE: Record<number, number> = {
  [DT_REG]: S_IFREG, [DT_DIR]: S_IFDIR, [DT_LNK]: S_IFLNK, [DT_FIFO]: S_IFIFO, [DT_SOCK]: S_IFSOCK, [DT_CHR]: S_IFCHR, [DT_BLK]: S_IFBLK,
};

export class Dirent extends TypeTests {
  constructor(readonly name: string, readonly parentPath: string, private readonly dt: number) { super(); }
  /** node 20 also calls it `path`. */
  get path(): string { return this.parentPath; }
  protected typeBits(): number { return DT_TO_MODE[this.dt] ?? 0; }
}

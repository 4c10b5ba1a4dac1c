// The ATIMES records (v3 minor 4) of a lazy mount's tail: kept as they were read (typed
// arrays of inos and times, a record each, with its place in the tail), never split per
// entry — a session that read a million files leaves a million entries, and a mount must
// not pay for them (docs/FORMAT.md §v3, Lazy mount). A node's atime is settled when its
// group is adopted: the entry of the latest ATIMES record holding its ino wins when that
// record comes after the last INODE record of the ino in the tail (a later INODE carries
// the whole inode); the compaction's records are all before the tail. This is what a full
// replay gives (apply.ts applies ATIMES in log order to the nodes that exist then).

import { atimesIno, checkAtimes, type AtimesRecord } from '../format/v3.js';

/** A record held: its place among the tail's records, its byte in the tail, its first and last ino (unchecked), null once found malformed. */
interface Held { seq: number; at: number; r: AtimesRecord | null; lo: number; hi: number }

/** Told of an ATIMES record whose inos do not check (its byte in the tail, entries, why): its atimes are not used. */
export type AtimesBad = (at: number, n: number, why: string) => void;

export class TailAtimes {
  private readonly held: Held[] = [];
  /** Per ino with an INODE record in the tail: the place of its last one. */
  private readonly inodes = new Map<number, number>();

  get size(): number { return this.held.length; }

  /** An ATIMES record read at place `seq` of the tail, byte `at` (places ascending); its inos are checked on first use. */
  add(seq: number, at: number, r: AtimesRecord): void {
    this.held.push({ seq, at, r, lo: atimesIno(r, 0), hi: atimesIno(r, r.n - 1) });
  }

  /** An INODE record of `ino` at place `seq` of the tail (places ascending: the last one stays). */
  inode(ino: number, seq: number): void { this.inodes.set(ino, seq); }

  /**
   * What settles the atimes of a group's nodes, whose inos lie in [lo, hi]: only the records
   * whose inos meet that range are searched (a read-all session's records are ranges of inos).
   */
  within(lo: number, hi: number, bad: AtimesBad): (ino: number) => bigint | undefined {
    // A record is checked when a lookup first may use it (a malformed one, which a full replay skips as damage, is then dropped).
    const some = this.held.filter((h) => h.r !== null && h.hi >= lo && h.lo <= hi && this.checked(h, bad));
    if (some.length === 0) return () => undefined;
    return (ino) => this.of(ino, some);
  }

  private checked(h: Held, bad: AtimesBad): boolean {
    const why = checkAtimes(h.r!);
    if (why === null) return true;
    bad(h.at, h.r!.n, why);
    h.r = null;
    return false;
  }

  private of(ino: number, held: readonly Held[]): bigint | undefined {
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i]!;
      if (ino < h.lo || ino > h.hi) continue;
      const k = indexOf(h.r!, ino);
      if (k < 0) continue;
      const inode = this.inodes.get(ino);
      return inode !== undefined && inode > h.seq ? undefined : h.r!.times[2 * k + 1]!;
    }
    return undefined;
  }
}

/** The entry of `ino` in the record (inos ascending), or -1. */
function indexOf(r: AtimesRecord, ino: number): number {
  let lo = 0, hi = r.n - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1, v = atimesIno(r, mid);
    if (v < ino) lo = mid + 1;
    else if (v > ino) hi = mid - 1;
    else return mid;
  }
  return -1;
}

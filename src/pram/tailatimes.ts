// The ATIMES records (v3 minor 4) of a lazy mount's tail: kept as they were read (typed
// arrays of inos and times, a record each, with its place in the tail), never split per
// entry — a session that read a million files leaves a million entries, and a mount must
// not pay for them (docs/FORMAT.md §v3, Lazy mount). A node's atime is settled when its
// group is adopted: the entry of the latest ATIMES record holding its ino wins when that
// record comes after the last INODE record of the ino in the tail (a later INODE carries
// the whole inode); the compaction's records are all before the tail. This is what a full
// replay gives (apply.ts applies ATIMES in log order to the nodes that exist then).
// An ATIMES_PAGES record (minor 6) is held the same way, its pages unread (the mount
// reserves them): a page is read and checked when a lookup's ino first falls in it.

import { atimesIno, atimesPageOf, checkAtimes, type AtimesPagesRecord, type AtimesRecord } from '../format/v3.js';
import { pageLoss, type PagesReader } from './atimespages.js';

/**
 * A record held: its place among the tail's records, its byte in the tail, its first and last ino (unchecked), its
 * entries (null once found malformed); an ATIMES_PAGES record's instead: `pages` (the record; null when dropped as
 * malformed) and each page's entries once read (null: damaged).
 */
interface Held { seq: number; at: number; r: AtimesRecord | null; lo: number; hi: number; pages: AtimesPagesRecord | null; fit: boolean; read: (AtimesRecord | null | undefined)[] }

/** Told of atimes not used (the record's byte in the tail, entries, what is wrong as "(TYPE) …"): a malformed record, or a page of one that failed its crc. */
export type AtimesBad = (at: number, n: number, what: string) => void;

export class TailAtimes {
  private readonly held: Held[] = [];
  /** Per ino with an INODE record in the tail: the place of its last one. */
  private readonly inodes = new Map<number, number>();

  get size(): number { return this.held.length; }

  /** An ATIMES record read at place `seq` of the tail, byte `at` (places ascending); its inos are checked on first use. */
  add(seq: number, at: number, r: AtimesRecord): void {
    this.held.push({ seq, at, r, lo: atimesIno(r, 0), hi: atimesIno(r, r.n - 1), pages: null, fit: false, read: [] });
  }

  /** An ATIMES_PAGES record read at place `seq`, byte `at`: each of its pages is read when a lookup first falls in it. */
  addPages(seq: number, at: number, p: AtimesPagesRecord): void {
    this.held.push({ seq, at, r: null, lo: p.lo, hi: p.hi, pages: p, fit: false, read: [] });
  }

  /** The ATIMES_PAGES records' pages as (pfn, count) runs: the log's, reserved by the mount with its own. */
  runs(): number[] {
    const out: number[] = [];
    for (const h of this.held) if (h.pages) out.push(...h.pages.runs);
    return out;
  }

  /** How many pages the ATIMES_PAGES records name (the mount's reserved count). */
  get pageCount(): number {
    let n = 0;
    for (const h of this.held) if (h.pages) n += h.pages.crcs.length;
    return n;
  }

  /** An INODE record of `ino` at place `seq` of the tail (places ascending: the last one stays). */
  inode(ino: number, seq: number): void { this.inodes.set(ino, seq); }

  /**
   * What settles the atimes of a group's nodes, whose inos lie in [lo, hi]: only the records
   * whose inos meet that range are searched (a read-all session's records are ranges of inos);
   * an ATIMES_PAGES record's page is read when a lookup first falls in it (`read`).
   */
  within(lo: number, hi: number, bad: AtimesBad, read: PagesReader): (ino: number) => bigint | undefined {
    // A record is checked when a lookup first may use it (a malformed one, which a full replay skips as damage, is then dropped).
    const some = this.held.filter((h) => h.hi >= lo && h.lo <= hi && (h.pages ? this.fits(h, bad, read) : this.checked(h, bad)));
    if (some.length === 0) return () => undefined;
    return (ino) => this.of(ino, some, bad, read);
  }

  /** An ATIMES_PAGES record's pages hold its entries (checked once; not: a loss of them all, as the replay's). */
  private fits(h: Held, bad: AtimesBad, read: PagesReader): boolean {
    if (!h.pages || h.fit) return h.pages !== null;
    const why = read.fit(h.pages);
    if (why === null) return (h.fit = true);
    bad(h.at, h.pages.n, `(ATIMES_PAGES) is malformed: ${why}`);
    h.pages = null;
    return false;
  }

  private checked(h: Held, bad: AtimesBad): boolean {
    if (h.r === null) return false;
    const why = checkAtimes(h.r);
    if (why === null) return true;
    bad(h.at, h.r.n, `(ATIMES) is malformed: ${why}`);
    h.r = null;
    return false;
  }

  /** Page j of an ATIMES_PAGES record, read and checked once (null: it failed: a loss of its entries' atimes). */
  private page(h: Held, j: number, bad: AtimesBad, read: PagesReader): AtimesRecord | null {
    let r = h.read[j];
    if (r !== undefined) return r;
    const got = read.page(h.pages!, j);
    if (typeof got === 'string') {
      const w = read.where(h.pages!, j);
      bad(h.at, w.n, pageLoss(w.pfn, got));
    }
    r = h.read[j] = typeof got === 'string' ? null : got;
    return r;
  }

  private of(ino: number, held: readonly Held[], bad: AtimesBad, read: PagesReader): bigint | undefined {
    for (let i = held.length - 1; i >= 0; i--) {
      const h = held[i]!;
      if (ino < h.lo || ino > h.hi) continue;
      const r = h.pages ? this.page(h, atimesPageOf(h.pages, ino), bad, read) : h.r!;
      const k = r ? indexOf(r, ino) : -1;
      if (k < 0) continue;
      const inode = this.inodes.get(ino);
      return inode !== undefined && inode > h.seq ? undefined : r!.times[2 * k + 1]!;
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

// A lazily booted log's pages by seq (lazyboot.ts), kept as the compaction's LOG
// runs (the pages before the index's) and the pages the boot walked (from the
// index's page on): the list of every page, which the writer appends to and a
// compaction frees, is made when first asked for, not at mount (a million files'
// log has ~61 000 pages: listing them in code not yet compiled cost ~2 ms). A
// read before then looks its few pages up by seq.

import type { LogCursor } from './log.js';

export class SeqPages {
  private list: number[] | null = null;
  /** The seq of each LOG run's first page, and past the last run's: made at the first lookup before the index's page. */
  private starts: Float64Array | null = null;
  private readonly count: number;

  /** `runs`: (pfn, count) pairs of the pages before seq0, in seq order; `after`: the pages from seq0 on. */
  constructor(private readonly runs: Float64Array, private readonly seq0: number, private readonly after: readonly number[]) {
    this.count = seq0 + after.length;
  }

  /** A list made already (a log read whole). */
  static listed(pages: number[]): SeqPages {
    const p = new SeqPages(new Float64Array(0), 0, pages);
    p.list = pages;
    return p;
  }

  /** The list is made (all() was called): lookups use it. */
  get made(): boolean { return this.list !== null; }
  /** Pages in all (the list's length once made: appends grow it). */
  get length(): number { return this.list ? this.list.length : this.count; }

  /** Every page in seq order, made at the first call and the same array after (the writer appends to it). */
  all(): number[] {
    if (this.list) return this.list;
    const pages = new Array<number>(this.count), runs = this.runs;
    let at = 0;
    for (let i = 0; i < runs.length; i += 2) {
      const start = runs[i]!, end = start + runs[i + 1]!;
      for (let pfn = start; pfn < end; pfn++) pages[at++] = pfn;
    }
    for (let i = 0; i < this.after.length; i++) pages[at++] = this.after[i]!;
    return this.list = pages;
  }

  /** The pfn of page `seq`, or undefined past the log. */
  at(seq: number): number | undefined {
    if (this.list) return this.list[seq];
    if (!(seq >= 0 && seq < this.count)) return undefined;
    if (seq >= this.seq0) return this.after[seq - this.seq0];
    const starts = this.starts ??= runStarts(this.runs);
    if (!(seq < starts[starts.length - 1]!)) return undefined;      // (no runs given yet: lazyboot.ts before the index)
    let lo = 0, hi = starts.length - 2;        // the run holding seq: starts[lo] <= seq < starts[lo + 1]
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid]! <= seq) lo = mid; else hi = mid - 1;
    }
    return this.runs[2 * lo]! + (seq - starts[lo]!);
  }

  /**
   * A list holding pages s0..s1 (and s1 + 1 when the log has it: a read checks s1's next pointer) at their seqs,
   * for the readers that take a list (stream.ts, groups.ts): the whole list when made, else one holding only
   * these (sparse past a few: a group's read touches tens of pages of ~61 000).
   */
  span(s0: number, s1: number): readonly number[] {
    if (this.list) return this.list;
    const out: number[] = [];
    const last = Math.min(s1 + 1, this.count - 1);   // (not made: count is the length)
    for (let s = Math.max(s0, 0); s <= last; s++) out[s] = this.at(s)!;
    return out;
  }
}

/** Seqs where each (pfn, count) run begins, and one past the last. */
function runStarts(runs: Float64Array): Float64Array {
  const starts = new Float64Array(runs.length / 2 + 1);
  for (let i = 0; i < runs.length / 2; i++) starts[i + 1] = starts[i]! + runs[2 * i + 1]!;
  return starts;
}

/** A lazily booted log's cursor: its page list made when the writer first asks for it (SeqPages.all). */
export class LazyCursor implements LogCursor {
  constructor(readonly logId: number, readonly log: SeqPages, public tailOff: number, public bytes: number) {}
  get pages(): number[] { return this.log.all(); }
}

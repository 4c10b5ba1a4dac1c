// Shared types of the engine: options, the result of the early-boot walk and
// the engine's statistics. The walk's entries are kept in typed arrays (an
// image of 4 GiB has a million entries; objects would cost ~100 MB).

import type { Loss, PageMap } from './image.js';

export type Log = (line: string) => void;

/** A run saved as one EXTENT entry: its checksum covers all its pages. */
export interface Run { count: number; csum: number }

export interface PramOptions {
  /** Save runs of contiguous pages as EXTENT entries (not readable by the RFC's loader). */
  extents?: boolean;
  /** Kernel log / console. */
  log?: Log;
  /** Page maps for loaded nodes (fs/ passes its page cache); default: a plain map. */
  newPageMap?: () => PageMap;
  /** Keep the image as a v3 log when the handoff can name one (default true); false: v2 chains. */
  live?: boolean;
  /** false: a v3 log names lone pages with a MAP each, never a SPAN (the minor-0 encoding; tests of the older reader's input). */
  spans?: boolean;
}

export interface ReserveOptions {
  /**
   * false (default, the RFC): the first invalid, corrupted or busy page drops the
   * whole image. true: keep what verifies, skip damaged link pages through the skip
   * pointer, report every skipped entry (the arena's mode).
   */
  salvage?: boolean;
  /** pfns below this hold the arena header and are never chain pages (default 1: pfn 0 never is). */
  firstPfn?: number;
  /**
   * The second link page, from a handoff that keeps it (arena slot extension 1):
   * salvage resumes there when the head link page is damaged, as the skip
   * pointer does for any later page. 0/absent: a damaged head ends the chain.
   */
  secondPfn?: number;
}

/** Why an entry was not reserved (0 = reserved). */
/**
 * Why an entry was not reserved (0 = reserved). Gap is no entry: a marker where
 * a damaged link page's entries (unknown) were, so load attributes nothing across it.
 */
export const enum EntryFault { None = 0, Invalid, Busy, Duplicate, BadExtent, Gap }

/** Entries of the walked chain, in chain order. */
export class EntryTable {
  length = 0;
  flags: Uint32Array; csum: Uint32Array; pfn: Float64Array; index: Float64Array;
  link: Float64Array;              // pfn of the link page holding the entry
  fault: Uint8Array;

  /** `limit`: the most entries there can be (a walk: the page count), the size of the one big growth. */
  constructor(capacity = 64, private readonly limit = Infinity) {
    const n = Math.max(16, capacity);
    this.flags = new Uint32Array(n); this.csum = new Uint32Array(n); this.pfn = new Float64Array(n);
    this.index = new Float64Array(n); this.link = new Float64Array(n); this.fault = new Uint8Array(n);
  }

  push(flags: number, csum: number, pfn: number, index: number, link: number, fault: EntryFault): void {
    if (this.length === this.flags.length) this.grow();
    const i = this.length++;
    this.flags[i] = flags; this.csum[i] = csum; this.pfn[i] = pfn;
    this.index[i] = index; this.link[i] = link; this.fault[i] = fault;
  }

  truncate(length: number): void { this.length = Math.min(this.length, length); }

  // Monomorphic copies (a generic helper made V8 copy element by element); x8, capped at the
  // limit, keeps the copies to one or two.
  private grow(): void {
    const n = Math.max(this.flags.length + 1, Math.min(this.flags.length * 8, this.limit));
    const flags = new Uint32Array(n); flags.set(this.flags); this.flags = flags;
    const csum = new Uint32Array(n); csum.set(this.csum); this.csum = csum;
    const pfn = new Float64Array(n); pfn.set(this.pfn); this.pfn = pfn;
    const index = new Float64Array(n); index.set(this.index); this.index = index;
    const link = new Float64Array(n); link.set(this.link); this.link = link;
    const fault = new Uint8Array(n); fault.set(this.fault); this.fault = fault;
  }
}

export interface ReserveResult {
  headPfn: number;      // the chain's head, 0 when there was none or it was dropped
  links: number[];      // link pages reserved, in chain order
  entries: EntryTable;  // every entry read from a reserved link page
  pages: number;        // pages reserved (links + entry pages)
  losses: Loss[];       // damaged links and entries (salvage) or the drop (RFC)
  error: number;        // 0, or -errno when the image was dropped
  salvage: boolean;
  firstPfn: number;
}

export interface PramStats {
  generation: number;
  headPfn: number;
  linkPages: number;      // of the committed checkpoint
  metaPages: number;      // META/NODE/NAME/XATTR pages of the committed checkpoint
  dataPages: number;      // data pages referenced by the committed checkpoint
  copiedPages: number;    // data pages written for the committed checkpoint: banned pages copied, inline bytes
  entries: number;
  deferredFrees: number;  // pages released while frozen, freed at the next commit
  unverified: number;     // lazy: data pages the fs holds not yet verified (not those released or replaced by a write)
  losses: Loss[];         // found after load (lazy verification failures)
}

// Shared types of the engine: options, the result of the early-boot walk and
// the engine's statistics. The walk's entries are kept in typed arrays (an
// image of 4 GiB has a million entries; objects would cost ~100 MB).

import type { Loss, PageMap } from './image.js';

export type Log = (line: string) => void;

export interface PramOptions {
  /** Save runs of contiguous pages as EXTENT entries (not readable by the RFC's loader). */
  extents?: boolean;
  /** Kernel log / console. */
  log?: Log;
  /** Page maps for loaded nodes (fs/ passes its page cache); default: a plain map. */
  newPageMap?: () => PageMap;
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
}

/** Why an entry was not reserved (0 = reserved). */
export const enum EntryFault { None = 0, Invalid, Busy, Duplicate, BadExtent }

/** Entries of the walked chain, in chain order. */
export class EntryTable {
  length = 0;
  flags: Uint32Array; csum: Uint32Array; pfn: Float64Array; index: Float64Array;
  link: Float64Array;              // pfn of the link page holding the entry
  fault: Uint8Array;

  constructor(capacity = 64) {
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

  private grow(): void {
    const n = this.flags.length * 2;
    const g = <T extends Uint32Array | Float64Array | Uint8Array>(a: T, C: new (n: number) => T): T => {
      const b = new C(n); b.set(a); return b;
    };
    this.flags = g(this.flags, Uint32Array); this.csum = g(this.csum, Uint32Array);
    this.pfn = g(this.pfn, Float64Array); this.index = g(this.index, Float64Array);
    this.link = g(this.link, Float64Array); this.fault = g(this.fault, Uint8Array);
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
  copiedPages: number;    // banned data pages copied for the committed checkpoint
  entries: number;
  deferredFrees: number;  // pages released while frozen, freed at the next commit
  unverified: number;     // lazy: data pages not yet verified
  losses: Loss[];         // found after load (lazy verification failures)
}

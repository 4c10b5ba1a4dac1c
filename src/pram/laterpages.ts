// A large file's page map adopted on first use (a lazy mount's group load): a
// directory holding files of gigabytes would otherwise cost its load every
// page's flags and crc copied into the frames and every run set in a page map
// (tens of milliseconds at 12 GiB) for files nobody opens. The group's load
// decides the file is whole (its records hold as many pages as its INODE
// says, none poisoned) and keeps what adopting needs; the pages stay
// reserved meanwhile and nothing else may take or read them (no other file
// maps them). fs/ builds the map when it first needs the pages (a read, a
// write, a truncate, an unlink that frees them, a commit that writes them).

import type { PageMap } from './image.js';

/** What a later map does when built: adopt its pages into a fresh map (adopt.ts), then tell the engine (ahead.ts's sums). */
export type AdoptLater = () => PageMap;

export class LaterPageMap implements PageMap {
  private map: PageMap | null = null;
  private adopt: AdoptLater | null;

  constructor(private readonly pages: number, adopt: AdoptLater, private readonly onBuilt: ((pages: PageMap) => void) | null) {
    this.adopt = adopt;
  }

  /** Built already (its pages adopted): asking whether costs nothing. */
  get isBuilt(): boolean { return this.map !== null; }

  /** The adopted map (adopted now, once). */
  build(): PageMap {
    if (this.map) return this.map;
    const adopt = this.adopt!;
    this.adopt = null;
    this.map = adopt();
    this.onBuilt?.(this.map);
    return this.map;
  }

  /** Pages present: known without adopting (the INODE record's count, checked at the group's load). */
  get count(): number { return this.map ? this.map.count : this.pages; }

  get(index: number): number { return this.build().get(index); }
  set(index: number, pfn: number): void { this.build().set(index, pfn); }
  setRun(index: number, pfn: number, count: number): void {
    const m = this.build();
    if (m.setRun) m.setRun(index, pfn, count);
    else for (let k = 0; k < count; k++) m.set(index + k, pfn + k);
  }
  delete(index: number): void { this.build().delete(index); }
  entries(): IterableIterator<[index: number, pfn: number]> { return this.build().entries(); }
}

/** A map that is a later one not built yet: a caller that only counts or names files leaves it so. */
export function unbuilt(pages: PageMap): pages is LaterPageMap {
  return pages instanceof LaterPageMap && !pages.isBuilt;
}

/**
 * A lazy mount's files kept for adoption on first use, not adopted yet (the engine's count and pages of them,
 * still to verify), in the order their groups made them: adoptUntil takes them from `next` on.
 */
export class LaterFiles {
  files = 0;
  pages = 0;
  private pending: LaterPageMap[] = [];
  private next = 0;

  made(map: LaterPageMap): void { this.files++; this.pages += map.count; this.pending.push(map); }

  /** One was adopted (LaterPageMap's onBuilt: its first use, or adoptUntil). */
  built(pages: PageMap): void {
    this.files--;
    this.pages -= pages.count;
    if (this.files === 0) { this.pending = []; this.next = 0; }
  }

  /** The waiting files adopted in order, one at least, until `until` (performance.now()); true: some still wait. */
  adoptUntil(until: number): boolean {
    while (this.next < this.pending.length) {
      const map = this.pending[this.next++]!;
      if (map.isBuilt) continue;
      map.build();
      if (performance.now() >= until) break;
    }
    return this.files > 0;
  }
}

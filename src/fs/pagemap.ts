// The page cache of one file: file index (in pages) -> pfn, as a two-level
// radix. The top level is a sparse map of chunks, each chunk a Uint32Array of
// CHUNK_PAGES pfns, so a huge sparse file costs only the chunks it touches.
// pfn 0 is never a data page (it is the arena header / a reserved page), so 0
// marks a hole. A file whose pages 0..n-1 lie at consecutive pfns (most files
// loaded or written front to back) is kept as just (first pfn, length). A chunk starts small and doubles up to CHUNK_PAGES as higher
// slots are used, so thousands of small files do not cost 4 KiB of map each. What the pages hold and how they persist is the engine's
// business; this file only keeps the numbers.
import type { PageMap } from '../pram/image.js';
import { assert } from '../format/assert.js';

export const CHUNK_SHIFT = 10;
export const CHUNK_PAGES = 1 << CHUNK_SHIFT;
const CHUNK_MASK = CHUNK_PAGES - 1;
const CHUNK_FIRST = 8;

interface Chunk { pfns: Uint32Array; count: number }

/** The next power of two from `size` that holds `slot`. */
function grown(size: number, slot: number): number {
  let n = size;
  while (n <= slot) n *= 2;
  return Math.min(n, CHUNK_PAGES);
}

export class RadixPageMap implements PageMap {
  // Compact form: pages 0..runLen-1 at pfns runPfn..runPfn+runLen-1, no arrays at all. A loaded
  // small file and most files written front to back stay in it; anything else converts to chunks.
  private runPfn = 0;
  private runLen = 0;
  private radix = false;
  // Chunk 0 lives in a field: most files fit it, and a mount makes one map per file.
  private c0: Chunk | null = null;
  private more: Map<number, Chunk> | null = null;   // chunks past the first, made when needed
  private sortedKeys: number[] | null = null;
  private present = 0;
  // Runs a load set past every page so far (setRun with no hook): [pages, end index, then (index, pfn, count) per run],
  // the chunks filled when a call first needs them (settle). A load then costs a run, not a page: a GiB file
  // written at random holds 262 144 slots, tens of milliseconds to fill in code not yet compiled, at mount.
  private later: number[] | null = null;

  /**
   * Told of every index set or removed, with `owner` (fs/changes.ts: the next commit logs its
   * group): one hook shared by every map of a mount, not a closure per file.
   */
  onChange: ((owner: number, index: number) => void) | null = null;
  owner = 0;

  get count(): number { return (this.radix ? this.present : this.runLen) + (this.later?.[0] ?? 0); }

  /** The runs the load left pending, in the chunks (each call but setRun and count first does this). */
  private settle(): void {
    const later = this.later!;
    this.later = null;
    this.toRadix();
    for (let k = 2; k < later.length; k += 3) this.fill(later[k]!, later[k + 1]!, later[k + 2]!);
  }

  /**
   * f(index, pfn, count) for each stretch of consecutive pfns, ascending (the pages of a load still pending
   * stay so: a mount's checking thread takes a group's runs without the chunks being filled).
   */
  eachRun(f: (index: number, pfn: number, count: number) => void): void {
    if (!this.radix) {
      if (this.runLen > 0) f(0, this.runPfn, this.runLen);
      const later = this.later ?? [];
      for (let k = 2; k < later.length; k += 3) f(later[k]!, later[k + 1]!, later[k + 2]!);
      return;
    }
    for (let i = this.nextData(0); i >= 0;) {
      const n = this.run(i, 2 ** 31);
      f(i, this.get(i), n);
      i = this.nextData(i + n);
    }
  }

  private chunk(key: number): Chunk | undefined {
    return key === 0 ? this.c0 ?? undefined : this.more?.get(key);
  }

  get(index: number): number {
    if (this.later) return this.pendingGet(index);
    if (!this.radix) return index >= 0 && index < this.runLen && Number.isInteger(index) ? this.runPfn + index : 0;
    const c = index < CHUNK_PAGES ? this.c0 : this.more?.get(Math.floor(index / CHUNK_PAGES));
    return c ? c.pfns[index & CHUNK_MASK] ?? 0 : 0;
  }

  /**
   * Pages from `index` (at most `max`, >= 1) that continue its kind: at
   * consecutive pfns after get(index) when it is present, holes when it is not.
   * The read path's run finder: O(1) in the compact form, a typed-array scan otherwise.
   */
  run(index: number, max: number): number {
    if (this.later) return this.pendingRun(index, max);
    if (!this.radix) {
      if (index < this.runLen) return Math.min(max, this.runLen - index);
      return max;
    }
    const first = this.get(index);
    let n = 1;
    while (n < max) {
      const i = index + n;
      const base = i - (i & CHUNK_MASK);
      const c = i < CHUNK_PAGES ? this.c0 : this.more?.get(base / CHUNK_PAGES);
      let slot = i & CHUNK_MASK;
      if (!c || slot >= c.pfns.length) {
        // No chunk, or past its allocated slots: holes up to the next chunk.
        if (first !== 0) break;
        n = Math.min(max, base + CHUNK_PAGES - index);
        continue;
      }
      const pfns = c.pfns;
      const end = Math.min(pfns.length, index + max - base);
      if (first === 0) while (slot < end && pfns[slot] === 0) slot++;
      else while (slot < end && pfns[slot] === first + base + slot - index) slot++;
      n = base + slot - index;
      if (slot < end) break;
    }
    return n;
  }

  // A look-up leaves a load's pending runs as they are: filling a 1 GiB file's 262 144 slots at its first get()
  // was ~16 ms in one call (a compaction slice's first group of the file, or its first read). Pending, the map is
  // the compact run [0, runLen) and, past it, the runs ascending and apart (setRun keeps them so).

  /** The pending run holding `index`, or the first after it: its place in `later` (later.length when none). */
  private pendingAt(index: number): number {
    const later = this.later!;
    let lo = 0, hi = (later.length - 2) / 3;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1, k = 2 + 3 * mid;
      if (later[k]! + later[k + 2]! <= index) lo = mid + 1; else hi = mid;
    }
    return 2 + 3 * lo;
  }

  /** get() with a load's runs pending. */
  private pendingGet(index: number): number {
    if (!(index >= 0 && Number.isInteger(index))) return 0;
    if (index < this.runLen) return this.runPfn + index;
    const later = this.later!, k = this.pendingAt(index);
    return k < later.length && index >= later[k]! ? later[k + 1]! + index - later[k]! : 0;
  }

  /** run() with a load's runs pending: as far as the compact run or the pending run holding `index` goes, or the hole before the next. */
  private pendingRun(index: number, max: number): number {
    if (index < this.runLen) return Math.min(max, this.runLen - index);
    const later = this.later!, k = this.pendingAt(index);
    if (k >= later.length) return max;
    if (index >= later[k]!) return Math.min(max, later[k]! + later[k + 2]! - index);
    return Math.min(max, later[k]! - index);
  }

  /** Leave the compact form: the run becomes chunk slots. */
  private toRadix(): void {
    if (this.radix) return;
    this.radix = true;
    const pfn = this.runPfn, len = this.runLen;
    this.runLen = 0;
    this.present = 0;
    if (len > 0) this.fill(0, pfn, len);
  }

  /** The chunk holding `index`, grown so its slot exists. */
  private slotChunk(index: number): Chunk {
    const key = Math.floor(index / CHUNK_PAGES);
    let c = this.chunk(key);
    const slot = index & CHUNK_MASK;
    if (!c) {
      c = { pfns: new Uint32Array(grown(CHUNK_FIRST, slot)), count: 0 };
      if (key === 0) this.c0 = c; else (this.more ??= new Map()).set(key, c);
      this.sortedKeys = null;
    } else if (slot >= c.pfns.length) {
      const pfns = new Uint32Array(grown(c.pfns.length, slot));
      pfns.set(c.pfns);
      c.pfns = pfns;
    }
    return c;
  }

  set(index: number, pfn: number): void {
    // Hot path: the message is only built when the check fails.
    if (!(Number.isSafeInteger(index) && index >= 0 && pfn > 0 && pfn <= 0xffffffff && Number.isInteger(pfn))) {
      assert(false, `page ${index} -> pfn ${pfn}: index a non-negative integer, pfn in 1..2^32-1`);
    }
    this.onChange?.(this.owner, index);
    if (this.later) this.settle();
    if (!this.radix) {
      if (index === this.runLen && (index === 0 || pfn === this.runPfn + index)) {
        if (index === 0) this.runPfn = pfn;
        this.runLen++;
        return;
      }
      if (index < this.runLen && pfn === this.runPfn + index) return;
      this.toRadix();
    }
    const c = this.slotChunk(index);
    const slot = index & CHUNK_MASK;
    if (c.pfns[slot] === 0) { c.count++; this.present++; }
    c.pfns[slot] = pfn;
  }

  /** Pages index..index+count-1 -> pfn..pfn+count-1 (a loaded run: one call, not one per page). */
  setRun(index: number, pfn: number, count: number): void {
    if (!(Number.isSafeInteger(index) && index >= 0 && Number.isSafeInteger(count) && count > 0 && pfn > 0 && pfn + count - 1 <= 0xffffffff && Number.isInteger(pfn))) {
      assert(false, `pages ${index}+${count} -> pfn ${pfn}: a run of valid pages`);
    }
    if (this.onChange) for (let i = index; i < index + count; i++) this.onChange(this.owner, i);
    if (!this.radix && !this.later && index === this.runLen && (index === 0 || pfn === this.runPfn + index)) {
      if (index === 0) this.runPfn = pfn;
      this.runLen += count;
      return;
    }
    // A load's run past every page so far: kept as a run (no hook: nothing watches a map being loaded).
    if (!this.radix && !this.onChange && index >= (this.later?.[1] ?? this.runLen)) {
      const later = (this.later ??= [0, 0]), last = later.length - 3;
      if (last >= 2 && later[last]! + later[last + 2]! === index && later[last + 1]! + later[last + 2]! === pfn) later[last + 2]! += count;
      else later.push(index, pfn, count);
      later[0]! += count;
      later[1] = index + count;
      return;
    }
    if (this.later) this.settle();
    this.toRadix();
    this.fill(index, pfn, count);
  }

  private fill(index: number, pfn: number, count: number): void {
    let i = index, p = pfn;
    const end = index + count;
    while (i < end) {
      const c = this.slotChunk(Math.min(end - 1, (Math.floor(i / CHUNK_PAGES) + 1) * CHUNK_PAGES - 1));
      const slotEnd = Math.min(end - Math.floor(i / CHUNK_PAGES) * CHUNK_PAGES, CHUNK_PAGES);
      for (let slot = i & CHUNK_MASK; slot < slotEnd; slot++, i++, p++) {
        if (c.pfns[slot] === 0) { c.count++; this.present++; }
        c.pfns[slot] = p;
      }
    }
  }

  delete(index: number): void {
    this.onChange?.(this.owner, index);
    if (this.later) this.settle();
    if (!this.radix) {
      if (!(index >= 0 && index < this.runLen && Number.isInteger(index))) return;
      if (index === this.runLen - 1) { this.runLen--; return; }   // truncation from the end stays compact
      this.toRadix();
    }
    const key = Math.floor(index / CHUNK_PAGES);
    const c = this.chunk(key);
    if (!c) return;
    const slot = index & CHUNK_MASK;
    if (slot >= c.pfns.length || c.pfns[slot] === 0) return;
    c.pfns[slot] = 0;
    c.count--;
    this.present--;
    if (c.count === 0) {
      if (key === 0) this.c0 = null; else this.more!.delete(key);
      this.sortedKeys = null;
    }
  }

  /** Ascending by index. Safe against deletion of the entry just yielded. */
  *entries(): IterableIterator<[index: number, pfn: number]> {
    yield* this.from(0);
  }

  /** Present pages with index >= from, ascending (for truncate and SEEK_DATA). Safe against deletion of the entry just yielded. */
  *from(from: number): IterableIterator<[index: number, pfn: number]> {
    if (this.later) this.settle();
    if (!this.radix) {
      const pfn = this.runPfn;
      // A snapshot of the run: deleting while iterating (truncate) must not skip or repeat pages.
      for (let i = Math.max(0, Math.ceil(from)), len = this.runLen; i < len; i++) yield [i, pfn + i];
      return;
    }
    const first = Math.floor(from / CHUNK_PAGES);
    for (const key of this.keys()) {
      if (key < first) continue;
      const c = this.chunk(key);
      if (!c) continue;
      const base = key * CHUNK_PAGES;
      for (let i = key === first ? from & CHUNK_MASK : 0; i < c.pfns.length; i++) {
        const pfn = c.pfns[i]!;
        if (pfn !== 0) yield [base + i, pfn];
      }
    }
  }

  /** First present index >= from, or -1. */
  nextData(from: number): number {
    if (this.later) this.settle();
    if (!this.radix) return from < this.runLen ? Math.max(0, from) : -1;
    for (const [index] of this.from(from)) return index;
    return -1;
  }

  /** First hole index >= from (there always is one: the radix is finite). */
  nextHole(from: number): number {
    if (this.later) this.settle();
    if (!this.radix) return from < this.runLen ? this.runLen : from;
    let index = from;
    for (;;) {
      const c = this.chunk(Math.floor(index / CHUNK_PAGES));
      if (!c) return index;
      if (c.count === CHUNK_PAGES) { index = (Math.floor(index / CHUNK_PAGES) + 1) * CHUNK_PAGES; continue; }
      for (let i = index & CHUNK_MASK; i < c.pfns.length; i++, index++) if (c.pfns[i] === 0) return index;
      if (index % CHUNK_PAGES !== 0) return index; // past the chunk's allocated slots: a hole
    }
  }

  /** Highest present index, or -1. */
  lastIndex(): number {
    if (this.later) this.settle();
    if (!this.radix) return this.runLen - 1;
    const keys = this.keys();
    for (let k = keys.length - 1; k >= 0; k--) {
      const c = this.chunk(keys[k]!);
      if (!c) continue;
      for (let i = c.pfns.length - 1; i >= 0; i--) if (c.pfns[i] !== 0) return keys[k]! * CHUNK_PAGES + i;
    }
    return -1;
  }

  private keys(): number[] {
    if (!this.sortedKeys) {
      const keys = this.more ? [...this.more.keys()].sort((a, b) => a - b) : [];
      if (this.c0) keys.unshift(0);
      this.sortedKeys = keys;
    }
    return this.sortedKeys;
  }
}

/**
 * A read-only view of the pages below `limit`: what a checkpoint saves of a
 * file with pages preallocated past its end (fallocate KEEP_SIZE). The image
 * model knows no such pages, so the preallocation lasts only while mounted.
 */
export class PageMapPrefix implements PageMap {
  constructor(private readonly inner: RadixPageMap, private readonly limit: number) {}
  get(index: number): number { return index < this.limit ? this.inner.get(index) : 0; }
  set(): void { assert(false, 'a saved page map prefix is read-only'); }
  delete(): void { assert(false, 'a saved page map prefix is read-only'); }
  get count(): number { let n = 0; for (const _ of this.entries()) n++; return n; }
  *entries(): IterableIterator<[index: number, pfn: number]> {
    for (const e of this.inner.entries()) { if (e[0] >= this.limit) return; yield e; }
  }
}

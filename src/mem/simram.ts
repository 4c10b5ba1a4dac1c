// The RAM of the simulated machine: pages in plain Node buffers, with the holes
// of a firmware memory map. Survives "reboots" of the simulation simply by being
// the same object; what survives a real restart is the Arena's business.

import type { PhysMem } from './physmem.js';

export interface SimRamOptions {
  pageSize: number;
  pageCount: number;
  /** Firmware holes, pfns inclusive; pages there are absent. */
  holes?: { start: number; end: number }[];
  /** Largest single buffer in bytes (tests use small values); default 1 GiB. */
  maxSegmentBytes?: number;
}

const DEFAULT_SEGMENT = 1 << 30;

export class SimRam implements PhysMem {
  readonly pageSize: number;
  readonly pageCount: number;
  /** The holes, sorted and merged, clipped to memory. */
  readonly holes: readonly { start: number; end: number }[];
  private readonly segments: Buffer[];
  private readonly pagesPerSegment: number;
  private closed = false;

  constructor(opts: SimRamOptions) {
    const { pageSize, pageCount } = opts;
    if (!Number.isInteger(pageSize) || pageSize < 1024 || (pageSize & (pageSize - 1)) !== 0) {
      throw new RangeError(`page size ${pageSize} is not a power of two >= 1024`);
    }
    if (!Number.isSafeInteger(pageCount) || pageCount < 1) {
      throw new RangeError(`page count ${pageCount} must be a positive integer`);
    }
    this.pageSize = pageSize;
    this.pageCount = pageCount;
    this.holes = normaliseHoles(opts.holes ?? [], pageCount);
    const segBytes = opts.maxSegmentBytes ?? DEFAULT_SEGMENT;
    this.pagesPerSegment = Math.max(1, Math.floor(segBytes / pageSize));
    this.segments = [];
    for (let first = 0; first < pageCount; first += this.pagesPerSegment) {
      const n = Math.min(this.pagesPerSegment, pageCount - first);
      this.segments.push(Buffer.alloc(n * pageSize));
    }
  }

  present(pfn: number): boolean {
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.pageCount) return false;
    return this.holeAt(pfn) < 0;
  }

  page(pfn: number): Buffer {
    this.checkOpen();
    if (!Number.isInteger(pfn) || pfn < 0 || pfn >= this.pageCount) {
      throw new RangeError(`pfn ${pfn} is outside memory (0..${this.pageCount - 1})`);
    }
    if (this.holeAt(pfn) >= 0) throw new RangeError(`pfn ${pfn} is in a memory hole`);
    const seg = this.segments[Math.floor(pfn / this.pagesPerSegment)]!;
    const off = (pfn % this.pagesPerSegment) * this.pageSize;
    return seg.subarray(off, off + this.pageSize);
  }

  run(pfn: number, count: number): Buffer | null {
    this.checkOpen();
    if (!Number.isInteger(pfn) || !Number.isInteger(count) || count < 1) return null;
    if (pfn < 0 || pfn + count > this.pageCount) return null;
    const segIdx = Math.floor(pfn / this.pagesPerSegment);
    if (Math.floor((pfn + count - 1) / this.pagesPerSegment) !== segIdx) return null;
    for (const h of this.holes) if (h.start < pfn + count && h.end >= pfn) return null;
    const off = (pfn % this.pagesPerSegment) * this.pageSize;
    return this.segments[segIdx]!.subarray(off, off + count * this.pageSize);
  }

  sync(): void {
    // Simulated RAM has no backing store to flush.
  }

  close(): void {
    this.closed = true;
  }

  private holeAt(pfn: number): number {
    for (let i = 0; i < this.holes.length; i++) {
      const h = this.holes[i]!;
      if (pfn < h.start) return -1;
      if (pfn <= h.end) return i;
    }
    return -1;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error('SimRam used after close()');
  }
}

function normaliseHoles(holes: { start: number; end: number }[], pageCount: number) {
  const sorted = holes
    .map((h) => {
      if (!Number.isInteger(h.start) || !Number.isInteger(h.end) || h.start < 0 || h.end < h.start) {
        throw new RangeError(`bad memory hole ${h.start}..${h.end}`);
      }
      return { start: h.start, end: Math.min(h.end, pageCount - 1) };
    })
    .filter((h) => h.start < pageCount)
    .sort((a, b) => a.start - b.start);
  const out: { start: number; end: number }[] = [];
  for (const h of sorted) {
    const last = out[out.length - 1];
    if (last && h.start <= last.end + 1) last.end = Math.max(last.end, h.end);
    else out.push({ ...h });
  }
  return out;
}

// Physical memory as pram sees it: pages numbered by pfn. An Arena maps a real
// file, device or memfd; SimRam is the RAM of the simulated machine. Everything
// above this layer addresses memory only through this interface.

export interface PhysMem {
  /** Bytes per page, a power of two >= 1024. */
  readonly pageSize: number;
  /** Pages in this memory: pfns are 0 .. pageCount - 1. */
  readonly pageCount: number;
  /** A view of one page (no copy). Throws RangeError for a pfn outside memory or in a hole. */
  page(pfn: number): Buffer;
  /** One view of `count` contiguous pages, or null when they cross a mapping segment or a hole. */
  run(pfn: number, count: number): Buffer | null;
  /**
   * An fd whose bytes at pfn × pageSize are page pfn, for pread: bulk checks (a
   * full mount) read it rather than fault every page into this process. Absent: none.
   */
  readonly preadFd?: number;
  /**
   * Reads of files' data (readDataAt, and the addon's checked reads of preadFd) copy out of a mapping whose page
   * tables a thread fills ahead of them: a page's check is summed as it is copied (native/mapread.c). Absent: preads.
   */
  readonly readsMapped?: boolean;
  /**
   * Copies bytes in (writeAt) or out (readAt) at byte `pos` (pfn × pageSize +
   * offset) through preadFd, without the page()/run() views: true when done,
   * false when the caller must use page()/run(). Absent: always the views.
   */
  writeAt?(pos: number, src: Uint8Array, at: number, len: number): boolean;
  readAt?(pos: number, target: Uint8Array, at: number, len: number): boolean;
  /** readAt for a file's data: out of the reads' mapping where there is one (readsMapped), its large reads in order steering the thread that fills it. */
  readDataAt?(pos: number, target: Uint8Array, at: number, len: number): boolean;
  /** writeAt on a pool thread: `done(true)` once every byte is written, `done(false)` if not; never called synchronously. False: cannot (nothing queued). */
  writeAtLater?(pos: number, src: Uint8Array, at: number, len: number, done: (ok: boolean) => void): boolean;
  /** The holes of a (simulated) firmware memory map, pfns inclusive, sorted; absent or empty: none. */
  readonly holes?: readonly { start: number; end: number }[];
  /** False for pfns in a hole of a (simulated) firmware memory map. */
  present(pfn: number): boolean;
  /** Make every write visible to the next owner (msync MS_SYNC); a no-op for SimRam. */
  sync(): void;
  /** Unmap; the object must not be used afterwards. */
  close(): void;
}

let scratch = new Uint8Array(0);

/**
 * Page `pfn`'s bytes to read: a copy read through the fd when the memory has one, else the mapping's page.
 * A mount reads the header and the log's head this way: mapping a page maps its segment (16 MiB), and young
 * mappings with the page tables (6 bytes a page: 20 MB at 13 GiB) past 32 MB make V8 run a young GC at every
 * typed array made until they are old (several ms of a lazy mount).
 */
export function readPage(mem: PhysMem, pfn: number): Buffer {
  const b = Buffer.allocUnsafe(mem.pageSize);
  return mem.readAt?.(pfn * mem.pageSize, b, 0, b.length) ? b : mem.page(pfn);
}

/** A file's data copied out (readDataAt, else readAt): false when the caller must use page()/run(). */
export function readData(mem: PhysMem, pos: number, target: Uint8Array, at: number, len: number): boolean {
  return mem.readDataAt ? mem.readDataAt(pos, target, at, len) : mem.readAt ? mem.readAt(pos, target, at, len) : false;
}

/** Copies page `from` over page `to`: through the fd when the memory has one (no page mapped into the process), else the mapping. */
export function copyPage(mem: PhysMem, from: number, to: number): void {
  const ps = mem.pageSize;
  if (scratch.length < ps) scratch = new Uint8Array(ps);
  if (mem.readAt?.(from * ps, scratch, 0, ps) && mem.writeAt?.(to * ps, scratch, 0, ps)) return;
  mem.page(to).set(mem.page(from));
}

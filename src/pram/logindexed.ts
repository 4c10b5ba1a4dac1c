// The pages of a v3 log as its own index names them (minor 3, docs/FORMAT.md §v3): LOCATE (the
// head page's first record) gives the index's page; the pages from it on chain to the end of
// the RUNS records, each header checked; the RUNS LOG records list every page before it. A full
// replay's walk (logwalk.ts) asks for this only when a page's next pointer leads nowhere it can
// use: the page the pointer should have named is then known exactly, from records each checked
// by its crc -- a page the compaction wrote, which no later commit writes again.
import type { PhysMem } from '../mem/physmem.js';
import type { SlotLog } from '../format/header.js';
import { decodePayload, framedCrc, LOCATE_BYTES, LOCATE_SIZE, LOG_HEADER, logPayload, RECORD_HEADER, RecordType } from '../format/v3.js';
import { readIndex } from './groups.js';
import { walkLog } from './stream.js';

/**
 * Log pages by seq as the index names them (a page the index does not reach is undefined), or null: no index a reader
 * may trust (none, of before minor 3, or a LOCATE that does not check). When the INDEX or RUNS records or a page header
 * from the index's page on do not check, LOCATE alone (its crc and log id checked) still names the index's page.
 */
export function indexedPages(mem: PhysMem, slot: { headPfn: number; log: SlotLog }, logId: number): (number | undefined)[] | null {
  const head = slot.headPfn, per = logPayload(mem.pageSize), total = slot.log.logPages;
  const bytes = (total - 1) * per + slot.log.tailOff - LOG_HEADER;
  if (logId < 0 || bytes < LOCATE_BYTES) return null;
  // LOCATE lies in the head page, 80 bytes from the stream's start (readIndex checks its crc and generation).
  const b = mem.page(head);
  if (b.readUInt16LE(LOG_HEADER + 4) !== RecordType.Locate) return null;
  const at = LOG_HEADER + RECORD_HEADER, locate = decodePayload(RecordType.Locate, b.subarray(at, at + LOCATE_SIZE));
  if (typeof locate === 'string' || locate.type !== RecordType.Locate || locate.r.runsBytes === 0) return null;
  const { indexPos, indexBytes, runsBytes, indexPfn } = locate.r, end = indexPos + indexBytes + runsBytes;
  const seq0 = Math.floor(indexPos / per), seq1 = Math.floor((end - 1) / per);
  if (end > bytes || seq1 >= total) return null;
  // LOCATE alone: the head and the index's page (its header checked by the walk as any page's).
  const located = (): (number | undefined)[] | null => {
    if (!locateChecks(b, logId)) return null;
    const pages: (number | undefined)[] = [head];
    pages[seq0] = indexPfn;
    return pages;
  };
  // The index's page on to the RUNS records' last: they are read through a sparse list (the head, then these).
  const after = walkLog(mem, indexPfn, seq0, seq1 + 1, logId);
  if (typeof after === 'string') return located();
  const pages: (number | undefined)[] = [head];
  after.forEach((pfn, i) => { pages[seq0 + i] = pfn; });
  const index = readIndex(mem, pages as number[], bytes, logId);
  if (typeof index === 'string' || !index.runs) return located();
  const log = index.runs.log, before: number[] = [];
  for (let i = 0; i < log.length; i += 2) for (let k = 0; k < log[i + 1]! && before.length <= seq0; k++) before.push(log[i]! + k);
  if (before.length !== seq0 || (seq0 > 0 && before[0] !== head)) return located();
  before.forEach((pfn, s) => { pages[s] = pfn; });
  return pages;
}

/** Whether the head page's first record is a whole LOCATE whose crc checks, of log `logId` (its generation, mod 2^32). */
function locateChecks(head: Buffer, logId: number): boolean {
  const at = LOG_HEADER;
  return head.readUInt32LE(at + 8) === LOCATE_SIZE && framedCrc(head, at, RecordType.Locate, LOCATE_SIZE) === head.readUInt32LE(at) &&
    head.readUInt32LE(at + 12) === logId % 2 ** 32;
}

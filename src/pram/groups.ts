// Reading a grouped compaction (docs/FORMAT.md §v3 minor 2) without replaying
// the rest of its log: the LOCATE record at the stream's start, the INDEX
// records it points to, and one directory's group at a time. Everything read
// is checked (each record's crc, the index's groups tiling the stream between
// LOCATE and the index, a group holding only its own directory's records); any
// mismatch is a string saying what, and the caller replays the whole log
// instead (nothing is lost by a damaged index: the records it points to are
// still in the log).

import type { PhysMem } from '../mem/physmem.js';
import { align8, decodeAtimesAt, decodeAtimesPagesAt, decodeIndex, decodeInodeAt, decodeLocate, decodeMapInto, decodeNameAt, decodePayload, decodeRunsAt, framedCrc, INDEX_ENTRY, INDEX_FIXED,
  LOCATE_BYTES, LOCATE_SIZE, RECORD_HEADER, RECORD_PAYLOAD_MAX, RecordType, RUNS_FIXED, RunsKind, u32,
  type IndexEntry, type InodeRecord, type LocateRecord, type LogRecord, type MapRecord, type NameRecord } from '../format/v3.js';
import { S_IFDIR, S_IFMT } from '../format/mode.js';
import { streamBytes } from './stream.js';
import { framesChecked, offs, shrinkScratch } from './frames.js';
import { decodeSpan, decodeSpanWords } from './spans.js';

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

export { logPages, streamBytes } from './stream.js';

function atimesRecordAt(b: Buffer, at: number, length: number): LogRecord | string {
  const r = decodeAtimesAt(b, at, length, true);
  return typeof r === 'string' ? r : { type: RecordType.Atimes, r };
}

type Read = { type: number; generation: number; rec: LogRecord; at: number; total: number };

/** The record at byte `at` of b, crc checked and decoded, with its stream bytes; or what is wrong (its type when the header shows one). */
function recordAt(b: Buffer, at: number): Read | { why: string; type: number } {
  if (at + RECORD_HEADER > b.length) return { why: 'is cut by the end of its bytes', type: -1 };
  const type = b.readUInt16LE(at + 4), length = b.readUInt32LE(at + 8), generation = b.readUInt32LE(at + 12);
  const total = RECORD_HEADER + align8(length);
  if (length > RECORD_PAYLOAD_MAX || at + total > b.length) return { why: `claims ${length} bytes`, type };
  const crc = framedCrc(b, at, type, length);   // bytes 4..15 then the payload (a SPAN's: without its page crcs)
  if (crc !== b.readUInt32LE(at)) return { why: `failed crc32c (saved 0x${b.readUInt32LE(at).toString(16)}, computed 0x${crc.toString(16)})`, type };
  // An ATIMES record is viewed in place, its inos checked on first use (a tail of a million entries: tailatimes.ts).
  const rec = type === RecordType.Span ? decodeSpan(b, at + RECORD_HEADER, length)
    : type === RecordType.Atimes ? atimesRecordAt(b, at + RECORD_HEADER, length)
    : decodePayload(type, b.subarray(at + RECORD_HEADER, at + RECORD_HEADER + length));
  if (typeof rec === 'string') return { why: `is malformed: ${rec}`, type };
  return { type, generation, rec, at, total };
}

/**
 * The records in b (a whole number of them), each crc checked and decoded; or what is wrong. Every crc is summed
 * in one native call (a mount's tail of 10^4 records: framedCrc one by one was ms of cold JS); anything that does
 * not check is read again record by record, which says what (and marks a SPAN whose page crcs are damaged).
 */
export function recordsIn(b: Buffer, where: string): Read[] | string {
  return recordsChecked(b) ?? recordsOneByOne(b, where);
}

/** recordsIn's fast way: the records in b when every header, crc and payload checks, else null. */
function recordsChecked(b: Buffer): Read[] | null {
  const n = framesChecked(b, null);
  if (n === null) return null;
  const out: Read[] = new Array(n);
  for (let k = 0; k < n; k++) {
    const at = offs[k]!, type = (b[at + 4]! | b[at + 5]! << 8), length = u32(b, at + 8), p = at + RECORD_HEADER;
    const rec = decodedAt(b, type, p, length);
    if (typeof rec === 'string') return null;
    out[k] = { type, generation: u32(b, at + 12), rec, at, total: RECORD_HEADER + align8(length) };
  }
  shrinkScratch();
  return out;
}

/** The payload of a record whose crcs checked (a SPAN's page crcs too), decoded in place as decodePayload decodes it. */
export function decodedAt(b: Buffer, type: number, p: number, length: number): LogRecord | string {
  switch (type) {
    case RecordType.Inode: { const r = decodeInodeAt(b, p, length); return typeof r === 'string' ? r : { type, r }; }
    case RecordType.Name: { const r = decodeNameAt(b, p, length); return typeof r === 'string' ? r : { type, r }; }
    case RecordType.Map: { const r: MapRecord = { ino: 0, index: 0, pfn: 0, count: 0, csum: 0, flags: 0 }; return decodeMapInto(b, p, length, r) ?? { type, r }; }
    case RecordType.Span: return decodeSpan(b, p, length, false);
    case RecordType.Atimes: return atimesRecordAt(b, p, length);
    // (A tail's read-all session: decodePayload, a long function, compiled at mount for these alone cost ms.)
    case RecordType.AtimesPages: { const r = decodeAtimesPagesAt(b, p, length); return typeof r === 'string' ? r : { type, r }; }
    // Every lazy mount's LOCATE and INDEX (readIndex): decodePayload's own checks, without compiling it for them.
    case RecordType.Locate: {
      const r = length < LOCATE_SIZE ? `LOCATE payload of ${length} bytes, at least ${LOCATE_SIZE} expected` : decodeLocate(b.subarray(p, p + length));
      return typeof r === 'string' ? r : { type, r };
    }
    case RecordType.Index: {
      if (length < INDEX_FIXED) return `INDEX payload of ${length} bytes, at least ${INDEX_FIXED} expected`;
      const entries = decodeIndex(b.subarray(p, p + length));
      return typeof entries === 'string' ? entries : { type, entries };
    }
    default: return decodePayload(type, b.subarray(p, p + length));
  }
}

/** recordsIn record by record: the first record that does not check says what. */
function recordsOneByOne(b: Buffer, where: string): Read[] | string {
  const out: Read[] = [];
  for (let at = 0; at < b.length;) {
    const x = recordAt(b, at);
    if ('why' in x) return `${where}: the record at byte ${at} ${x.why}`;
    out.push(x);
    at += x.total;
  }
  return out;
}

/**
 * The records in b that check, as a replay reads them: a damaged one is reported (its byte,
 * why, its type) and reading resumes at the next 8-aligned byte where a whole record checks.
 */
export function recordsSalvaged(b: Buffer): { recs: Read[]; damage: { at: number; why: string; type: number }[] } {
  const recs: Read[] = [], damage: { at: number; why: string; type: number }[] = [];
  for (let at = 0; at < b.length;) {
    const x = recordAt(b, at);
    if (!('why' in x)) { recs.push(x); at += x.total; continue; }
    damage.push({ at, why: x.why, type: x.type });
    for (at += 8; at < b.length && 'why' in recordAt(b, at); at += 8) { /* resync */ }
  }
  return { recs, damage };
}

/**
 * A checked index: each directory's group, each linked node's home, (minor 3) each
 * linked node's other naming directories and the RUNS after the index (null before minor 3).
 */
export interface GroupIndex {
  locate: LocateRecord; entries: IndexEntry[]; dirs: Map<number, IndexEntry>; links: Map<number, number>;
  namedIn: Map<number, number[]>;
  runs: IndexRuns | null;
}

/**
 * What the RUNS records say (minor 3): the space model's totals, the data pages, the log's pages before the index's page,
 * and (HOMES) each grouped node's home as runs (first ino, count, home directory) ascending by ino (empty: not written).
 */
export interface IndexRuns { modelBytes: number; inline: number; data: Float64Array; log: Float64Array; homes: Float64Array }

/**
 * The index of the compaction that began the log (pages by seq; `bytes`: the
 * committed stream's length), checked; a string when there is none (a log
 * of before minor 2, or a compaction that fell back to a plain log for room) or it cannot be trusted.
 * `locateBytes`: the stream's first LOCATE_BYTES when the caller has read them (the lazy boot, from the head page).
 * `read`: where the index's and RUNS' stream bytes come from (the lazy boot: the pages its walk read); default streamBytes.
 */
export function readIndex(mem: PhysMem, pages: readonly number[], bytes: number, logId: number, locateBytes?: Buffer,
  read: (pos: number, n: number) => Buffer | null = (pos, n) => streamBytes(mem, pages, pos, n)): GroupIndex | string {
  if (bytes < LOCATE_BYTES) return 'no LOCATE record';
  const head = locateBytes?.length === LOCATE_BYTES ? locateBytes : streamBytes(mem, pages, 0, LOCATE_BYTES);
  if (!head || head.readUInt16LE(4) !== RecordType.Locate) return 'no LOCATE record (a log of before v3 minor 2, or written without its index for room)';
  const first = recordsIn(head, 'LOCATE');
  if (typeof first === 'string') return first;
  const locate = (first[0]!.rec as { r: LocateRecord }).r;
  if (first[0]!.generation !== (logId >>> 0)) return `LOCATE of generation ${first[0]!.generation}, not the log id ${logId}`;
  if (locate.indexBytes === 0 || locate.indexPos < LOCATE_BYTES || locate.indexPos + locate.indexBytes > bytes) return `LOCATE names an index at ${locate.indexPos}+${locate.indexBytes}, outside the stream of ${bytes} bytes`;
  if (locate.indexBytes !== locate.indexRecords * (RECORD_HEADER + INDEX_FIXED) + locate.entries * INDEX_ENTRY) return 'LOCATE: index bytes, records and entries disagree';
  const raw = read(locate.indexPos, locate.indexBytes);
  if (!raw) return 'the index is past the log pages';
  const recs = recordsIn(raw, 'INDEX');
  if (typeof recs === 'string') return recs;
  const entries: IndexEntry[] = [];
  for (const r of recs) {
    if (r.rec.type !== RecordType.Index || r.generation !== (logId >>> 0)) return 'a record among the INDEX records is not one of this compaction\'s';
    for (const e of r.rec.entries) entries.push(e);
  }
  if (entries.length !== locate.entries) return `the index holds ${entries.length} entries, LOCATE says ${locate.entries}`;
  const dirs = new Map<number, IndexEntry>(), links = new Map<number, number>(), namedIn = new Map<number, number[]>();
  let end = LOCATE_BYTES;
  for (const e of entries) {
    if (e.ino !== e.home && e.pos === 1) { const l = namedIn.get(e.ino); if (l) l.push(e.home); else namedIn.set(e.ino, [e.home]); continue; }
    if (e.ino !== e.home) { if (links.has(e.ino)) return `ino ${e.ino} has two homes`; links.set(e.ino, e.home); continue; }
    if (e.pos !== end || dirs.has(e.ino)) return `the group of directory ${e.ino} at ${e.pos} does not follow the one before (at ${end}), or is listed twice`;
    dirs.set(e.ino, e);
    end = e.pos + e.bytes;
  }
  if (end !== locate.indexPos) return `the groups end at ${end}, the index starts at ${locate.indexPos}`;
  for (const [ino, home] of links) if (!dirs.has(home)) return `ino ${ino}'s home ${home} has no group`;
  for (const [ino, list] of namedIn) if (!links.has(ino) || list.some((d) => !dirs.has(d))) return `ino ${ino} is named in a directory without a group, or has no home`;
  const runs = locate.runsBytes > 0 ? readRuns(read, locate, logId) : null;
  if (typeof runs === 'string') return runs;
  for (let i = 2; runs && i < runs.homes.length; i += 3) if (!dirs.has(runs.homes[i]!)) return `HOMES names directory ${runs.homes[i]}, which has no group`;
  return { locate, entries, dirs, links, namedIn, runs };
}

/** The RUNS records after the index (minor 3), checked: one TOTALS first, then LOG runs, then DATA runs ascending. */
function readRuns(read: (pos: number, n: number) => Buffer | null, l: LocateRecord, logId: number): IndexRuns | string {
  const raw = read(l.indexPos + l.indexBytes, l.runsBytes);
  if (!raw) return 'the RUNS records are past the log pages';
  const order = 'the RUNS records are not one TOTALS, then LOG, then DATA, of this compaction';
  // Every frame, generation and crc checked in one native call, each payload decoded in place (a million files'
  // index has ~130 RUNS records: an object and a view each cost a mount ~0.5 ms in code not yet compiled); when
  // anything fails, recordsIn reads them again one by one and says what.
  const n = framesChecked(raw, logId);
  if (n === null) { const recs = recordsIn(raw, 'RUNS'); return typeof recs === 'string' ? recs : order; }
  const data: number[] = [], log: number[] = [], homes: number[] = [];
  let totals: IndexRuns | null = null, kind = -1;
  for (let k = 0; k < n; k++) {
    const at = offs[k]!, length = u32(raw, at + 8);
    if ((raw[at + 4]! | raw[at + 5]! << 8) !== RecordType.Runs) return order;
    const r = length < RUNS_FIXED ? `RUNS payload of ${length} bytes, at least ${RUNS_FIXED} expected` : decodeRunsAt(raw, at + RECORD_HEADER, length);
    if (typeof r === 'string') return `RUNS: the record at byte ${at} is malformed: ${r}`;
    if (r.kind < kind) return order;
    if (r.kind === RunsKind.Totals) { if (totals) return 'two RUNS TOTALS'; totals = { modelBytes: r.a, inline: r.b, data: new Float64Array(0), log: new Float64Array(0), homes: new Float64Array(0) }; }
    if (r.kind === RunsKind.Homes) { for (let i = 0; i < r.runs.length; i += 2) homes.push(r.runs[i]!, r.runs[i + 1]!, r.a); kind = r.kind; continue; }
    const into = r.kind === RunsKind.Data ? data : log;
    for (const v of r.runs) into.push(v);
    kind = r.kind;
  }
  shrinkScratch();
  if (!totals) return 'no RUNS TOTALS';
  for (let i = 2; i < data.length; i += 2) if (data[i]! < data[i - 2]! + data[i - 1]!) return 'the DATA runs overlap or are not ascending';
  totals.data = Float64Array.from(data); totals.log = Float64Array.from(log);
  const h = sortedHomes(homes, l.maxIno);
  if (typeof h === 'string') return h;
  totals.homes = h;
  return totals;
}

/** HOMES runs (first, count, home triples) sorted by first ino, checked: none overlapping, none past the highest grouped ino. */
function sortedHomes(triples: number[], maxIno: number): Float64Array | string {
  const order: number[] = [];
  let ascending = true;
  for (let i = 0; i < triples.length; i += 3) { order.push(i); if (i > 0 && triples[i]! < triples[i - 3]!) ascending = false; }
  // (A compaction writes them a home at a time: often ascending already, and a sort's comparator is cold code at mount.)
  if (!ascending) order.sort((a, b) => triples[a]! - triples[b]!);
  const out = new Float64Array(triples.length);
  let end = 1;
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!, first = triples[i]!, count = triples[i + 1]!;
    if (first < end || first + count - 1 > maxIno) return `the HOMES runs overlap, or pass the highest grouped ino ${maxIno} (inos ${first}+${count})`;
    out[3 * k] = first; out[3 * k + 1] = count; out[3 * k + 2] = triples[i + 2]!;
    end = first + count;
  }
  return out;
}

/** The home directory of grouped node `ino` by the HOMES runs (binary search), or 0 when no run holds it. */
export function homeOf(homes: Float64Array, ino: number): number {
  let lo = 0, hi = homes.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1, first = homes[3 * mid]!;
    if (ino < first) hi = mid - 1;
    else if (ino >= first + homes[3 * mid + 1]!) lo = mid + 1;
    else return homes[3 * mid + 2]!;
  }
  return 0;
}

/** One directory as its group holds it: its INODE, its names, and the nodes it is home to (INODE, page records). */
export interface Group { dir: InodeRecord; names: NameRecord[]; nodes: Map<number, InodeRecord>; pages: LogRecord[]; spanDamage: Map<LogRecord, number> }

/**
 * The group of directory `e.ino`, checked: only its records, the directory's INODE first.
 * `raw`: its stream bytes when the caller read them (lazy.ts checks their pages' headers on the way).
 */
export function readGroup(mem: PhysMem, pages: readonly number[], e: IndexEntry, logId: number, raw?: Buffer | null): Group | string {
  const where = `the group of directory ${e.ino}`;
  raw ??= streamBytes(mem, pages, e.pos, e.bytes);
  if (!raw) return `${where} is past the log pages`;
  const g = groupOf(raw, e.ino, logId);
  shrinkScratch();
  return g ?? groupRecords(raw, e, logId, where);
}

/** Decodes a SPAN payload at b[p, p + length) as a group holds it (in place, or its crcs copied: groupthin.ts). */
export type SpanDecoder = (b: Buffer, p: number, length: number) => LogRecord | string;

/**
 * Record k (payload at b[p, p + length)) of directory dir's group placed in g as a group holds it: the directory's INODE
 * first, then NAMEs of that directory and its nodes' INODE, MAP and SPAN records (pages after their node's INODE).
 * False: it has no place there (a group's load and its thin read, groupthin.ts, take records by this one rule).
 */
export function placeRecord(g: Group, b: Buffer, type: number, p: number, length: number, k: number, dir: number, span: SpanDecoder): boolean {
  if (type === RecordType.Inode) {
    const r = decodeInodeAt(b, p, length);
    if (typeof r === 'string') return false;
    if (k > 0) g.nodes.set(r.ino, r);
    else if (r.ino === dir && (r.mode & S_IFMT) === S_IFDIR) g.dir = r;
    else return false;
    return true;
  }
  if (k === 0) return false;
  if (type === RecordType.Name) {
    const r = decodeNameAt(b, p, length);
    if (typeof r === 'string' || r.parent !== dir || r.ino === 0) return false;
    g.names.push(r);
  } else if (type === RecordType.Map) {
    const r: MapRecord = { ino: 0, index: 0, pfn: 0, count: 0, csum: 0, flags: 0 };
    if (decodeMapInto(b, p, length, r) !== null || !g.nodes.has(r.ino)) return false;
    g.pages.push({ type, r });
  } else if (type === RecordType.Span) {
    const rec = span(b, p, length);
    if (typeof rec === 'string' || rec.type !== RecordType.Span || !g.nodes.has(rec.r.ino)) return false;
    g.pages.push(rec);
  } else return false;
  return true;
}

/**
 * The group in b (readGroup's fast way: every record's crc and every SPAN's crc of its page crcs in
 * one native call, each payload decoded in place), or null when anything fails a check: groupRecords
 * then says what, as the replay reads it.
 */
function groupOf(b: Buffer, dir: number, logId: number): Group | null {
  const n = framesChecked(b, logId);
  if (n === null) return null;
  const g: Group = { dir: null as unknown as InodeRecord, names: [], nodes: new Map(), pages: [], spanDamage: new Map() };
  const w = LITTLE && b.byteOffset % 4 === 0 ? new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2) : null;
  // A SPAN's page crcs' crc was checked above with every record's crc.
  const span: SpanDecoder = w ? (b1, p, length) => decodeSpanWords(b1, w, p, length) : (b1, p, length) => decodeSpan(b1, p, length, false);
  for (let k = 0; k < n; k++) {
    const at = offs[k]!, type = (b[at + 4]! | b[at + 5]! << 8), length = u32(b, at + 8);
    if (!placeRecord(g, b, type, at + RECORD_HEADER, length, k, dir, span)) return null;
  }
  return n > 0 ? g : null;
}

/** readGroup record by record (recordsIn), each record checked on its own: the same answer, slower (tests hold the two equal). */
export function readGroupByRecords(mem: PhysMem, pages: readonly number[], e: IndexEntry, logId: number): Group | string {
  const where = `the group of directory ${e.ino}`, raw = streamBytes(mem, pages, e.pos, e.bytes);
  return raw ? groupRecords(raw, e, logId, where) : `${where} is past the log pages`;
}

/** The group in b read record by record (recordsIn): what is wrong, said exactly, or the group. */
function groupRecords(raw: Buffer, e: IndexEntry, logId: number, where: string): Group | string {
  const dir = e.ino;
  const recs = recordsIn(raw, where);
  if (typeof recs === 'string') return recs;
  const g: Group = { dir: null as unknown as InodeRecord, names: [], nodes: new Map(), pages: [], spanDamage: new Map() };
  for (const [k, { rec, generation, at }] of recs.entries()) {
    if (generation !== (logId >>> 0)) return `${where}: record ${k} is not the compaction's`;
    if (k === 0) {
      if (rec.type !== RecordType.Inode || rec.r.ino !== dir || (rec.r.mode & S_IFMT) !== S_IFDIR) return `${where} does not begin with its directory's INODE`;
      g.dir = rec.r;
      continue;
    }
    switch (rec.type) {
      case RecordType.Name: if (rec.r.parent !== dir || rec.r.ino === 0) return `${where}: a NAME of another directory`; g.names.push(rec.r); break;
      case RecordType.Inode: g.nodes.set(rec.r.ino, rec.r); break;
      case RecordType.Map: case RecordType.Span:
        if (!g.nodes.has(rec.r.ino)) return `${where}: pages of ino ${rec.r.ino} before its INODE`;
        g.pages.push(rec.type === RecordType.Map ? { type: rec.type, r: { ...rec.r } } : rec);
        if (rec.type === RecordType.Span && rec.r.crcsDamage) g.spanDamage.set(rec, e.pos + at);   // where, for the loss
        break;
      default: return `${where}: a ${rec.type} record has no place in a group`;
    }
  }
  if (!g.dir) return `${where} is empty`;
  return g;
}

/** A damaged group read as a replay would: what checks, and each record lost (stream position, why, type). */
export interface SalvagedGroup {
  dir: InodeRecord | null; names: NameRecord[]; nodes: Map<number, InodeRecord>; pages: LogRecord[]; spanDamage: Map<LogRecord, number>;
  lost: { pos: number; why: string; type: number }[];
}

/** The group of directory `e.ino`, its damaged records skipped (each in `lost`), or null when its bytes are past the log pages. */
export function salvageGroup(mem: PhysMem, pages: readonly number[], e: IndexEntry, logId: number): SalvagedGroup | null {
  const raw = streamBytes(mem, pages, e.pos, e.bytes);
  if (!raw) return null;
  const { recs, damage } = recordsSalvaged(raw);
  const g: SalvagedGroup = { dir: null, names: [], nodes: new Map(), pages: [], spanDamage: new Map(), lost: damage.map((d) => ({ pos: e.pos + d.at, why: d.why, type: d.type })) };
  const lose = (at: number, why: string, type: number) => g.lost.push({ pos: e.pos + at, why, type });
  for (const { rec, generation, type, at } of recs) {
    if (generation !== (logId >>> 0)) { lose(at, 'is not one of the compaction\'s records', type); continue; }
    switch (rec.type) {
      case RecordType.Inode:
        if (rec.r.ino !== e.ino) g.nodes.set(rec.r.ino, rec.r);
        else if ((rec.r.mode & S_IFMT) === S_IFDIR && !g.dir) g.dir = rec.r;
        else lose(at, 'is a second or non-directory INODE of the group\'s directory', type);
        break;
      case RecordType.Name:
        if (rec.r.parent !== e.ino || rec.r.ino === 0) lose(at, 'is a NAME of another directory', type);
        else g.names.push(rec.r);
        break;
      case RecordType.Map: case RecordType.Span:
        if (!g.nodes.has(rec.r.ino)) lose(at, `holds page(s) of ino ${rec.r.ino}, whose INODE record was lost: dropped`, type);
        else g.pages.push(rec.type === RecordType.Map ? { type: rec.type, r: { ...rec.r } } : rec);
        if (rec.type === RecordType.Span && rec.r.crcsDamage) g.spanDamage.set(rec, e.pos + at);
        break;
      default: lose(at, 'has no place in a group', type);
    }
  }
  return g;
}

// The payloads of v3 minor 2's INDEX and LOCATE records (docs/FORMAT.md §v3): where a
// compaction's log keeps each directory's group. Framing and the writer are v3.ts's.
import { putU64, u32, u64, RECORD_HEADER } from './v3-base.js';

/** INDEX (v3 minor 2): u32 entries, u32 0, then entries of INDEX_ENTRY bytes (indexes.ts in pram/ writes and reads them). */
export const INDEX_FIXED = 8;
export const INDEX_ENTRY = 32;
/** Entries an INDEX record holds at most (2 MiB: well under RECORD_PAYLOAD_MAX). */
export const INDEX_MAX_ENTRIES = 65536;
/** LOCATE (v3 minor 2): the first record of a compaction's log, where its index is. */
export const LOCATE_SIZE = 64;

/**
 * One entry of an INDEX. ino === home: the group of directory `ino` — its INODE,
 * a NAME per name it holds, then the INODE and page records of every other node
 * it is home to — at stream bytes [pos, pos + bytes), `records` records. ino !==
 * home: a node with names in more than one directory; its records are in the
 * group of directory `home` (pos and bytes 0); (minor 3) pos 1: node `ino` is also named in
 * directory `home` (one entry per other directory naming it). Entries list each directory once,
 * in the order of their groups in the stream.
 */
export interface IndexEntry { ino: number; home: number; pos: number; bytes: number }
/** LOCATE: the compaction's index at stream bytes [indexPos, indexPos + indexBytes) in `indexRecords` INDEX records. */
export interface LocateRecord {
  indexPos: number; indexBytes: number; indexRecords: number; entries: number; nodes: number; names: number; maxIno: number;
  /** (minor 3; 0 before) stream bytes of the RUNS records right after the index, and the pfn of the log page the index begins in. */
  runsBytes: number; indexPfn: number;
}

/** RUNS (v3 minor 3): u32 kind, u32 runs n, u64 a, u64 b, then n runs of RUNS_ENTRY bytes (u64 pfn, u64 count). */
export const RUNS_FIXED = 24;
export const RUNS_ENTRY = 16;
/** Runs a RUNS record holds at most (1 MiB). */
export const RUNS_MAX_ENTRIES = 65536;
/**
 * What a RUNS record lists. TOTALS: no runs; a = the grouped nodes' record bytes as the space
 * model prices them (INODE records with inline bytes, NAME records), b = grouped nodes held inline.
 * (In this order: TOTALS, LOG, DATA, HOMES.) LOG: the log's pages from seq 0 on, in order, continued by the next LOG record (a = b = 0). DATA: the data pages the compaction's
 * nodes map, ascending (a = b = 0). HOMES: runs (first ino, count) of the grouped nodes whose
 * records are in the group of directory a (b = 0): a mount finds a later commit's nodes' groups.
 */
export const enum RunsKind { Totals = 0, Log = 1, Data = 2, Homes = 3 }
export interface RunsRecord { kind: RunsKind; a: number; b: number; runs: Float64Array }   // runs: pfn, count pairs

/** RUNS's payload. */
export function runsPayload(r: RunsRecord): Buffer {
  const n = r.runs.length / 2, b = Buffer.alloc(RUNS_FIXED + RUNS_ENTRY * n);
  b.writeUInt32LE(r.kind, 0); b.writeUInt32LE(n, 4); putU64(b, r.a, 8); putU64(b, r.b, 16);
  for (let i = 0; i < r.runs.length; i++) putU64(b, r.runs[i]!, RUNS_FIXED + 8 * i);
  return b;
}

export function decodeRuns(p: Buffer): RunsRecord | string {
  return decodeRunsAt(p, 0, p.length);
}

/** decodeRuns of the payload at bytes [at, at + length) of `p`, read in place (no view of it made); at least RUNS_FIXED bytes. */
export function decodeRunsAt(p: Uint8Array, at: number, length: number): RunsRecord | string {
  const kind = u32(p, at), n = u32(p, at + 4), a = u64(p, at + 8), b = u64(p, at + 16);
  if (kind > RunsKind.Homes) return `RUNS of kind ${kind}`;
  if (n > RUNS_MAX_ENTRIES || length !== RUNS_FIXED + RUNS_ENTRY * n || (kind === RunsKind.Totals) !== (n === 0)) return `RUNS of ${n} runs in ${length} bytes`;
  if (a === null || b === null) return 'a value over 2^53';
  if (kind === RunsKind.Homes && (a === 0 || b !== 0)) return `RUNS HOMES of directory ${a}, b ${b}`;
  const runs = new Float64Array(2 * n);
  for (let i = 0; i < 2 * n; i++) {
    const v = u64(p, at + RUNS_FIXED + 8 * i);
    if (v === null || (i % 2 === 1 && v === 0)) return `RUNS run ${i >> 1}: ${v === null ? 'a value over 2^53' : 'no pages'}`;
    runs[i] = v;
  }
  return { kind, a, b, runs };
}

/** INDEX's payload: the entries in order. */
export function indexPayload(entries: readonly IndexEntry[]): Buffer {
  const b = Buffer.alloc(INDEX_FIXED + INDEX_ENTRY * entries.length);
  b.writeUInt32LE(entries.length, 0);
  entries.forEach((e, i) => { const at = INDEX_FIXED + INDEX_ENTRY * i; putU64(b, e.ino, at); putU64(b, e.home, at + 8); putU64(b, e.pos, at + 16); putU64(b, e.bytes, at + 24); });
  return b;
}

/** LOCATE's payload. */
export function locatePayload(r: LocateRecord): Buffer {
  const b = Buffer.alloc(LOCATE_SIZE);
  putU64(b, r.indexPos, 0); putU64(b, r.indexBytes, 8); putU64(b, r.nodes, 16); putU64(b, r.names, 24); putU64(b, r.maxIno, 32);
  b.writeUInt32LE(r.indexRecords, 40); b.writeUInt32LE(r.entries, 44);
  putU64(b, r.runsBytes, 48); putU64(b, r.indexPfn, 56);
  return b;
}

export function decodeIndex(p: Buffer): IndexEntry[] | string {
  const n = p.readUInt32LE(0);
  if (n < 1 || n > INDEX_MAX_ENTRIES || p.length !== INDEX_FIXED + INDEX_ENTRY * n) return `INDEX of ${n} entries in ${p.length} bytes`;
  if (p.readUInt32LE(4) !== 0) return 'INDEX reserved field not 0';
  const entries: IndexEntry[] = [];
  for (let i = 0, at = INDEX_FIXED; i < n; i++, at += INDEX_ENTRY) {
    const ino = u64(p, at), home = u64(p, at + 8), pos = u64(p, at + 16), bytes = u64(p, at + 24);
    if (ino === null || home === null || pos === null || bytes === null) return 'a value over 2^53';
    if (ino === 0 || home === 0) return `INDEX entry ${i} names ino 0`;
    if (ino !== home && (bytes !== 0 || pos > 1)) return `INDEX entry ${i} (a link of ino ${ino}) holds a group`;
    if (ino === home && (bytes < RECORD_HEADER || pos % 8 !== 0 || bytes % 8 !== 0)) return `INDEX entry ${i}: a group of ${bytes} bytes at ${pos}`;
    entries.push({ ino, home, pos, bytes });
  }
  return entries;
}

export function decodeLocate(p: Buffer): LocateRecord | string {
  if (p.length !== LOCATE_SIZE) return `LOCATE of ${p.length} bytes`;
  const indexPos = u64(p, 0), indexBytes = u64(p, 8), nodes = u64(p, 16), names = u64(p, 24), maxIno = u64(p, 32);
  const runsBytes = u64(p, 48), indexPfn = u64(p, 56);
  if (indexPos === null || indexBytes === null || nodes === null || names === null || maxIno === null || runsBytes === null || indexPfn === null) return 'a value over 2^53';
  if ((runsBytes === 0) !== (indexPfn === 0)) return 'LOCATE names RUNS without the index\'s page, or the page without RUNS';
  return { indexPos, indexBytes, nodes, names, maxIno, indexRecords: p.readUInt32LE(40), entries: p.readUInt32LE(44), runsBytes, indexPfn };
}

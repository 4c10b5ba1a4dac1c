// A lazily loaded group's nodes whose records are SPANs only, in file order,
// adopt straight from the records (spans.ts spansInOrder, adopt.ts adoptNode's
// `spans`): the same pages, frames (flags, crcs), page counts and losses as
// the replay of every record makes; any other node (spans out of order or
// overlapping, a MAP among them, pages other than its INODE says) is left to
// the replay. And a SPAN decoded from its words says what decodeSpan says.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PageFrames } from '../boot/frames.js';
import { PageAllocator } from '../boot/allocator.js';
import { BannedRegions } from '../boot/banned.js';
import { encodeSpan, RecordType, SPAN_BLOCK, SPAN_FIXED, RECORD_HEADER, type InodeRecord, type LogRecord, type SpanRecord } from '../format/v3.js';
import { SimRam } from '../mem/simram.js';
import { adoptNode, type AdoptContext } from './adopt.js';
import { SimplePageMap } from './pagemap.js';
import { RunHeads } from './runheads.js';
import { replayGroup } from './tail.js';
import { decodeSpan, decodeSpanWords, SpanCrcs, spansInOrder } from './spans.js';
import type { ReplayState } from './apply.js';
import type { Loss, NodeImage } from './image.js';

const PAGES = 64 * 1024;

function lcg(seed: number): (n: number) => number {
  let x = seed >>> 0;
  return (n) => (x = (Math.imul(x, 1664525) + 1013904223) >>> 0) % n;
}

function inode(ino: number, pages: number): InodeRecord {
  return { ino, mode: 0o100644, uid: 0, gid: 0, rdev: 0, size: pages * 4096, atimeNs: 1n, mtimeNs: 1n, ctimeNs: 1n, nlink: 1, pages, xattrs: new Uint8Array(0), inline: new Uint8Array(0) } as unknown as InodeRecord;
}

function span(ino: number, index: number, pfn: number, count: number, flags: number, next: (n: number) => number): LogRecord {
  const crcs = new Uint32Array(count);
  for (let k = 0; k < count; k++) crcs[k] = next(2 ** 32);
  return { type: RecordType.Span, r: { ino, index, pfn, count, flags, crcs } };
}

/** One node's records: spans in file order (each in one block), then maybe disordered, overlapping, or with a MAP. */
function nodeRecords(ino: number, base: number, next: (n: number) => number): { recs: LogRecord[]; pages: number; kind: string } {
  const recs: LogRecord[] = [];
  let index = next(3) * SPAN_BLOCK, pfn = base;
  for (let k = 0, n = 1 + next(5); k < n; k++) {
    const count = 1 + next(SPAN_BLOCK - (index % SPAN_BLOCK));
    recs.push(span(ino, index, pfn, count, next(2), next));
    pfn += count + next(3);
    index = (Math.floor(index / SPAN_BLOCK) + 1 + next(2)) * SPAN_BLOCK + next(64);
  }
  let pages = recs.reduce((a, p) => a + (p as { r: SpanRecord }).r.count, 0);
  const kind = ['in order', 'in order', 'reversed', 'overlap', 'a MAP', 'count off'][next(6)]!;
  if (kind === 'reversed' && recs.length > 1) recs.reverse();
  if (kind === 'overlap') { const r = (recs[0] as { r: SpanRecord }).r; recs.push(span(ino, r.index, pfn, 1, 0, next)); }
  if (kind === 'a MAP') { recs.push({ type: RecordType.Map, r: { ino, index: 10 * SPAN_BLOCK, pfn, count: 1, csum: 7, flags: 0 } }); pages++; }
  if (kind === 'count off') pages++;
  return { recs, pages, kind };
}

function ctxOf(): AdoptContext {
  const ram = new SimRam({ pageSize: 4096, pageCount: PAGES });
  const frames = new PageFrames(PAGES), banned = new BannedRegions(16, () => {});
  return { mem: ram, frames, verify: 'lazy', newPageMap: () => new SimplePageMap(), runs: new Map(), runHead: new RunHeads(PAGES),
    allocator: new PageAllocator(frames, banned), readOnly: false } as unknown as AdoptContext;
}

/** The group's nodes adopted: every record replayed (direct false), or as the lazy load does (direct true). */
function adoptAll(nodes: Map<number, InodeRecord>, pages: LogRecord[], direct: boolean) {
  const ctx = ctxOf(), crcs = new SpanCrcs(), st: ReplayState = { nodes: new Map(), names: new Map() };
  const split = direct ? spansInOrder(pages, nodes) : { direct: new Map<number, SpanRecord[]>(), rest: pages };
  replayGroup({ dir: null, nodes, names: [], pages: split.rest }, 1, st, crcs, false);
  const losses: Loss[] = [], tally = { dataPages: 0 }, images: NodeImage[] = [];
  for (const [ino, rec] of nodes) {
    const rn = st.nodes.get(ino) ?? { rec, groups: null, blocks: null, poison: null, names: null };
    images.push(adoptNode(ctx, ino, rn, undefined, new SimplePageMap(), crcs, tally, (what, pfn = null) => losses.push({ path: `${ino}`, pfn, what }), split.direct.get(ino)));
  }
  return { frames: ctx.frames, images: images.map((n) => ({ ino: n.ino, pages: [...n.pages.entries()] })), losses, dataPages: tally.dataPages, direct: [...split.direct.keys()] };
}

test('nodes of SPANs in order adopt straight from them as the replay adopts them; any other node is replayed', () => {
  const seed = Number(process.env['SEED'] ?? Date.now() % 1e9);
  console.log(`seed ${seed}`);
  const next = lcg(seed);
  for (let round = 0; round < 20; round++) {
    const nodes = new Map<number, InodeRecord>(), pages: LogRecord[] = [], kinds = new Map<number, string>();
    for (let ino = 10, base = 100; ino < 14; ino++, base += 12 * 1024) {
      const made = nodeRecords(ino, base, next);
      nodes.set(ino, inode(ino, made.pages));
      kinds.set(ino, made.recs.length > 1 || made.kind !== 'reversed' ? made.kind : 'in order');
      pages.push(...made.recs);
    }
    nodes.set(20, inode(20, 0));                                    // a node without pages
    const a = adoptAll(nodes, pages, false), b = adoptAll(nodes, pages, true);
    assert.deepEqual(b.direct.sort(), [...kinds].filter(([, k]) => k === 'in order').map(([ino]) => ino).sort(), `round ${round}: ${JSON.stringify([...kinds])}`);
    assert.deepEqual(b.images, a.images, `round ${round}: pages`);
    assert.deepEqual(b.losses, a.losses, `round ${round}: losses`);
    assert.equal(b.dataPages, a.dataPages, `round ${round}: data pages`);
    assert.ok(Buffer.from(b.frames.flags).equals(Buffer.from(a.frames.flags)), `round ${round}: flags`);
    assert.ok(Buffer.from(b.frames.csum.buffer).equals(Buffer.from(a.frames.csum.buffer)), `round ${round}: crcs`);
  }
});

test('a SPAN read from its words says what decodeSpan says, well formed or not', () => {
  const crcs = new Uint32Array([1, 2, 3, 0xffffffff]);
  const framed = encodeSpan({ ino: 2 ** 40 + 3, index: SPAN_BLOCK * 5 + 7, pfn: 2 ** 33 + 1, count: 4, flags: 1 }, crcs, 9);
  const p = RECORD_HEADER, length = framed.readUInt32LE(8);
  const cases: [string, (b: Buffer) => void][] = [
    ['as written', () => {}],
    ['ino over 2^53', (b) => b.writeUInt32LE(0x200000, p + 4)],
    ['index over 2^53', (b) => b.writeUInt32LE(0x200000, p + 12)],
    ['pfn over 2^53', (b) => b.writeUInt32LE(0x200000, p + 20)],
    ['count 0', (b) => b.writeUInt32LE(0, p + 24)],
    ['count past the block', (b) => b.writeUInt32LE(SPAN_BLOCK + 1, p + 24)],
    ['across two blocks', (b) => b.writeUInt32LE(SPAN_BLOCK - 2, p + 8)],
    ['count and length disagree', (b) => b.writeUInt32LE(3, p + 24)],
    ['reserved word', (b) => b.writeUInt32LE(1, p + 36)],
  ];
  for (const [what, change] of cases) {
    const b = Buffer.from(framed);
    change(b);
    const w = new Uint32Array(b.buffer, b.byteOffset, b.length >>> 2);
    const want = decodeSpan(b, p, length, false), got = decodeSpanWords(b, w, p, length);
    assert.deepEqual(got, want, what);
    if (what === 'as written') assert.deepEqual(typeof got !== 'string' && [...got.r.crcs], [...crcs]);
    else assert.equal(typeof got, 'string', what);
  }
  assert.equal(length, SPAN_FIXED + 16);
});

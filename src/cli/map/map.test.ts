// The map's model: one class per pfn, cells that tile the memory, paths from
// (parent, name) links — independent of any drawing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Owner } from '../../boot/frames.js';
import type { NodeImage, PageMap } from '../../pram/image.js';
import { buildModel, classify, pagesPerCellFor, FILE_CLASSES_MAX } from './model.js';
import { filesOf, pathsOf } from './source.js';

function pageMap(pfns: number[]): PageMap {
  const m = new Map(pfns.map((p, i) => [i, p]));
  return { get: (i) => m.get(i) ?? 0, set: (i, p) => { m.set(i, p); }, delete: (i) => { m.delete(i); }, get count() { return m.size; }, entries: () => m.entries() };
}
function node(ino: number, names: [number, string][], pfns: number[] = [], mode = 0o100644): NodeImage {
  return { ino, mode, uid: 0, gid: 0, rdev: 0, size: pfns.length * 4096, atimeNs: 0n, mtimeNs: 0n, ctimeNs: 0n,
    names: names.map(([parent, name]) => ({ parent, name })), xattrs: [], pages: pageMap(pfns) };
}

test('pagesPerCellFor: a power of two keeping cells within the bound', () => {
  assert.equal(pagesPerCellFor(10), 1);
  assert.equal(pagesPerCellFor(4096), 1);
  assert.equal(pagesPerCellFor(4097), 2);
  assert.equal(pagesPerCellFor(1 << 20), 256);
  assert.equal(pagesPerCellFor(1000, 10), 128);
});

test('classify: free pages inside a banned region are their own class; banned pages counted once', () => {
  const owners = new Uint8Array([Owner.Header, Owner.None, Owner.None, Owner.Reserved, Owner.Hole, Owner.None]);
  const { classes, classOf, bannedPages } = classify({ pageSize: 4096, pageCount: 6, owners, banned: [{ start: 2, end: 3 }] });
  const name = (pfn: number) => classes[classOf[pfn]!]!.name;
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(name), ['arena header', 'free', 'free, banned', 'reserved', 'hole (not RAM)', 'free']);
  assert.equal(bannedPages, 2);
  assert.equal(classes.reduce((n, c) => n + c.pages, 0), 6);
});

test(`classify: beyond ${FILE_CLASSES_MAX} files the smallest share "other files"; reservations keep their names`, () => {
  const n = FILE_CLASSES_MAX + 5, pageCount = n * 2 + 4;
  const owners = new Uint8Array(pageCount).fill(Owner.Data), fileOf = new Int32Array(pageCount).fill(-1);
  for (let f = 0; f < n; f++) { fileOf[2 * f] = f; fileOf[2 * f + 1] = f < FILE_CLASSES_MAX ? f : -1; }
  owners.fill(Owner.Reserved, n * 2);
  const paths = Array.from({ length: n }, (_, i) => `/f${i}`);
  const { classes } = classify({ pageSize: 4096, pageCount, owners, files: { paths, fileOf },
    reservations: [{ what: 'kernel image', start: n * 2, pages: 3 }] });
  const byName = new Map(classes.map((c) => [c.name, c.pages]));
  assert.equal(byName.get('/f0'), 2);
  assert.equal(byName.get('other files'), 5, 'the five one-page files');
  assert.equal(byName.get('data (no file)'), 5);
  assert.equal(byName.get('reserved: kernel image'), 3);
  assert.equal(byName.get('reserved'), 1, 'a reserved page nobody named');
});

test('buildModel: cells tile the memory, the last one short; compositions add up', () => {
  const owners = new Uint8Array(10_001);
  owners.fill(Owner.Link, 4000, 4100);
  const m = buildModel({ pageSize: 4096, pageCount: 10_001, owners }, 100);
  assert.equal(m.pagesPerCell, 128);
  assert.equal(m.cells.length, 79);
  let next = 0;
  for (const c of m.cells) {
    assert.equal(c.start, next);
    assert.equal(c.comp.reduce((n, [, k]) => n + k, 0), c.pages);
    next += c.pages;
  }
  assert.equal(next, 10_001);
  assert.equal(m.cells.at(-1)!.pages, 10_001 - 78 * 128);
  const mixed = m.cells[31]!; // pfns 3968..4095: 32 free, 96 link
  assert.deepEqual(mixed.comp.map(([c, k]) => [m.classes[c]!.name, k]), [['link pages', 96], ['free', 32]]);
});

test('pathsOf / filesOf: nested paths from names, hard links by first name, a cycle does not hang', () => {
  const nodes = [node(1, [], [], 0o40755), node(2, [[1, 'd']], [], 0o40755), node(3, [[2, 'f'], [1, 'g']], [7, 8]),
    node(4, [[5, 'x']], [9]), node(5, [[4, 'y']], [], 0o40755)];
  const paths = pathsOf(nodes);
  assert.equal(paths.get(1), '/');
  assert.equal(paths.get(2), '/d');
  assert.equal(paths.get(3), '/d/f');
  assert.ok(paths.get(4)!.length < 100_000, 'a damaged cycle ends');
  const { paths: files, fileOf } = filesOf(nodes, 12);
  assert.equal(files[fileOf[7]!], '/d/f');
  assert.equal(files[fileOf[8]!], '/d/f');
  assert.equal(fileOf[6], -1);
});

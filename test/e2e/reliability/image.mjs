// The fault-injection tests' images (no side effects at import): a seeded
// tree built with the library API (files of many sizes, directories, symlinks,
// hard links, xattrs inline and in XATTR pages), what every path must read
// back as, and a map of the saved arena's pages by class (header, link, meta,
// data) with the pages each path depends on, read straight from the bytes as
// docs/FORMAT.md lays them out.
import { mount } from '../../../dist/api/index.js';
import { Prng } from '../../../dist/machine/prng.js';

export const PS = 4096;
const SIZES = [0, 1, 100, 4095, 4096, 4097, 3 * PS + 7, 9 * PS, 40 * PS + 1, 70 * PS];

/**
 * Builds the tree on a new arena and returns { expect: Map path → record }.
 * v1: regular files in / only, no extents, xattrs small (a v1-loadable image).
 * checkpoints > 1: the last state is reached through earlier syncs, so the
 * header's other slot holds an older checkpoint: `older` = { generation, expect }.
 */
export async function buildImage(arena, seed, { v1 = false, v3 = false, extents = false, checkpoints = 1, many = 0, sizeBytes = 4 << 20, sliced = false, tail = false, slicedTail = false, moveDuring = false, publishLast = false, atimes = false } = {}) {
  // v1/v2 images are chains (pageMap reads their layout); v3: a record log (logMap). Set per image: the
  // process mounts each image the way it was written.
  process.env['PRAM_FORMAT'] = v3 ? '3' : '2';
  const states = new Map();   // v3: generation -> what a mount rolled back to that commit must read
  const r = new Prng(seed);
  const pfs = await mount({ arena, create: { sizeBytes, overwrite: true }, extents, cmdline: '' });
  const files = [];
  const dirs = v1 ? ['/'] : ['/', '/a', '/a/b', '/c'];
  if (!v1) { await pfs.mkdir('/a/b', { recursive: true }); await pfs.mkdir('/c'); }
  const n = r.range(6, 12);
  for (let i = 0; i < n; i++) {
    const dir = dirs[r.below(dirs.length)];
    const p = `${dir === '/' ? '' : dir}/file${i}`;
    await pfs.writeFile(p, r.bytes(SIZES[r.below(SIZES.length)] + r.below(3)));
    files.push(p);
    if (r.chance(0.4)) await pfs.setxattr(p, 'user.small', r.bytes(r.range(1, 40)));
    if (!v1 && r.chance(0.2)) await pfs.setxattr(p, 'user.big', r.bytes(r.range(PS, 3 * PS)));
    if (checkpoints > 1 && i === Math.floor(n / 2)) {
      await pfs.sync();
      if (v3) states.set(pfs.volume.pram.stats().generation, await expectOf(pfs));
    }
  }
  if (many) {
    // Many small files: a chain of several link pages, so the skip pointers matter.
    await pfs.mkdir('/m');
    for (let i = 0; i < many; i++) {
      const p = `/m/s${i}`;
      await pfs.writeFile(p, r.bytes(r.range(0, 2 * PS)));
      files.push(p);
    }
  }
  if (!v1) {
    await pfs.symlink('a/b/../file-target', '/c/sym');
    await pfs.symlink(files[0], '/a/abs');
    await pfs.link(files[1], '/c/hard1');
    await pfs.link(files[2], '/a/b/hard2');
    await pfs.setxattr('/a', 'trusted.dir', r.bytes(10));
  }
  let older = null;
  if (checkpoints > 1) {
    await pfs.sync();
    // The older checkpoint (the other header slot): what a mount falling back to it must show.
    older = { generation: pfs.volume.pram.stats().generation, expect: await expectOf(pfs) };
    states.set(older.generation, older.expect);
    // Rewrite some files: their new pages are copies (the older checkpoint keeps its own).
    for (const p of files.slice(0, 3)) await pfs.writeFile(p, r.bytes(SIZES[r.below(SIZES.length)]));
  }
  if (tail) {
    // v3 minor 3: one whole compaction, then a small commit after it (a lazy mount replays it over the groups it touches).
    await pfs.sync();
    // The other header slot holds the compaction: what a mount falling back to it must show.
    older = { generation: pfs.volume.pram.stats().generation, expect: await expectOf(pfs) };
    states.set(older.generation, older.expect);
    await pfs.rename(files[3], '/c/moved3');
    await pfs.chmod(files[4], 0o600);
    await pfs.writeFile(files[5], r.bytes(r.range(1, 2 * PS)));
    await pfs.mkdir('/a/new');
    await pfs.writeFile('/a/new/x', r.bytes(r.range(1, 2 * PS)));
  }
  if (atimes) {
    // v3 minor 4: one whole compaction, a session reading every file (its commit: ATIMES records only), then a commit after it.
    await pfs.sync();
    older = { generation: pfs.volume.pram.stats().generation, expect: await expectOf(pfs) };   // (the reads: atimes)
    states.set(older.generation, older.expect);
    await pfs.sync();
    states.set(pfs.volume.pram.stats().generation, older.expect);
    await pfs.writeFile('/c/after-atimes', r.bytes(r.range(1, 2 * PS)));
  }
  let expect = await expectOf(pfs);
  const before = sliced ? compactInSlices(pfs, moveDuring ? movedBetween : undefined) : 0;   // after the reads: their atime updates are in no later commit
  if (sliced) {
    // v3 minor 5: until a commit follows the publish the older slot names the log before the compaction (the last
    // commit before it: `expect`'s tree), which a mount loads when the publish step's records are damaged.
    older = { generation: before, expect };
    states.set(before, expect);
  }
  if (publishLast) {
    // The image ends with the publish (nothing committed after it) and the move of moveDuring in its step's records.
    expect = await expectOf(pfs);
    await pfs.unmount({ save: false });
    return { expect, older, states };
  }
  if (slicedTail) {
    // The publish (the other header slot) holds the compaction; then a commit after it moving /a/b to /c/b2 (moveDuring: the
    // move is between the slices instead, in the publish step's records, written twice (v3 minor 5): damage in one copy
    // is read from the other; in the same record of both, nothing of the log loads, said — the log before the
    // compaction is gone with that commit).
    older = { generation: pfs.volume.pram.stats().generation, expect: await expectOf(pfs) };
    states.set(older.generation, older.expect);
    if (!moveDuring) { await pfs.rename('/a/b', '/c/b2'); await pfs.mkdir('/c/b2/new'); }
    await pfs.chmod(files.find((f) => !f.startsWith('/a/b/')), 0o600);   // /a/b moved
    await pfs.writeFile('/c/after', r.bytes(r.range(1, 2 * PS)));
    await pfs.mkdir('/c/b2/later');
    await pfs.writeFile('/c/b2/later/x', r.bytes(r.range(1, 2 * PS)));
    expect = await expectOf(pfs);                      // one commit at unmount, with the reads' atimes (the newest state)
  }
  await pfs.unmount();
  return { expect, older, states };
}

/** moveDuring: between slices, /a/b (a walked directory's subdirectory) moves to /c/b2 and /c/b2/new is made. */
function movedBetween(vol, slice) {
  const a = vol.lookup(1, 'a').ino, c = vol.lookup(1, 'c').ino;
  if (slice === 2 && vol.rename(a, 'b', c, 'b2', 0) !== 0) throw new Error('the move between slices failed');
  if (slice === 3 && typeof vol.mkdir(vol.lookup(c, 'b2').ino, 'new', 0o755, 0, 0) === 'number') throw new Error('a mkdir between slices failed');
}

/** What every path reads back as: path → { ino, kind, xattrs, content | target }. */
async function expectOf(pfs) {
  const expect = new Map();
  const walk = async (dir) => {
    for (const d of await pfs.readdir(dir, { withFileTypes: true })) {
      const p = dir === '/' ? `/${d.name}` : `${dir}/${d.name}`;
      const st = await pfs.lstat(p);
      const rec = { ino: st.ino, kind: d.isDirectory() ? 'dir' : d.isSymbolicLink() ? 'symlink' : 'file', xattrs: {} };
      if (rec.kind !== 'symlink') for (const x of await pfs.listxattr(p)) rec.xattrs[x] = await pfs.getxattr(p, x);
      if (rec.kind === 'file') rec.content = await pfs.readFile(p);
      if (rec.kind === 'symlink') rec.target = await pfs.readlink(p);
      expect.set(p, rec);
      if (rec.kind === 'dir') await walk(p);
    }
  };
  await walk('/');
  return expect;
}

const u64 = (b, o) => Number(b.readBigUInt64LE(o));

/** The newest slot's head pfn (slots whose crc we do not check: the image was just saved). */
function headOf(img) {
  const slot = (o) => ({ gen: u64(img, o), head: u64(img, o + 8) });
  const a = slot(64), b = slot(128);
  return (a.gen >= b.gen ? a : b).head;
}

/**
 * Pages of a saved arena by class, and per ino the pages a node's survival
 * rests on: its own entries' pages and the link pages holding those entries.
 * names: "parentIno/name" → pages of an extra (NAME) hard link.
 */
export function pageMap(img) {
  const cls = { header: [0], link: [], meta: [], data: [] };
  const byIno = new Map(), names = new Map();
  let pfn = headOf(img), cur = null;
  const seen = new Set();
  while (pfn && !seen.has(pfn)) {
    seen.add(pfn);
    cls.link.push(pfn);
    const L = img.subarray(pfn * PS, (pfn + 1) * PS);
    const len = L.readUInt32LE(8);
    for (let i = 0; i < len; i++) {
      const o = 24 + 24 * i;
      const flags = L.readUInt32LE(o), type = flags & 0xff, p = u64(L, o + 8);
      const page = img.subarray(p * PS, (p + 1) * PS);
      if (type === 1 || type === 3) {
        cur = { ino: type === 3 || page.readUInt32LE(272) === 0x78746d70 ? u64(page, 280) : -p, pages: new Set([p]), links: new Set([pfn]) };
        byIno.set(cur.ino, cur);
        cls.meta.push(p);
        continue;
      }
      if (type === 4) {
        names.set(`${u64(page, 8)}/${page.subarray(24, 24 + page.readUInt32LE(16)).toString()}`, new Set([p, pfn]));
        cls.meta.push(p);
        continue;
      }
      const count = type === 6 ? flags >>> 16 : 1;
      for (let k = 0; k < count; k++) { cur.pages.add(p + k); (type === 5 ? cls.meta : cls.data).push(p + k); }
      cur.links.add(pfn);
    }
    pfn = u64(L, 16);
  }
  return { cls, byIno, names, head: headOf(img) };
}

/**
 * A v3 image (docs/FORMAT.md §v3): the committed log's pages with the bytes a
 * flip must be reported in (the tail page up to the tail; others whole: header,
 * stream, next pointer), and per ino its data pages (from a read-only mount).
 * Every path depends on every log page: damage to an appended commit loads an
 * older commit whole.
 */
export async function logMap(arena, img) {
  const slots = [64, 128].map((o) => ({ gen: u64(img, o), head: u64(img, o + 8), ext: img.readUInt32LE(o + 32), tail: u64(img, o + 40), tailOff: img.readUInt32LE(o + 48), pages: img.readUInt32LE(o + 52) }));
  const s = slots[0].gen >= slots[1].gen ? slots[0] : slots[1];
  if (s.ext < 2 || s.ext > 8) throw new Error(`not a v3 log (slot extension ${s.ext})`);   // 3: v3 minor 1 (SPAN records), 4: minor 2 (grouped, INDEX + LOCATE), 5: minor 3 (RUNS), 6: minor 4 (ATIMES), 7: minor 5 (PUBLISHED), 8: minor 6 (ATIMES_PAGES)
  const log = [];
  let pfn = s.head;
  for (let i = 0; i < s.pages; i++) {
    log.push({ pfn, end: i === s.pages - 1 ? s.tailOff : PS });
    pfn = u64(img, pfn * PS + PS - 8);
  }
  const logPfns = log.map((l) => l.pfn);
  const cls = { header: [0], link: logPfns, meta: logPfns, data: [], index: indexRanges(img, s, log), atimes: atimesRanges(img, s, log), atimespages: [] };
  for (const pfn of atimesPagesOf(img, s, log)) cls.atimespages.push({ pfn, lo: 0, hi: PS });
  const byIno = new Map();
  const pfs = await mount({ arena, readOnly: true, cmdline: '' });
  try {
    for (const n of pfs.volume.images()) {
      const pages = new Set();
      for (const [, p] of n.pages.entries()) { pages.add(p); cls.data.push(p); }
      byIno.set(n.ino, { pages, links: new Set(logPfns) });
    }
  } finally { await pfs.unmount({ save: false }); }
  return { cls, byIno, names: new Map(), head: s.head, log };
}

/**
 * v3 minor 2 (slot extension 4): the bytes of the compaction's LOCATE (the log's first record)
 * and INDEX records, and (minor 3, extension 5) the RUNS records after them, as { pfn, lo, hi }
 * pieces of log pages; none for an older log. Damage there costs no file (the mount replays
 * the whole log instead of booting it from the index), but it must be reported.
 */
function indexRanges(img, s, log) {
  if (s.ext < 4) return [];
  const payload = PS - 32 - 8, at = (pos) => log[Math.floor(pos / payload)].pfn * PS + 32 + (pos % payload);
  if (img.readUInt16LE(at(4)) !== 8) throw new Error(`slot extension ${s.ext} and no LOCATE first`);
  const indexPos = u64(img, at(16)), indexBytes = u64(img, at(24)) + (s.ext >= 5 ? u64(img, at(16 + 48)) : 0);
  return streamPieces(log, [[0, 16 + 64], [indexPos, indexPos + indexBytes]]);
}

/** Stream ranges [from, to) as { pfn, lo, hi } pieces of log pages. */
function streamPieces(log, ranges) {
  const payload = PS - 32 - 8, pieces = [];
  for (const [from, to] of ranges) {
    for (let pos = from; pos < to;) {
      const seq = Math.floor(pos / payload), end = Math.min(to, (seq + 1) * payload);
      pieces.push({ pfn: log[seq].pfn, lo: 32 + (pos % payload), hi: 32 + (pos % payload) + (end - pos) });
      pos = end;
    }
  }
  return pieces;
}

/** The tail's records (after the compaction's RUNS) as [type, stream position, framed bytes]; none for a log before minor 4. */
function tailRecords(img, s, log) {
  if (s.ext < 6) return [];
  const payload = PS - 32 - 8, at = (pos) => log[Math.floor(pos / payload)].pfn * PS + 32 + (pos % payload);
  if (img.readUInt16LE(at(4)) !== 8) return [];
  const bytes = (log.length - 1) * payload + s.tailOff - 32, out = [];
  for (let pos = u64(img, at(16)) + u64(img, at(24)) + u64(img, at(16 + 48)); pos < bytes;) {
    const type = img.readUInt16LE(at(pos + 4)), total = 16 + ((img.readUInt32LE(at(pos + 8)) + 7) & ~7);
    out.push([type, pos, total]);
    pos += total;
  }
  return out;
}

/**
 * v3 minor 4 (slot extension 6): the bytes of the ATIMES records (type 10; minor 6: ATIMES_PAGES, type 12) after the
 * compaction's RUNS, as { pfn, lo, hi } pieces of log pages. Damage there costs atimes only (an exact loss), never a file.
 */
function atimesRanges(img, s, log) {
  return streamPieces(log, tailRecords(img, s, log).filter(([type]) => type === 10 || type === 12).map(([, pos, total]) => [pos, pos + total]));
}

/** v3 minor 6 (slot extension 8): the pages the tail's ATIMES_PAGES records name (outside the log: atimes only). */
function atimesPagesOf(img, s, log) {
  const payload = PS - 32 - 8, at = (pos) => log[Math.floor(pos / payload)].pfn * PS + 32 + (pos % payload), pfns = [];
  for (const [type, pos] of tailRecords(img, s, log)) {
    if (type !== 12) continue;
    const runs = img.readUInt32LE(at(pos + 16 + 4));
    for (let i = 0; i < runs; i++) {
      const pfn = u64(img, at(pos + 16 + 32 + 16 * i)), count = u64(img, at(pos + 16 + 40 + 16 * i));
      for (let q = 0; q < count; q++) pfns.push(pfn + q);
    }
  }
  return pfns;
}

/** Pages whose damage may cost `path` (rec from expect): its node, its ancestors', its link pages, its NAME page. */
export function depsOf(path, expect, map) {
  const deps = new Set([0]);
  const add = (ino) => { const n = map.byIno.get(ino); if (n) { for (const p of n.pages) deps.add(p); for (const p of n.links) deps.add(p); } };
  add(1);
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = '/' + parts.slice(0, i).join('/');
    const rec = expect.get(p);
    add(rec.ino);
    const parentIno = i === 1 ? 1 : expect.get('/' + parts.slice(0, i - 1).join('/')).ino;
    for (const q of map.names.get(`${parentIno}/${parts[i - 1]}`) ?? []) deps.add(q);
  }
  return deps;
}

/**
 * sliced (v3): commits grow the log until a compaction is due, which then runs in the least
 * slices (background(0)) with no change during it (or `during`'s); the sync after the last publishes it, so
 * the image ends with a compaction in slices and nothing after its RUNS but `during`'s changes (a lazy mount boots it).
 * All of it synchronous on the volume: the library's own driver never runs a slice in between.
 * Returns the generation of the last commit before the publish.
 */
function compactInSlices(pfs, during = () => {}) {
  const vol = pfs.volume, c = vol.lookup(1, 'c').ino;
  vol.background(0);                                   // driven: a due compaction waits for its slices
  for (let i = 0; !vol.pram.slices.wanted(); i++) {
    if (i >= 2000) throw new Error('the log never became due for a compaction');
    if (vol.setxattr(c, 'user.grow', Buffer.alloc(3000, i & 0xff), 0) !== 0 || vol.sync() !== 0) throw new Error('a commit growing the log failed');
  }
  if (vol.removexattr(c, 'user.grow') !== 0 || vol.sync() !== 0) throw new Error('a commit growing the log failed');   // /c as `expect` has it
  const before = vol.pram.stats().generation;
  let slices = 0;
  while (vol.background(0)) during(vol, ++slices);
  if (vol.sync() !== 0 || slices < 3 || vol.pram.slices.compacting) throw new Error(`the compaction ran in ${slices} slices, not published`);
  return before;
}

/**
 * The types of the records in a v3 image's tail (after its compaction's RUNS; [] for a log before minor 4 or
 * without an index): the SIGKILL campaign counts the images holding an ATIMES_PAGES record (type 12).
 */
export function tailTypes(img) {
  const slots = [64, 128].map((o) => ({ gen: u64(img, o), head: u64(img, o + 8), ext: img.readUInt32LE(o + 32), tailOff: img.readUInt32LE(o + 48), pages: img.readUInt32LE(o + 52) }));
  const s = slots[0].gen >= slots[1].gen ? slots[0] : slots[1];
  if (s.ext < 6 || s.ext > 8) return [];
  const log = [];
  for (let i = 0, pfn = s.head; i < s.pages; i++, pfn = u64(img, pfn * PS + PS - 8)) log.push({ pfn, end: i === s.pages - 1 ? s.tailOff : PS });
  return tailRecords(img, s, log).map(([type]) => type);
}

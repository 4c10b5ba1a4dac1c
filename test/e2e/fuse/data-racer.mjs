// One process of data.test.mjs's race: `node data-racer.mjs MODE FILE SECONDS SEED [TAG [BLOCKS]]`.
// Every 4 KiB page a writer stores is 256 copies of one 16-byte stamp (file
// tag, page index, generation, magic); a truncate zeroes a page's tail after a
// 16-byte boundary. So a page read back is whole and ordered when it is a run
// of its own file's stamps for its own index, then zeros (a truncated tail),
// and its generation never goes back for one reader (writers only count up).
// (Truncates here cut at page boundaries, see below; the check still allows a zeroed tail.)
// A block-reader also checks that each 1 MiB reply is one state (see checkBlock).
// Readers and writers use O_DIRECT: every call is one READ or WRITE request to the server.
// Prints one JSON line: what was done, and the first bad page seen (if any).
import * as fs from 'node:fs';

// Buffers are page-aligned mappings: the kernel splits a direct I/O of an unaligned buffer at
// its user pages, which would tear file pages between two requests (not the server's doing).
const PS = 4096, STAMP = 16, MAGIC = 0x5eed5eed, BLOCK = 1 << 20;
const native = await import(new URL('../../../dist/mem/native.js', import.meta.url).href);
function alignedBuffer(bytes) {
  const fd = native.memfdCreate('data-racer');
  fs.ftruncateSync(fd, bytes);
  const b = native.mmap(fd, 0, bytes, true);
  fs.closeSync(fd);
  return b;
}
const [mode, file, seconds, seedArg, tagArg, blocksArg] = process.argv.slice(2);
const FILE_PAGES = Number(blocksArg ?? 4) * (BLOCK / PS);   // 4 MiB files unless BLOCKS says
const until = Date.now() + Number(seconds) * 1000;
let seed = Number(seedArg) >>> 0 || 1;
const rand = (n) => { seed = (seed * 1103515245 + 12345) >>> 0; return seed % n; };   // seeded: a failure prints it
const out = { mode, seed: Number(seedArg), ops: 0, bytes: 0, bad: null };

const record = Buffer.alloc(STAMP);
function stampPage(buf, at, tag, index, gen) {
  record.writeUInt32LE(tag, 0); record.writeUInt32LE(index, 4); record.writeUInt32LE(gen, 8); record.writeUInt32LE(MAGIC, 12);
  buf.fill(record, at, at + PS);
}

/** Why the page at buf[at..at+n) (file page `index`) is not a whole, own state; null when it is. Sets gens[index]. */
const expected = Buffer.alloc(PS);
function checkPage(buf, at, n, tag, index, gens) {
  // Fast path (native compares): a whole page of one stamp, or of zeros.
  expected.fill(buf.subarray(at, at + STAMP));
  if (buf.compare(expected, 0, n, at, at + n) === 0) {
    const [t, i, g, m] = [buf.readUInt32LE(at), buf.readUInt32LE(at + 4), buf.readUInt32LE(at + 8), buf.readUInt32LE(at + 12)];
    if (t === 0 && i === 0 && g === 0 && m === 0) return null;
    if (t === tag && i === index && m === MAGIC && g >= (gens[index] ?? 0)) { gens[index] = g; return null; }
  }
  const zero = (o) => buf.readUInt32LE(o) === 0 && buf.readUInt32LE(o + 4) === 0 && buf.readUInt32LE(o + 8) === 0 && buf.readUInt32LE(o + 12) === 0;
  let o = at;
  const gen = n >= STAMP && !zero(at) ? buf.readUInt32LE(at + 8) : 0;
  for (; o + STAMP <= at + n && !zero(o); o += STAMP) {
    const [t, i, g, m] = [buf.readUInt32LE(o), buf.readUInt32LE(o + 4), buf.readUInt32LE(o + 8), buf.readUInt32LE(o + 12)];
    if (t !== tag || i !== index || g !== gen || m !== MAGIC) return `page ${index} +${o - at}: stamp tag ${t} page ${i} gen ${g} magic ${m.toString(16)}; want tag ${tag} page ${index} gen ${gen}`;
  }
  for (; o + STAMP <= at + n; o += STAMP) if (!zero(o)) return `page ${index} +${o - at}: bytes after its zeroed tail`;
  if (gen !== 0) {
    if (gen < (gens[index] ?? 0)) return `page ${index}: generation ${gen} after ${gens[index]} (went back)`;
    gens[index] = gen;
  }
  return null;
}

/**
 * block-reader, on a file nobody truncates: an aligned block is only ever written whole (one
 * WRITE request, one generation), so one READ of it (one request: aligned buffer, 256 pages)
 * shows pages of one generation. A reply sent while a later write changed its pages mixes them.
 * (With truncates, a direct read the server ends short at the old size is completed by the
 * kernel through the page cache, from a later state: a legitimate mix.)
 */
function checkBlock(buf, n, first) {
  let gen = -1, zeroFrom = -1;
  for (let p = 0; p * PS < n; p++) {
    const g = buf.readUInt32LE(p * PS + 8);
    if (g === 0) { if (zeroFrom < 0) zeroFrom = p; continue; }
    if (zeroFrom >= 0) return `block at page ${first}: page ${first + p} (generation ${g}) after zeroed page ${first + zeroFrom}`;
    if (gen < 0) gen = g;
    else if (g !== gen) return `block at page ${first}: page ${first + p} has generation ${g}, page ${first} ${gen} (one reply, two states)`;
  }
  return null;
}

const tag = Number(tagArg ?? 1);
if (mode === 'writer') {
  // Passes over the file in 1 MiB direct writes, each pass one generation higher; a random block first sometimes.
  const fd = fs.openSync(file, fs.constants.O_RDWR | fs.constants.O_CREAT | fs.constants.O_DIRECT, 0o644);
  const buf = alignedBuffer(BLOCK);
  for (let gen = 1; gen === 1 || Date.now() < until; gen++) {   // at least one pass: SECONDS 0 lays the file out
    for (let b = 0; b < (FILE_PAGES * PS) / BLOCK; b++) {
      const block = rand(4) === 0 ? rand((FILE_PAGES * PS) / BLOCK) : b;
      for (let p = 0; p < BLOCK / PS; p++) stampPage(buf, p * PS, tag, block * (BLOCK / PS) + p, gen);
      out.bytes += fs.writeSync(fd, buf, 0, BLOCK, block * BLOCK);
      out.ops++;
    }
  }
  fs.closeSync(fd);
} else if (mode === 'truncater') {
  // Cuts the file at random page boundaries (freeing pages the readers may be reading), short pauses
  // between. Not mid-page: a direct write racing such a cut may end short at the new size and
  // finish through the page cache, whose read-modify-write stores a page of two generations (the
  // kernel's doing: seen with every reply sent synchronously too).
  while (Date.now() < until) {
    fs.truncateSync(file, rand(FILE_PAGES) * PS);
    out.ops++;
    const t = Date.now() + 2 + rand(5);
    while (Date.now() < t) { /* spin: sleeping needs a timer, keep the process simple */ }
  }
} else if (mode === 'reader' || mode === 'block-reader') {
  const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_DIRECT);
  const buf = alignedBuffer(BLOCK);
  const gens = [];
  while (Date.now() < until && !out.bad) {
    const at = rand(4) === 0 ? rand(FILE_PAGES) * PS : rand((FILE_PAGES * PS) / BLOCK) * BLOCK;
    const n = fs.readSync(fd, buf, 0, BLOCK, at);
    out.ops++; out.bytes += n;
    for (let p = 0; p * PS < n && !out.bad; p++) out.bad = checkPage(buf, p * PS, Math.min(PS, n - p * PS), tag, at / PS + p, gens);
    if (!out.bad && mode === 'block-reader' && at % BLOCK === 0) out.bad = checkBlock(buf, n, at / PS);
  }
  fs.closeSync(fd);
} else {
  console.error(`data-racer: unknown mode ${mode}`);
  process.exit(2);
}
console.log(JSON.stringify(out));

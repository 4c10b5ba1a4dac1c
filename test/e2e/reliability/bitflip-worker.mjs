// Fault injection runs (child of bitflip.test.mjs, so a crash or a hang is
// caught with its seed): builds the seeded images once, then per seed copies
// one image, flips random bits in random pages of one class (header, link,
// meta, data), mounts it and reads everything. Prints per run
//   start <seed>  then  ok <seed> <json>  or  fail <seed> <message>
//   node bitflip-worker.mjs DIR IMAGE_SEED SEED...
// PRAM_BITFLIP_VARIANT=name: every run on that image only (the others not built), to count one variant's outcomes;
// PRAM_BITFLIP_LOSSES=1: each run's losses in its ok line (said), to tell why it rolled back.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { mount } from '../../../dist/api/index.js';
import { Prng } from '../../../dist/machine/prng.js';
import { PS, buildImage, depsOf, logMap, pageMap } from './image.mjs';

const [dir, imageSeed, ...seedArgs] = process.argv.slice(2);
const say = (line) => fs.writeSync(1, line + '\n');
const CLASSES = ['header', 'link', 'meta', 'data'];
export const VARIANTS = [
  { name: 'v1', v1: true },
  { name: 'v2', checkpoints: 1 },
  { name: 'v2-extents-2ckpt', extents: true, checkpoints: 2 },
  { name: 'v2-many', many: 250, sizeBytes: 8 << 20 },
  // v3: a record log built by a compaction and two appended commits (link/meta: log pages, records, next pointers).
  { name: 'v3', v3: true, checkpoints: 2 },
  // v3 minor 3: one whole compaction and nothing after it, so a lazy mount boots it from its index and
  // loads each directory's group as the walk reaches it (damage found then, as late losses).
  { name: 'v3-lazy', v3: true, checkpoints: 1 },
  // The same as a compaction in slices (its index and RUNS written over many slices): booted lazily too.
  { name: 'v3-sliced', v3: true, checkpoints: 1, sliced: true },
  // and a small commit after it: a lazy mount reads the groups it touches and replays it over them.
  { name: 'v3-lazy-tail', v3: true, checkpoints: 1, tail: true },
  // A compaction in slices (a directory moved while it ran: in its publish step's records) and a commit after it moving
  // another: a lazy mount replays them over the groups they touch (HOMES: each directory's parent).
  { name: 'v3-sliced-tail', v3: true, checkpoints: 1, sliced: true, slicedTail: true, moveDuring: true },
  // v3 minor 5: the same compaction and nothing after its publish: damage in the publish step loads the commit before it (the older slot's log).
  { name: 'v3-sliced-publish', v3: true, checkpoints: 1, sliced: true, moveDuring: true, publishLast: true },
  // v3 minor 4: a compaction, a session that read every file (its commit: ATIMES records), a commit after it.
  // (Index 10, after minor 5's: known-bugs.test.mjs seeds of image 9 keep their runs.)
  { name: 'v3-atimes', v3: true, checkpoints: 1, atimes: true },
  // v3 minor 6: the same with many small files: the read session's commit writes its atimes in pages of their own (ATIMES_PAGES).
  { name: 'v3-atimes-pages', v3: true, checkpoints: 1, atimes: true, many: 300, sizeBytes: 12 << 20 },
];

const only = process.env['PRAM_BITFLIP_VARIANT'];
if (only && !VARIANTS.some((v) => v.name === only)) throw new Error(`no variant ${only}`);
const images = [];
for (const [i, v] of VARIANTS.entries()) {
  if (only && v.name !== only) { images.push(null); continue; }
  const file = path.join(dir, `${v.name}.arena`);
  const { expect, older, states } = await buildImage(file, Number(imageSeed) * 10 + i, v);
  const bytes = fs.readFileSync(file);
  const newestGen = Number([64, 128].map((o) => bytes.readBigUInt64LE(o)).reduce((a, b) => (a > b ? a : b)));
  // The newest commit is a state too: damage in its last record may "roll back" to it (commits newest+1.. not replayed).
  if (v.v3 && !states.has(newestGen)) states.set(newestGen, expect);
  images.push({ ...v, expect, older, states, newestGen, bytes, map: v.v3 ? await logMap(file, bytes) : pageMap(bytes) });
}
const work = path.join(dir, 'run.arena');

async function runOne(seed) {
  const r = new Prng(seed);
  // The four chain images drawn as before (known-bugs.test.mjs seeds keep their runs); every fifth seed a v3 log (every tenth the lazy one: whole, or every twentieth in slices;
  // seed % 20 = 14: the whole one with a commit after it; seed % 80 = 39: the one in slices with a tail; seed % 80 = 79: the one ending at its publish).
  const pick = r.below(4), chain = only ? images.find(Boolean) : images[pick];   // (drawn either way: a seed runs alike with PRAM_BITFLIP_VARIANT)
  // seed % 40 = 29: the one whose tail holds ATIMES records (v3 minor 4); seed % 40 = 24: ATIMES_PAGES (minor 6, half of the plain v3 one's).
  const sliced = seed % 40 === 39 ? (seed % 80 === 79 ? 9 : 8) : 6;
  const img = only ? chain : seed % 5 === 4 ? images[seed % 10 === 9 ? (seed % 20 === 19 ? sliced : seed % 40 === 29 ? 10 : 5) : seed % 20 === 14 ? 7 : seed % 40 === 24 ? 11 : 4] : chain;
  let cls = CLASSES[r.below(CLASSES.length)];
  // v3 minor 2: a third of the log-record runs flip bits only inside the compaction's LOCATE and INDEX records.
  if (img.v3 && cls === 'meta' && img.map.cls.index.length && r.chance(1 / 3)) cls = 'index';
  // v3 minor 4: two thirds of the ATIMES image's log runs flip bits only inside its ATIMES records.
  else if (img.atimes && (cls === 'meta' || cls === 'link') && r.chance(2 / 3)) cls = img.map.cls.atimespages.length && r.chance(1 / 2) ? 'atimespages' : 'atimes';
  const pool = img.map.cls[cls];
  const npages = cls === 'link' || cls === 'header' ? 1 : r.range(1, 3);
  const hit = new Set(), pieces = [];
  for (let i = 0; i < npages; i++) {
    const x = pool[r.below(pool.length)];
    if (cls === 'index' || cls === 'atimes' || cls === 'atimespages') { hit.add(x.pfn); pieces.push(x); } else hit.add(x);
  }
  const bytes = Buffer.from(img.bytes);
  if (cls === 'index' || cls === 'atimes' || cls === 'atimespages') {
    for (const { pfn, lo, hi } of pieces) for (let k = r.range(1, 8); k > 0; k--) bytes[pfn * PS + lo + r.below(hi - lo)] ^= 1 << r.below(8);
  } else for (const pfn of hit) {
    for (let k = r.range(1, 8); k > 0; k--) {
      const logEnd = img.v3 && cls !== 'header' && cls !== 'data' ? img.map.log.find((l) => l.pfn === pfn).end : PS;   // v3: the committed bytes
      const byte = cls === 'header' && r.chance(0.9) ? r.below(192) : r.below(logEnd);
      bytes[pfn * PS + byte] ^= 1 << r.below(8);
    }
  }
  fs.writeFileSync(work, bytes, { mode: 0o600 });
  // Any changed byte of slot A or B (all covered by the slot crc) must be reported or refuse the mount.
  const slotHit = cls === 'header' && [...Array(128).keys()].some((i) => bytes[64 + i] !== img.bytes[64 + i]);
  const verify = r.chance(0.3) ? 'lazy' : 'full';
  const where = `${img.name}, ${cls} pages ${[...hit].join(',')}, verify ${verify}`;
  const out = { variant: img.name, cls, refused: false, losses: 0, eio: 0, lostPaths: 0 };

  process.env['PRAM_FORMAT'] = img.v3 ? '3' : '2';
  // A lazy mount with its checking thread (pram/verify.ts) on odd seeds: these images are below its size rule.
  process.env['PRAM_VERIFY_AHEAD'] = seed % 2 ? '1' : '0';
  let pfs;
  try {
    pfs = await mount({ arena: work, cmdline: '', verify, warn: () => {} });
  } catch (e) {
    if (cls !== 'header') throw new Error(`${where}: mount refused: ${e.message}`);
    if (!e.code || !/mount/.test(e.syscall ?? '')) throw new Error(`${where}: mount threw a non-Node error: ${e.stack}`);
    // Only slot bytes changed: the refusal must be the damaged-slot one (EIO, naming the slot).
    const fieldsHit = [...Array(32).keys()].some((i) => bytes[i] !== img.bytes[i]);
    if (!fieldsHit && (e.code !== 'EIO' || !/arena header slot [AB] is damaged/.test(e.message))) throw new Error(`${where}: refused without naming the damaged slot: ${e.message}`);
    out.refused = true;
    out.code = e.code;
    out.message = e.message;
    return out;
  }
  try {
    const problems = [];
    const losses0 = [...pfs.losses];
    const slotLoss = losses0.some((l) => /^arena header slot [AB] is damaged/.test(l.what));
    if (slotHit && !slotLoss) problems.push('a header slot was damaged and no loss says so');
    if (!slotHit && slotLoss) problems.push('a slot loss was reported but no slot byte changed');
    // A damaged slot falls back to the other slot's (older) checkpoint: that is what must read back.
    const generation = pfs.volume.pram?.stats().generation ?? 0;
    if (generation !== img.newestGen && !slotLoss) problems.push(`mounted generation ${generation}, not the newest ${img.newestGen}, silently`);
    // v3: damage that may reach an appended commit loads an older commit whole, and says which.
    const rolled = losses0.map((l) => /the image loaded is that of commit (\d+)/.exec(l.what)).find(Boolean);
    const loadedGen = rolled ? Number(rolled[1]) : generation;
    const expect = rolled ? img.states?.get(loadedGen) ?? new Map() : generation === img.older?.generation ? img.older.expect : img.expect;
    if (rolled && !img.states?.has(loadedGen) && loadedGen !== 0) problems.push(`rolled back to commit ${loadedGen}, which the image never had`);
    out.generation = generation;
    if (rolled) out.rolledTo = loadedGen;
    const byIno = new Map([...expect].map(([p, rec]) => [rec.ino, rec]));
    const seen = new Set();
    let eio = 0;
    const walk = async (d) => {
      let list;
      try { list = await pfs.readdir(d, { withFileTypes: true }); } catch (e) { if (e.code === 'EIO') { eio++; return; } throw e; }
      for (const ent of list) {
        const p = d === '/' ? `/${ent.name}` : `${d}/${ent.name}`;
        const st = await pfs.lstat(p);
        seen.add(p);
        const want = expect.get(p) ?? (p.startsWith('/lost+found') ? byIno.get(st.ino) : undefined);
        if (!want) { if (!p.startsWith('/lost+found')) problems.push(`${p} appeared from nowhere`); }
        else if (want.ino !== st.ino) problems.push(`${p} is ino ${st.ino}, was ${want.ino}`);
        if (ent.isDirectory()) { await walk(p); continue; }
        if (ent.isSymbolicLink()) {
          try { const t = await pfs.readlink(p); if (want && t !== want.target) problems.push(`${p} -> ${t}, was ${want.target}`); }
          catch (e) { if (e.code !== 'EIO') throw e; eio++; }
          continue;
        }
        if (!ent.isFile()) continue;
        if (want && st.size !== want.content.length) problems.push(`${p} has ${st.size} bytes, was ${want.content.length}`);
        const h = await pfs.open(p, 'r');
        try {
          for (let pos = 0; pos < st.size; pos += PS) {
            try {
              const { buffer, bytesRead } = await h.read(Buffer.alloc(PS), 0, PS, pos);
              if (want && Buffer.compare(buffer.subarray(0, bytesRead), want.content.subarray(pos, pos + bytesRead)) !== 0) {
                problems.push(`${p} bytes ${pos}..${pos + bytesRead} read back WRONG without an error`);
              }
            } catch (e) { if (e.code !== 'EIO') throw e; eio++; }
          }
        } finally { await h.close(); }
        if (want) for (const [x, v] of Object.entries(want.xattrs)) {
          try { if (!(await pfs.getxattr(p, x)).equals(v)) problems.push(`${p} xattr ${x} WRONG without an error`); }
          catch (e) { if (!['ENODATA', 'EIO'].includes(e.code)) throw e; }
        }
      }
    };
    await walk('/');
    out.eio = eio;
    const losses = [...pfs.losses, ...(pfs.volume.pram?.stats().losses ?? [])];
    out.losses = losses.length;
    // v3 minor 5: damage in one copy of a publish step read from the other (nothing lost).
    if (process.env['PRAM_BITFLIP_LOSSES']) out.said = losses.map((l) => l.what);
    out.covered = losses.filter((l) => /is written twice and what this skipped was read from its other copy/.test(l.what)).length;
    // Every chain page is checksummed whole: any flip in one must be reported.
    if (cls !== 'header' && losses.length === 0) problems.push('bits flipped in a chain page and no loss was reported');
    // LOCATE and INDEX hold no file: damage there is reported and costs nothing. ATIMES hold atimes only: an exact loss, no file lost.
    // (minor 6) The pages of an ATIMES_PAGES record hold atimes only too.
    const indexOnly = cls === 'index' || cls === 'atimes' || cls === 'atimespages';
    // Untouched paths come back identical (header damage: every path depends on it).
    for (const [p, want] of expect) {
      const deps = depsOf(p, expect, img.map);
      if (!indexOnly && [...hit].some((x) => deps.has(x))) { if (!seen.has(p)) out.lostPaths++; continue; }
      if (!seen.has(p)) { problems.push(`${p} is gone, though none of its pages was touched`); continue; }
      if (want.kind === 'file') {
        try { if (!(await pfs.readFile(p)).equals(want.content)) problems.push(`${p} (untouched) differs`); }
        catch (e) { problems.push(`${p} (untouched) unreadable: ${e.code}`); }
      }
      for (const [x, v] of Object.entries(want.xattrs)) {
        try { if (!(await pfs.getxattr(p, x)).equals(v)) problems.push(`${p} (untouched) xattr ${x} differs`); }
        catch (e) { problems.push(`${p} (untouched) xattr ${x}: ${e.code}`); }
      }
    }
    // Header damage that did not refuse the mount: either everything is back, or something is reported.
    if (cls === 'header' && losses.length === 0) {
      for (const p of expect.keys()) if (!seen.has(p)) problems.push(`header damage lost ${p} silently (no loss reported)`);
    }
    if (problems.length) {
      const named = losses.filter((l) => l.path && problems.some((m) => m.startsWith(`${l.path} `))).map((l) => `${l.path}: ${l.what}`);
      throw new Error(`${where}: ${problems.slice(0, 6).join('; ')}${problems.length > 6 ? ` (+${problems.length - 6})` : ''}; losses for these paths: ${named.join('; ') || 'none'}`);
    }
    return out;
  } finally {
    await pfs.unmount({ save: false });
  }
}

for (const s of seedArgs) {
  const seed = Number(s);
  say(`start ${seed}`);
  try { say(`ok ${seed} ${JSON.stringify(await runOne(seed))}`); }
  catch (e) { say(`fail ${seed} ${String(process.env.PRAM_BITFLIP_STACK ? e.stack : e.message ?? e).replace(/\n/g, ' | ')}`); }
}

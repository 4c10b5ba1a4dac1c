// The loader's fuzz target (child of fuzz.test.mjs): per case, memory built
// from random bytes or from a real saved image mutated with hostile values
// (lens, pfns, indexes, types, sizes, name lengths, names with '/' or NUL,
// tails), usually with every checksum recomputed so the damage reaches past
// the crc checks; then Volume.mount on a SimRam, a walk that reads
// everything, a checkpoint of what loaded, and a second mount of that.
// Only MountError may escape; a negative errno is an answer, anything thrown
// is a bug. Prints `c <seed>` before each case, `fail <seed> <stack>`, and
// finally `done <cases> <json>`.
//   node fuzz-worker.mjs DIR SECONDS BASE_SEED   or   node fuzz-worker.mjs DIR one SEED
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Volume } from '../../../dist/fs/volume.js';
import { MountError } from '../../../dist/fs/mount.js';
import { SimRam } from '../../../dist/mem/simram.js';
import { ArenaHeaderHandoff, MemoryHandoff } from '../../../dist/pram/handoff.js';
import { crc32c, crc32le } from '../../../dist/format/crc.js';
import { Prng } from '../../../dist/machine/prng.js';
import { PS, buildImage, pageMap } from './image.mjs';

const [dir, mode, arg] = process.argv.slice(2);
const say = (line) => fs.writeSync(1, line + '\n');
const images = [];
for (const [i, v] of [{ many: 60, sizeBytes: 2 << 20 }, { extents: true, checkpoints: 2, sizeBytes: 2 << 20 }, { v1: true, sizeBytes: 2 << 20 }].entries()) {
  const file = path.join(dir, `fuzz${i}.arena`);
  await buildImage(file, 900 + i, v);
  const bytes = fs.readFileSync(file);
  images.push({ bytes, map: pageMap(bytes) });
}

const stats = { cases: 0, refused: 0, mounted: 0, losses: 0, files: 0, errnos: 0, resaved: 0 };

function interesting(r, img) {
  const pc = img ? img.bytes.length / PS : 64;
  const v = [0, 1, 2, 169, 170, 255, 256, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, pc - 1, pc, img?.map.head ?? 1];
  return r.chance(0.8) ? v[r.below(v.length)] : r.next();
}
const put64 = (b, o, x) => b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(x)), o);

function mutate(r, img, mem) {
  const { cls } = img.map;
  const chain = [...cls.link, ...cls.meta, ...cls.data];
  const page = (pfn) => mem.page(pfn);
  for (let k = r.range(1, 4); k > 0; k--) {
    const L = cls.link.length ? page(cls.link[r.below(cls.link.length)]) : page(1);
    const M = cls.meta.length ? page(cls.meta[r.below(cls.meta.length)]) : page(1);
    const e = 24 + 24 * r.below(Math.max(1, Math.min(169, L.readUInt32LE(8))));
    switch (r.below(14)) {
      case 0: { const p = page(chain[r.below(chain.length)]); for (let i = r.range(1, 16); i > 0; i--) p[r.below(PS)] ^= 1 << r.below(8); break; }
      case 1: L.writeUInt32LE(interesting(r, img) >>> 0, 8); break;                            // len
      case 2: put64(L, 16, interesting(r, img)); break;                                         // link_pfn: cycles, beyond memory
      case 3: L.writeUInt32LE(interesting(r, img) >>> 0, 12); break;                           // skip
      case 4: L.writeUInt32LE(((r.below(9) | (r.chance(0.3) ? r.below(40) << 16 : 0)) | (r.chance(0.5) ? 0x100 : 0)) >>> 0, e); break; // type, extent count
      case 5: put64(L, e + 8, r.chance(0.5) ? interesting(r, img) : chain[r.below(chain.length)]); break; // pfn: dup, a link page, beyond
      case 6: put64(L, e + 16, r.chance(0.5) ? interesting(r, img) : 2 ** r.below(64)); break;  // index
      case 7: put64(M, 0, r.chance(0.5) ? interesting(r, img) : 2 ** r.below(64)); break;      // size
      case 8: M.writeUInt32LE(r.chance(0.5) ? (r.below(16) << 12) | 0o644 : r.next(), 8); break; // mode
      case 9: M.writeUInt32LE(interesting(r, img) >>> 0, 12); break;                            // name_len
      case 10: { const n = ['/', '\0', '.', '..', 'a/b', ''][r.below(6)]; Buffer.from(n).copy(M, 16); M.writeUInt32LE(r.chance(0.5) ? n.length : M.readUInt32LE(12), 12); break; }
      case 11: { const off = 280 + 8 * r.below(11); if (off < 360) put64(M, off, interesting(r, img)); break; } // tail fields
      case 12: page(chain[r.below(chain.length)]).set(page(chain[r.below(chain.length)])); break; // a page copied over another
      default: { const p = page(1 + r.below(mem.pageCount - 1)); r.fill(p); }                  // garbage anywhere
    }
  }
}

/** Recompute checksums so a mutation is not stopped at the crc: tails, entries, link pages. */
function reseal(mem, img) {
  for (const pfn of img.map.cls.meta) {
    const p = mem.page(pfn);
    if (p.readUInt32LE(272) !== 0x78746d70) continue;
    const inline = Math.min(p.readUInt32LE(356), PS - 368);
    p.writeUInt32LE(crc32c(p.subarray(368, 368 + inline), crc32c(p.subarray(272, 364))) >>> 0, 364);
  }
  for (const pfn of img.map.cls.link) {
    const L = mem.page(pfn);
    const len = Math.min(L.readUInt32LE(8), 169);
    for (let i = 0; i < len; i++) {
      const o = 24 + 24 * i;
      const target = Number(L.readBigUInt64LE(o + 8));
      const count = (L.readUInt32LE(o) & 0xff) === 6 ? Math.max(1, L.readUInt32LE(o) >>> 16) : 1;
      if (target >= 1 && target + count <= mem.pageCount) {
        let c = 0;
        for (let q = 0; q < count; q++) c = crc32c(mem.page(target + q), c);
        L.writeUInt32LE(c >>> 0, o + 4);
      }
    }
    L.writeUInt32LE(crc32le(L.subarray(8)) >>> 0, 4);
  }
}

/** Reads everything a mount shows, bounded: depth, entries, bytes. */
function walk(v, ino, depth, seen) {
  if (depth > 40 || seen.size > 5000) return;
  const list = v.readdir(ino, 0, 10_000);
  if (typeof list === 'number') { stats.errnos++; return; }
  for (const d of list) {
    if (d.name === '.' || d.name === '..' || seen.has(d.ino)) continue;
    seen.add(d.ino);
    const a = v.getattr(d.ino);
    if (typeof a === 'number') { stats.errnos++; continue; }
    const fmt = a.mode & 0o170000;
    if (fmt === 0o040000) { walk(v, d.ino, depth + 1, seen); continue; }
    if (fmt === 0o120000) { if (typeof v.readlink(d.ino) === 'number') stats.errnos++; continue; }
    stats.files++;
    for (let pos = 0; pos < Math.min(a.size, 1 << 20); pos += 64 << 10) if (typeof v.read(d.ino, pos, 64 << 10) === 'number') stats.errnos++;
    v.read(d.ino, a.size, 10);
    const xs = v.listxattr(d.ino);
    if (Array.isArray(xs)) for (const x of xs) v.getxattr(d.ino, x);
  }
}

function mountOnce(mem, handoff, r) {
  let v;
  try {
    v = Volume.mount({ mem, handoff, verify: r.chance(0.5) ? 'full' : 'lazy', strict: r.chance(0.8), keepMemOpen: true, cmdline: '' });
  } catch (e) {
    if (e instanceof MountError && e.errno < 0 && e.message) { stats.refused++; return null; }
    throw e;
  }
  stats.mounted++;
  stats.losses += v.losses.length;
  walk(v, 1, 0, new Set([1]));
  return v;
}

function runCase(seed) {
  const r = new Prng(seed);
  let mem, handoff;
  if (r.chance(0.15)) {
    mem = new SimRam({ pageSize: PS, pageCount: r.range(2, 48) });
    for (let p = 0; p < mem.pageCount; p++) r.fill(mem.page(p));
    handoff = new MemoryHandoff(r.chance(0.5) ? r.below(mem.pageCount) : interesting(r, null), 1);
  } else {
    const img = images[r.below(images.length)];
    mem = new SimRam({ pageSize: PS, pageCount: img.bytes.length / PS });
    for (let p = 0; p < mem.pageCount; p++) img.bytes.copy(mem.page(p), 0, p * PS, (p + 1) * PS);
    mutate(r, img, mem);
    if (r.chance(0.75)) reseal(mem, img);
    const h = r.chance(0.7) ? ArenaHeaderHandoff.attach(mem) : new MemoryHandoff(img.map.head, 1);
    if (!(h instanceof ArenaHeaderHandoff || h instanceof MemoryHandoff)) { stats.refused++; return; } // AttachError: documented
    handoff = h;
  }
  const v = mountOnce(mem, handoff, r);
  if (!v) return;
  // What loaded must save and load again (the damage it kept stays visible).
  if (v.sync() === 0) {
    stats.resaved++;
    v.detach();
    const again = mountOnce(mem, handoff, r);
    again?.detach();
  } else v.detach();
}

const one = mode === 'one';
const end = Date.now() + Number(one ? 0 : mode) * 1000;
let seed = Number(arg);
do {
  say(`c ${seed}`);
  try { runCase(seed); } catch (e) { say(`fail ${seed} ${String(e?.stack ?? e).replace(/\n/g, ' | ')}`); }
  stats.cases++;
  // SimRam buffers are external memory the heap limit does not see: collect, then measure (a leak stays).
  if (stats.cases % 50 === 0) globalThis.gc?.();
  if (stats.cases % 50 === 0 && process.memoryUsage().rss > 1.5 * 2 ** 30) { say(`fail ${seed} memory: rss ${process.memoryUsage().rss} bytes after ${stats.cases} cases`); break; }
  seed++;
} while (!one && Date.now() < end);
if (process.memoryUsage().rss > 1.5 * 2 ** 30) say(`fail ${seed - (one ? 0 : 1)} memory: rss ${process.memoryUsage().rss} bytes at the end`);
say(`done ${stats.cases} ${JSON.stringify(stats)}`);

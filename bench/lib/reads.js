// Issue 19: in-process reads, pram vs node:fs on tmpfs, same process, equal
// work (the same bytes end up readable by the caller). Each rep is a fresh
// Node process (`node bench/lib/reads.js --child JSON`) holding node's files
// and two arenas, one mounted with full and one with lazy verification; the
// three sides alternate within each pass, so load on a shared machine hits
// them alike. "fresh" is the first pass over a just-mounted arena whose pages
// this process has not touched; "touched" the later passes. Standalone:
// `node bench/lib/reads.js [--quick] [--reps N]` prints the table; run.js
// calls readsBench() for `npm run bench -- --only reads`.
import * as fs from 'node:fs';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { apiMount, arenaBytesFor, loadApi } from './pramlib.js';

const MIB = 1 << 20, KIB = 1024;
const SELF = fileURLToPath(import.meta.url);
const SHM = '/dev/shm';

/** Seeded offsets (LCG): the same random order for node fs and pram. */
function offsets(bytes, bs, seed) {
  const n = bytes / bs;
  const out = new Float64Array(n);
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; out[i] = (x % n) * bs; }
  return out;
}

/** One byte of every 4 KiB page summed: proves each page was really made readable, cheap enough not to drown the read. */
function touch(b, sum) {
  for (let i = 0; i < b.length; i += 4096) sum = (sum + b[i]) | 0;
  return sum;
}

function fill(n, seed) {
  const b = Buffer.allocUnsafe(n);
  let x = seed;
  for (let i = 0; i < n; i += 4) { x = (Math.imul(x, 1103515245) + 12345) >>> 0; b.writeUInt32LE(x, i); }
  return b;
}

async function timed(f) { const t0 = performance.now(); const r = await f(); return [performance.now() - t0, r]; }

// ---- the child: node fs, a fully verified and a lazily verified mount, side by side ----
async function childRun({ bytes, seed }) {
  const api = await loadApi();
  if (api.missing) return { missing: api.missing };
  const tag = `reads-bench-${process.pid}`;
  const tmp = `${SHM}/${tag}.tmp`, tmp1 = `${SHM}/${tag}-1m.tmp`, tmp64 = `${SHM}/${tag}-64m.tmp`;
  const arenas = { full: `${SHM}/${tag}-full.pram`, lazy: `${SHM}/${tag}-lazy.pram` };
  const big = fill(bytes, seed), one = big.subarray(0, MIB), sixtyFour = fill(64 * MIB, seed + 1);
  const res = { bytes, seq: {}, rand: {}, readFile: {}, views: {} };
  const pfs = {}, h = {};
  try {
    // Write every side, then mount each arena again: nothing of it is touched by this process yet.
    fs.writeFileSync(tmp, big); fs.writeFileSync(tmp1, one); fs.writeFileSync(tmp64, sixtyFour);
    for (const verify of ['full', 'lazy']) {
      const w = await apiMount(api, { arena: arenas[verify], sizeBytes: arenaBytesFor(bytes + 66 * MIB) });
      await w.writeFile('/big', big); await w.writeFile('/1m', one); await w.writeFile('/64m', sixtyFour);
      await w.unmount();
    }
    for (const verify of ['full', 'lazy']) { pfs[verify] = await apiMount(api, { arena: arenas[verify], verify }); h[verify] = await pfs[verify].open('/big'); }
    const fd = fs.openSync(tmp, 'r');
    // Passes: 0 = fresh (first touch of the arena's pages; lazy verifies here), then touched. The three sides alternate within a pass.
    const measure = async (row, reps, sides) => {
      for (let pass = 0; pass < 3; pass++) {
        const sums = {};
        for (const [who, run] of Object.entries(sides)) {
          const [ms, sum] = await timed(run);
          (row[who] ??= []).push(ms / reps);
          sums[who] = sum;
        }
        if (new Set(Object.values(sums)).size !== 1) throw new Error(`checksums differ: ${JSON.stringify(sums)}`);
      }
    };
    for (const bs of [4 * KIB, MIB]) {
      const buf = Buffer.allocUnsafe(bs);
      const n = bytes / bs;
      for (const [name, order] of [['seq', null], ['rand', offsets(bytes, bs, seed)]]) {
        const at = order ? (i) => order[i] : (i) => i * bs;
        const pram = (x) => async () => { let s = 0; for (let i = 0; i < n; i++) { await x.read(buf, 0, bs, at(i)); s = touch(buf, s); } return s; };
        await measure((res[name][bs] = {}), 1, {
          node: () => { let s = 0; for (let i = 0; i < n; i++) { fs.readSync(fd, buf, 0, bs, at(i)); s = touch(buf, s); } return s; },
          full: pram(h.full), lazy: pram(h.lazy),
        });
      }
      // Views of bs-sized ranges, in order: bytes made available, one byte per page summed.
      const view = (x) => async () => {
        let s = 0;
        for (let i = 0; i < n; i++) { const v = await x.view(i * bs, bs); for (const b of v.buffers) s = touch(b, s); v.release(); }
        return s;
      };
      await measure((res.views[bs] = {}), 1, {
        node: () => { let s = 0; for (let i = 0; i < n; i++) { fs.readSync(fd, buf, 0, bs, i * bs); s = touch(buf, s); } return s; },
        full: view(h.full), lazy: view(h.lazy),
      });
    }
    // Nothing skipped: a full checksum over every 1 MiB view equals one over node's bytes (untimed).
    const want = wholeSumNode(fd, bytes);
    res.viewsVerified = (await wholeSum(h.full, bytes)) === want && (await wholeSum(h.lazy, bytes)) === want;
    fs.closeSync(fd);
    // readFile: 1 MiB x 64 and 64 MiB x 2, each into a new Buffer.
    for (const [name, file, reps] of [['1m', tmp1, 64], ['64m', tmp64, 2]]) {
      const pram = (p) => async () => { let s = 0; for (let i = 0; i < reps; i++) s = touch(await p.readFile('/' + name), s); return s; };
      await measure((res.readFile[name] = {}), reps, {
        node: () => { let s = 0; for (let i = 0; i < reps; i++) s = touch(fs.readFileSync(file), s); return s; },
        nodePromises: async () => { let s = 0; for (let i = 0; i < reps; i++) s = touch(await fs.promises.readFile(file), s); return s; },
        full: pram(pfs.full), lazy: pram(pfs.lazy),
      });
    }
  } finally {
    for (const verify of ['full', 'lazy']) { await h[verify]?.close(); await pfs[verify]?.unmount({ save: false }); }
    for (const p of [arenas.full, arenas.lazy, tmp, tmp1, tmp64]) fs.rmSync(p, { force: true });
  }
  return res;
}

async function wholeSum(h, bytes) {
  let s = 0;
  for (let off = 0; off < bytes; off += MIB) {
    const v = await h.view(off, MIB);
    for (const b of v.buffers) for (let i = 0; i < b.length; i += 4) s = (s + b.readUInt32LE(i)) | 0;
    v.release();
  }
  return s;
}

function wholeSumNode(fd, bytes) {
  const b = Buffer.allocUnsafe(MIB);
  let s = 0;
  for (let off = 0; off < bytes; off += MIB) {
    fs.readSync(fd, b, 0, MIB, off);
    for (let i = 0; i < b.length; i += 4) s = (s + b.readUInt32LE(i)) | 0;
  }
  return s;
}

// ---- the parent: reps x {full, lazy}, medians, ratios, markdown ----
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2 : NaN; };
const gbs = (bytes, ms) => bytes / ms / 1e6;

export async function readsBench({ quick = false, reps = 3, status = () => {} } = {}) {
  const bytes = quick ? 64 * MIB : 256 * MIB;
  const runs = [];
  for (let rep = 0; rep < reps; rep++) {
    status(`reads rep ${rep + 1}/${reps}`);
    const out = execFileSync(process.execPath, [SELF, '--child', JSON.stringify({ bytes, seed: 1234 + rep })],
      { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
    runs.push(JSON.parse(out.trim().split('\n').at(-1)));
  }
  const res = { bytes, reps, runs, load: fs.readFileSync('/proc/loadavg', 'utf8').trim() };
  res.markdown = markdown(res);
  return res;
}

/** Median over reps of per-pass ms: pass 0 fresh, touched = median of passes 1-2. */
function cell(runs, pick, who, touched) {
  return median(runs.map((r) => { const l = pick(r)[who]; return touched ? median(l.slice(1)) : l[0]; }));
}

function markdown({ bytes, reps, runs, load }) {
  const out = [`## In-process reads (issue 19): pram vs node:fs on tmpfs, ${bytes / MIB} MiB, ${reps} reps, load ${load}`, ''];
  out.push('GB/s, medians. node: readSync (readFileSync for readFile); pram: the library API (FileHandle.read, pfs.readFile, FileHandle.view), mounted with full and with lazy verification, in the same process, alternating. ×: pram / node. fresh: first pass after mount; touched: later passes.', '');
  out.push('| scenario | pass | node | pram full | × | pram lazy | × | lazy vs full |', '|---|---|---|---|---|---|---|---|');
  const ratios = {};
  const line = (name, bytesPer, pick) => {
    for (const touched of [false, true]) {
      const [n, f, l] = ['node', 'full', 'lazy'].map((who) => cell(runs, pick, who, touched));
      out.push(`| ${name} | ${touched ? 'touched' : 'fresh'} | ${gbs(bytesPer, n).toFixed(2)} | ${gbs(bytesPer, f).toFixed(2)} | ${(n / f).toFixed(2)} | ${gbs(bytesPer, l).toFixed(2)} | ${(n / l).toFixed(2)} | ${((l / f - 1) * 100).toFixed(1)} % |`);
      if (touched) ratios[name] = { full: n / f, lazy: n / l, lazyVsFull: (l / f - 1) * 100 };
    }
  };
  for (const bs of [4 * KIB, MIB]) {
    const b = bs === MIB ? '1 MiB' : '4 KiB';
    line(`read seq ${b}`, bytes, (x) => x.seq[bs]);
    line(`read rand ${b}`, bytes, (x) => x.rand[bs]);
    line(`view ${b} ranges`, bytes, (x) => x.views[bs]);
  }
  line('readFile 1 MiB', MIB, (x) => x.readFile['1m']);
  line('readFile 64 MiB', 64 * MIB, (x) => x.readFile['64m']);
  const q = (name) => gbs(name === '1m' ? MIB : 64 * MIB, cell(runs, (x) => x.readFile[name], 'nodePromises', true)).toFixed(2);
  out.push('', `node fs/promises readFile (touched): 1 MiB ${q('1m')} GB/s, 64 MiB ${q('64m')} GB/s.`);
  out.push(`Full checksum over every 1 MiB view equals node's bytes: ${runs.every((r) => r.viewsVerified)}.`);
  const t = (name, k = 'full') => ratios[name][k].toFixed(2);
  out.push(`Targets (touched): read 4 KiB >= 1.5× (seq ${t('read seq 4 KiB')}×, rand ${t('read rand 4 KiB')}×); read 1 MiB >= 1.2× (seq ${t('read seq 1 MiB')}×, rand ${t('read rand 1 MiB')}×); ` +
    `views 1 MiB >= 10× (${t('view 1 MiB ranges')}×); lazy within 10 % of full (seq 4 KiB ${ratios['read seq 4 KiB'].lazyVsFull.toFixed(1)} %, seq 1 MiB ${ratios['read seq 1 MiB'].lazyVsFull.toFixed(1)} %, views 1 MiB ${ratios['view 1 MiB ranges'].lazyVsFull.toFixed(1)} %).`);
  return out.join('\n');
}

if (process.argv[1] === SELF) {
  const argv = process.argv.slice(2);
  if (argv[0] === '--child') {
    const r = await childRun(JSON.parse(argv[1]));
    process.stdout.write(JSON.stringify(r) + '\n');
  } else {
    const reps = argv.includes('--reps') ? Number(argv[argv.indexOf('--reps') + 1]) : 3;
    const r = await readsBench({ quick: argv.includes('--quick'), reps, status: (l) => process.stderr.write(`reads: ${l}\n`) });
    process.stdout.write(r.markdown + '\n');
  }
}

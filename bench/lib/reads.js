// Issue 19: in-process reads, pram vs node:fs on tmpfs, same process, equal
// work (the same bytes end up readable by the caller). Each rep is a fresh
// Node process (`node bench/lib/reads.js --child JSON`) per verify mode, so
// "fresh" really is a just-mounted arena whose pages this process has not
// touched; "touched" is the next pass over the same bytes. Standalone:
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

// ---- the child: one mount, every scenario, node fs beside it ----
async function childRun({ bytes, verify, seed }) {
  const api = await loadApi();
  if (api.missing) return { missing: api.missing };
  const tag = `reads-bench-${process.pid}`;
  const arena = `${SHM}/${tag}.pram`, tmp = `${SHM}/${tag}.tmp`, tmp1 = `${SHM}/${tag}-1m.tmp`, tmp64 = `${SHM}/${tag}-64m.tmp`;
  const big = fill(bytes, seed), one = big.subarray(0, MIB), sixtyFour = fill(64 * MIB, seed + 1);
  const res = { verify, bytes, seq: {}, rand: {}, readFile: {}, views: {} };
  try {
    // Write both sides, then remount pram in `verify` mode: nothing of the arena is touched by this process yet.
    fs.writeFileSync(tmp, big); fs.writeFileSync(tmp1, one); fs.writeFileSync(tmp64, sixtyFour);
    let pfs = await apiMount(api, { arena, sizeBytes: arenaBytesFor(bytes + 66 * MIB) });
    await pfs.writeFile('/big', big); await pfs.writeFile('/1m', one); await pfs.writeFile('/64m', sixtyFour);
    await pfs.unmount();
    [res.mountMs, pfs] = await timed(() => apiMount(api, { arena, verify }));
    const h = await pfs.open('/big');
    const fd = fs.openSync(tmp, 'r');
    for (const bs of [4 * KIB, MIB]) {
      const buf = Buffer.allocUnsafe(bs);
      const n = bytes / bs;
      const passes = (name, order) => {
        const row = (res[name][bs] = { node: [], pram: [] });
        return { row, order };
      };
      for (const [name, order] of [['seq', null], ['rand', offsets(bytes, bs, seed)]]) {
        const { row } = passes(name, order);
        const at = (i) => (order ? order[i] : i * bs);
        // pass 0 = fresh (first touch of the arena's pages; lazy mode verifies here), then touched passes.
        for (let pass = 0; pass < 3; pass++) {
          let sumP = 0, sumN = 0;
          const [tp] = await timed(async () => { for (let i = 0; i < n; i++) { await h.read(buf, 0, bs, at(i)); sumP = touch(buf, sumP); } });
          const [tn] = await timed(() => { for (let i = 0; i < n; i++) { fs.readSync(fd, buf, 0, bs, at(i)); sumN = touch(buf, sumN); } });
          if (sumP !== sumN) throw new Error(`${name} bs=${bs}: checksums differ (pram ${sumP}, node ${sumN})`);
          row.pram.push(tp); row.node.push(tn);
        }
      }
      // Views of 1 MiB (and 4 KiB) ranges, sequential: bytes made available, one byte per page summed.
      const row = (res.views[bs] = { node: [], pram: [] });
      for (let pass = 0; pass < 3; pass++) {
        let sumP = 0, sumN = 0;
        const [tp] = await timed(async () => {
          for (let i = 0; i < n; i++) {
            const v = await h.view(i * bs, bs);
            for (const b of v.buffers) sumP = touch(b, sumP);
            v.release();
          }
        });
        const [tn] = await timed(() => { for (let i = 0; i < n; i++) { fs.readSync(fd, buf, 0, bs, i * bs); sumN = touch(buf, sumN); } });
        if (sumP !== sumN) throw new Error(`views bs=${bs}: checksums differ`);
        row.pram.push(tp); row.node.push(tn);
      }
    }
    // Nothing skipped: a full checksum over every view equals one over node's bytes (untimed).
    res.viewsVerified = await wholeSum(h, bytes) === wholeSumNode(fd, bytes);
    fs.closeSync(fd);
    await h.close();
    // readFile: 1 MiB x 64 and 64 MiB x 2, each into a new Buffer.
    for (const [name, file, reps] of [['1m', tmp1, 64], ['64m', tmp64, 2]]) {
      const row = (res.readFile[name] = { node: [], nodePromises: [], pram: [] });
      for (let pass = 0; pass < 3; pass++) {
        let sumP = 0, sumN = 0, sumQ = 0;
        const [tp] = await timed(async () => { for (let i = 0; i < reps; i++) sumP = touch(await pfs.readFile('/' + name), sumP); });
        const [tn] = await timed(() => { for (let i = 0; i < reps; i++) sumN = touch(fs.readFileSync(file), sumN); });
        const [tq] = await timed(async () => { for (let i = 0; i < reps; i++) sumQ = touch(await fs.promises.readFile(file), sumQ); });
        if (sumP !== sumN || sumN !== sumQ) throw new Error(`readFile ${name}: checksums differ`);
        row.pram.push(tp / reps); row.node.push(tn / reps); row.nodePromises.push(tq / reps);
      }
    }
    await pfs.unmount({ save: false });
  } finally {
    for (const p of [arena, tmp, tmp1, tmp64]) fs.rmSync(p, { force: true });
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
  const runs = { full: [], lazy: [] };
  for (let rep = 0; rep < reps; rep++) {
    for (const verify of ['full', 'lazy']) {
      status(`reads rep ${rep + 1}/${reps}: ${verify}`);
      const out = execFileSync(process.execPath, [SELF, '--child', JSON.stringify({ bytes, verify, seed: 1234 + rep })],
        { encoding: 'utf8', maxBuffer: 16 << 20, stdio: ['ignore', 'pipe', 'inherit'], env: process.env });
      runs[verify].push(JSON.parse(out.trim().split('\n').at(-1)));
    }
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
  out.push('GB/s, medians; ratio = pram / node fs (readSync; readFileSync for readFile). fresh: first pass after mount; touched: later passes.', '');
  out.push('| scenario | verify | node fresh | pram fresh | ratio | node touched | pram touched | ratio |', '|---|---|---|---|---|---|---|---|');
  const line = (name, verify, bytesPer, pick) => {
    const r = runs[verify];
    const [nf, pf, nt, pt] = [cell(r, pick, 'node', false), cell(r, pick, 'pram', false), cell(r, pick, 'node', true), cell(r, pick, 'pram', true)];
    out.push(`| ${name} | ${verify} | ${gbs(bytesPer, nf).toFixed(2)} | ${gbs(bytesPer, pf).toFixed(2)} | ${(nf / pf).toFixed(2)}× | ${gbs(bytesPer, nt).toFixed(2)} | ${gbs(bytesPer, pt).toFixed(2)} | ${(nt / pt).toFixed(2)}× |`);
    return nt / pt;
  };
  const ratios = {};
  for (const verify of ['full', 'lazy']) {
    for (const bs of [4 * KIB, MIB]) {
      const b = bs === MIB ? '1 MiB' : '4 KiB';
      ratios[`seq ${b} ${verify}`] = line(`read seq ${b}`, verify, bytes, (x) => x.seq[bs]);
      ratios[`rand ${b} ${verify}`] = line(`read rand ${b}`, verify, bytes, (x) => x.rand[bs]);
      ratios[`view ${b} ${verify}`] = line(`view ${b} ranges`, verify, bytes, (x) => x.views[bs]);
    }
    ratios[`readFile 1m ${verify}`] = line('readFile 1 MiB', verify, MIB, (x) => x.readFile['1m']);
    ratios[`readFile 64m ${verify}`] = line('readFile 64 MiB', verify, 64 * MIB, (x) => x.readFile['64m']);
  }
  const pram = (verify, pick) => cell(runs[verify], pick, 'pram', true);
  const lazyVsFull = (pick) => ((pram('lazy', pick) / pram('full', pick) - 1) * 100).toFixed(1);
  out.push('', `node fs/promises readFile (touched): 1 MiB ${gbs(MIB, cell(runs.full, (x) => x.readFile['1m'], 'nodePromises', true)).toFixed(2)} GB/s, 64 MiB ${gbs(64 * MIB, cell(runs.full, (x) => x.readFile['64m'], 'nodePromises', true)).toFixed(2)} GB/s.`);
  out.push(`Lazy vs full after first touch (pram time, + = lazy slower): seq 4 KiB ${lazyVsFull((x) => x.seq[4 * KIB])} %, seq 1 MiB ${lazyVsFull((x) => x.seq[MIB])} %, views 1 MiB ${lazyVsFull((x) => x.views[MIB])} %.`);
  out.push(`Full checksum over every 1 MiB view equals node's: ${[...runs.full, ...runs.lazy].every((r) => r.viewsVerified)}.`);
  out.push(`Targets (touched, full): read 4 KiB >= 1.5× (seq ${ratios['seq 4 KiB full'].toFixed(2)}×, rand ${ratios['rand 4 KiB full'].toFixed(2)}×); read 1 MiB >= 1.2× (seq ${ratios['seq 1 MiB full'].toFixed(2)}×, rand ${ratios['rand 1 MiB full'].toFixed(2)}×); views 1 MiB >= 10× (${ratios['view 1 MiB full'].toFixed(2)}×).`);
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

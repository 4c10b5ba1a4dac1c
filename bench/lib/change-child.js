// The child-process side of "cost of a change vs image size" (lib/change.js):
// each op runs in a fresh `node bench/child.js OP` process and prints one JSON
// line. Only the public library API (dist/api `mount`) is used, so the same
// code measures whichever engine dist/ holds. Times are ms from performance.now().
import * as fs from 'node:fs';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { childOps } from './registry.js';
import { loadApi, patternBuffer, readBuffer } from './pramlib.js';

const MIB = 1 << 20, KIB = 1024;
const SMALL_BYTES = 100;          // each small file's size
const DIR_FILES = 10_000;         // small files per directory, at most

async function api() {
  const a = await loadApi();
  if (a.missing) throw new Error(a.missing);
  return a.mod;
}

/** A mount as every op here takes it: no interval checkpoints (unless asked), no systemd hooks, no boot parameters. */
async function mountImage(mod, { arena, verify = 'lazy', create, checkpointIntervalMs = 0 }) {
  return mod.mount({ arena, verify, create, checkpointIntervalMs, cmdline: '', systemd: false, warn: () => {} });
}

/** Seeded 4 KiB-aligned offsets below `bytes` (LCG): the same positions for every engine. */
function offsets(bytes, n, seed = 13) {
  const pages = Math.max(1, Math.floor(bytes / (4 * KIB)));
  const out = [];
  let x = seed >>> 0;
  for (let i = 0; i < n; i++) { x = (Math.imul(x, 1664525) + 1013904223) >>> 0; out.push((x % pages) * 4 * KIB); }
  return out;
}

/** Used arena bytes as the API's volume reports them (statfs: blocks - free, net of reservations). */
function usedBytes(pfs) {
  const s = pfs.volume.statfs();
  return (s.blocks - s.bfree) * s.bsize;
}

export const smallDir = (i) => `/d${Math.floor(i / DIR_FILES)}`;

// ---- build: the image, once. Large: files of up to 1 GiB in 1 MiB writes. Small: 100-byte files, ≤ 10 000 per directory ----
async function changeBuild({ arena, sizeBytes, kind, bytes, files }) {
  const mod = await api();
  fs.rmSync(arena, { force: true });
  const t0 = performance.now();
  const pfs = await mountImage(mod, { arena, verify: 'full', create: { sizeBytes } });
  await pfs.sync();
  const usedEmpty = usedBytes(pfs);
  if (kind === 'large') {
    const chunk = patternBuffer(MIB);
    for (let off = 0, i = 0; off < bytes; off += 1 << 30, i++) {
      const h = await pfs.open(`/f${i}`, 'w');
      const end = Math.min(bytes - off, 1 << 30);
      for (let o = 0; o < end; o += MIB) await h.write(chunk, 0, Math.min(MIB, end - o), o);
      await h.close();
    }
  } else {
    const body = patternBuffer(SMALL_BYTES + 4 - (SMALL_BYTES % 4)).subarray(0, SMALL_BYTES);
    for (let i = 0; i < files; i++) {
      if (i % DIR_FILES === 0) await pfs.mkdir(smallDir(i));
      await pfs.writeFile(`${smallDir(i)}/s${i}`, body);
    }
  }
  await pfs.sync();
  const usedFull = usedBytes(pfs);
  await pfs.unmount();
  return { buildMs: performance.now() - t0, usedEmpty, usedFull };
}

/** Runs `step(i)` up to `samples` times, stopping once `budgetMs` is spent (at least `min` times); returns its results. */
async function sampled({ samples, budgetMs, min }, step) {
  const out = [];
  const t0 = performance.now();
  for (let i = 0; i < samples && (i < min || performance.now() - t0 < budgetMs); i++) out.push(await step(i));
  return out;
}

// ---- the small changes, each timed with the sync that makes it durable ----
// write: FileHandle.write of 4 KiB at a seeded offset + FileHandle.sync() (fsync).
// create: writeFile of a new 100-byte file + PramFs.sync(); rename: that file to
// a new name + sync; unlink: the renamed file + sync. In the first directory of a
// small-file image, in / of a large-file image.
async function changeOps({ arena, kind, bytes, budget }) {
  const mod = await api();
  const pfs = await mountImage(mod, { arena });
  const dir = kind === 'small' ? smallDir(0) : '';
  const res = { write: [], create: [], rename: [], unlink: [] };
  const buf = patternBuffer(4 * KIB, 5);
  const target = kind === 'large' ? '/f0' : '/fsync-target';
  if (kind !== 'large') { await pfs.writeFile(target, patternBuffer(MIB, 3)); await pfs.sync(); }
  const at = offsets(kind === 'large' ? Math.min(bytes, 1 << 30) : MIB, budget.samples);
  const h = await pfs.open(target, 'r+');
  const pair = async (change, sync) => {
    const t0 = performance.now(); await change(); const t1 = performance.now(); await sync(); const t2 = performance.now();
    return [t1 - t0, t2 - t1];
  };
  res.write = await sampled(budget, (i) => pair(() => h.write(buf, 0, buf.length, at[i]), () => h.sync()));
  await h.close();
  const body = patternBuffer(SMALL_BYTES + 4 - (SMALL_BYTES % 4), 9).subarray(0, SMALL_BYTES);
  const sync = () => pfs.sync();
  res.create = await sampled(budget, (i) => pair(() => pfs.writeFile(`${dir}/new${i}`, body), sync));
  const made = res.create.length;
  res.rename = await sampled({ ...budget, samples: made }, (i) => pair(() => pfs.rename(`${dir}/new${i}`, `${dir}/renamed${i}`), sync));
  const renamed = res.rename.length;
  for (let i = renamed; i < made; i++) await pfs.rename(`${dir}/new${i}`, `${dir}/renamed${i}`);
  res.unlink = await sampled({ ...budget, samples: made }, (i) => pair(() => pfs.unlink(`${dir}/renamed${i}`), sync));
  for (let i = res.unlink.length; i < made; i++) await pfs.unlink(`${dir}/renamed${i}`);
  if (kind !== 'large') await pfs.unlink(target);
  await pfs.unmount();
  // [change ms, sync ms] per sample
  return res;
}

// ---- unmount with nothing changed: mount (lazy, not timed), unmount (timed) ----
async function changeUnmount({ arena, budget }) {
  const mod = await api();
  const ms = await sampled(budget, async () => {
    const pfs = await mountImage(mod, { arena });
    const t0 = performance.now();
    await pfs.unmount();
    return performance.now() - t0;
  });
  return { ms };
}

// ---- one mount in a fresh process (lazy or full), then optionally every byte read once ----
// Then an unmount (timed, reported apart), so the next process mounts a cleanly unmounted
// image under any engine (one that logs a mount would otherwise find a crash to replay).
async function changeMount({ arena, verify, readAll }) {
  const mod = await api();
  const buf = readBuffer();
  const t0 = performance.now();
  const pfs = await mountImage(mod, { arena, verify });
  const mountMs = performance.now() - t0;
  const read = readAll ? await readEverything(pfs, buf) : {};
  // After a lazy mount: the checking thread's blocks by verdict as the reads end ([free, busy, good, differing, taken by readers, stale]).
  const aheadVerdicts = readAll ? pfs.volume?.pram?.aheadVerdicts?.() ?? undefined : undefined;
  // Timed too: after the first session that reads every file, this unmount commits each file's new atime (relatime).
  const t2 = performance.now();
  await pfs.unmount();
  return { mountMs, ...read, aheadVerdicts, unmountMs: performance.now() - t2 };
}

/** This thread's CPU time so far, ms (schedstat: ns on a core); 0 where Linux has no such file. */
function threadCpuMs() {
  try { return Number(fs.readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]) / 1e6; } catch { return 0; }
}

/**
 * Every file's bytes read once through FileHandle.read in 1 MiB reads into buf (readBuffer): { readAllMs,
 * readAllBytes, readAllCpuMs (the process's CPU: the reader's and any checking thread's), readAllMainCpuMs (the reader's) }.
 */
async function readEverything(pfs, buf) {
  const c1 = process.cpuUsage(), m1 = threadCpuMs();
  const t1 = performance.now();
  let bytes = 0;
  const walk = async (dir) => {
    for (const e of await pfs.readdir(dir, { withFileTypes: true })) {
      const p = `${dir === '/' ? '' : dir}/${e.name}`;
      if (e.isDirectory()) { await walk(p); continue; }
      const h = await pfs.open(p, 'r');
      for (;;) { const { bytesRead } = await h.read(buf, 0, MIB, null); if (!bytesRead) break; bytes += bytesRead; }
      await h.close();
    }
  };
  await walk('/');
  const readAllMs = performance.now() - t1, c2 = process.cpuUsage(c1);
  return { readAllMs, readAllBytes: bytes, readAllCpuMs: (c2.user + c2.system) / 1000, readAllMainCpuMs: threadCpuMs() - m1 };
}

// ---- the longest event-loop stall: 4 KiB every millisecond into /stall (16 MiB, cycled), checkpoints every 2 s ----
// The loop runs WARM_MS before measuring (the first writes compile and grow the
// file: a one-off, not the checkpoints' stall). Two measures: the histogram of
// monitorEventLoopDelay (the issue's), and the longest gap between two ticks as
// the writer sees it (the histogram can miss a stall that falls between its
// own timer's first callbacks).
const WARM_MS = 500;
async function changeStall({ arena, seconds, checkpointIntervalMs }) {
  const mod = await api();
  const pfs = await mountImage(mod, { arena, checkpointIntervalMs });
  const h = await pfs.open('/stall', 'w+');
  const buf = patternBuffer(4 * KIB, 11);
  const slots = (16 * MIB) / buf.length;
  let ticks = 0, writes = 0, failed = null, last = null, gapMs = 0;
  const hist = monitorEventLoopDelay({ resolution: 1 });
  const t0 = performance.now();
  let t1 = null;
  await new Promise((resolve) => {
    const tick = setInterval(() => {
      const now = performance.now();
      if (t1 === null && now - t0 >= WARM_MS) { t1 = now; hist.enable(); }
      if (t1 !== null) {
        if (last !== null) gapMs = Math.max(gapMs, now - last);
        last = now;
        writes++;
      }
      h.write(buf, 0, buf.length, (ticks++ % slots) * buf.length).catch((e) => { failed ??= e; });
      if (t1 !== null && now - t1 >= seconds * 1000) { clearInterval(tick); resolve(); }
    }, 1);
  });
  hist.disable();
  const ranMs = performance.now() - t1;
  if (failed) throw failed;
  await h.close();
  await pfs.unlink('/stall');
  await pfs.unmount();
  return { maxMs: hist.max / 1e6, p99Ms: hist.percentile(99) / 1e6, p50Ms: hist.percentile(50) / 1e6, gapMs, writes, ranMs };
}

// ---- tmpfs beside it: the same 4 KiB write + fsync loop on a /dev/shm file (node:fs/promises FileHandle) ----
async function changeTmpfs({ file, samples }) {
  const fh = await fs.promises.open(file, 'w+');
  try {
    await fh.write(patternBuffer(MIB, 3), 0, MIB, 0);
    await fh.sync();
    const buf = patternBuffer(4 * KIB, 5);
    const at = offsets(MIB, samples);
    const out = [];
    for (let i = 0; i < samples; i++) {
      const t0 = performance.now(); await fh.write(buf, 0, buf.length, at[i]); const t1 = performance.now(); await fh.sync();
      out.push([t1 - t0, performance.now() - t1]);
    }
    return { samples: out };
  } finally {
    await fh.close();
    fs.rmSync(file, { force: true });
  }
}

// ---- the machine's second core: how much a busy thread there slows a memory copy here ----
// Explains the spread of the read-all times: the thread filling the reads' page tables runs on the other core,
// and on a VM whose two vCPUs share one core's memory pipeline its work slows the reader's copies. A 512 MiB Buffer copied in
// 1 MiB pieces (as the reads are), alone and beside a worker thread spinning in a loop that touches no memory.
async function changeSibling({ reps = 3 }) {
  const src = Buffer.alloc(512 * MIB, 7), dst = Buffer.alloc(MIB);
  const copyMsPerGiB = () => {
    const t0 = performance.now();
    for (let o = 0; o < src.length; o += MIB) src.copy(dst, 0, o, o + MIB);
    return (performance.now() - t0) * 2;
  };
  copyMsPerGiB();
  const alone = [], beside = [];
  for (let i = 0; i < reps; i++) {
    alone.push(copyMsPerGiB());
    const w = new Worker('let x = 1; for (;;) x = (x * 3 + 1) | 0;', { eval: true });
    await new Promise((r) => setTimeout(r, 50));
    beside.push(copyMsPerGiB());
    await w.terminate();
  }
  return { alone, beside };
}

const wrap = (f) => async () => {
  const args = JSON.parse(process.argv[process.argv.indexOf('--json') + 1] ?? '{}');
  process.stdout.write(JSON.stringify(await f(args)) + '\n');
};

childOps({
  changeBuild: wrap(changeBuild), changeOps: wrap(changeOps), changeUnmount: wrap(changeUnmount),
  changeMount: wrap(changeMount), changeStall: wrap(changeStall), changeTmpfs: wrap(changeTmpfs),
  changeSibling: wrap(changeSibling),
});

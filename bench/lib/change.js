// Issue 13's measure: what a small change costs as the image grows. For each
// image (large files of 256 MiB to 12 GiB, small files from 1 000 to 1 000 000)
// built once in a /dev/shm arena, fresh child processes (lib/change-child.js)
// time a 4 KiB write + fsync, a small-file create / rename / unlink + sync,
// unmount with nothing changed, lazy and full mounts (then every byte read
// once), the arena bytes per small file and the longest event-loop stall of a
// process writing 4 KiB every millisecond with periodic checkpoints; tmpfs's
// 4 KiB write + fsync beside it. The engine's costs grow with the image today,
// so each operation's samples stop at a time budget per image and the report
// says how many were taken. Only the library API is used. Tables, targets and
// the chart: lib/change-report.js.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { scenario } from './registry.js';
import { changeReport } from './change-report.js';
import './change-child.js';
import { firstLine } from './pramlib.js';
import { child, shmFreeBytes, tempMount } from './sys.js';

const MIB = 2 ** 20, GIB = 2 ** 30;
const SHM = '/dev/shm';
const rm = (p) => { try { fs.rmSync(p, { force: true }); } catch { /* gone */ } };

/**
 * Arena sizes to try for an image, smallest first: one that fits an engine
 * meeting the space goals, then one for today's engine (a META page and
 * a data page per file plus the next checkpoint's reserve: ~12 KiB per small
 * file). A build that ends in ENOSPC is tried again in the next size.
 */
function arenaSizes(img) {
  const mib = (b) => Math.ceil(b / MIB) * MIB;
  if (img.kind === 'large') return [mib(img.bytes * 1.06 + 112 * MIB)];
  return [mib(img.files * 2048 + 64 * MIB), mib(img.files * 13 * 1024 + 64 * MIB)];
}

function memAvailable() {
  const m = /^MemAvailable:\s+(\d+) kB/m.exec(fs.readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** Why an arena of `bytes` cannot be made in `dir` now, or null (1 GiB is left for the processes using it). */
function noRoom(bytes, dir) {
  const st = fs.statfsSync(dir);
  const avail = Math.min(memAvailable(), st.bavail * st.bsize);
  return bytes + GIB > avail ? `not enough free memory for a ${(bytes / GIB).toFixed(1)} GiB arena (${(avail / GIB).toFixed(1)} GiB available)` : null;
}

const large = (bytes) => ({ kind: 'large', bytes });
const small = (files) => ({ kind: 'small', files });

function plan(quick, flags = new Set()) {
  if (quick) {
    return {
      images: [large(16 * MIB), large(64 * MIB), small(1000), small(10_000)],
      ops: { samples: 60, budgetMs: 4000, min: 3 }, unmount: { samples: 10, budgetMs: 3000, min: 3 },
      mounts: 3, mountBudgetMs: 20_000, readAllReps: 2, stallSeconds: 3, checkpointIntervalMs: 2000, tmpfsSamples: 200,
    };
  }
  const big = flags.has('big');
  return {
    images: [large(256 * MIB), large(GIB), large(4 * GIB), ...(big ? [large(12 * GIB)] : []), small(1000), small(100_000), ...(big ? [small(1_000_000)] : [])],
    ops: { samples: 200, budgetMs: 20_000, min: 3 }, unmount: { samples: 20, budgetMs: 15_000, min: 3 },
    mounts: 5, mountBudgetMs: 90_000, readAllReps: 3, stallSeconds: 10, checkpointIntervalMs: 2000, tmpfsSamples: 1000,
  };
}

/** Builds the image in the first arena size that holds it; returns the build's figures and the arena size. */
async function build(arena, img, status) {
  let last;
  for (const sizeBytes of arenaSizes(img)) {
    const why = noRoom(sizeBytes, path.dirname(arena));
    if (why) throw new Error(last ? `${last}; ${why}` : why);
    try {
      const { result } = await child('changeBuild', { arena, sizeBytes, ...img });
      return { sizeBytes, ...result };
    } catch (e) {
      rm(arena);
      if (!/ENOSPC|no room/.test(firstLine(e))) throw e;
      last = `a ${(sizeBytes / MIB).toFixed(0)} MiB arena was too small (${firstLine(e)})`;
      status(`change: ${last}; trying a larger one`);
    }
  }
  throw new Error(last);
}

/** Every measurement of one image, in fresh processes; the arena is deleted afterwards. */
async function measureImage(img, p, dir, status) {
  const arena = `${dir}/pram-bench-change-${process.pid}.arena`;
  const name = img.kind === 'large' ? `${img.bytes / MIB} MiB` : `${img.files} files`;
  const row = { ...img };
  try {
    status(`change ${name}: building the image`);
    Object.assign(row, await build(arena, img, status));
    status(`change ${name}: write + fsync, create, rename, unlink + sync`);
    row.ops = (await child('changeOps', { arena, ...img, budget: p.ops })).result;
    status(`change ${name}: unmount unchanged`);
    row.unmountMs = (await child('changeUnmount', { arena, budget: p.unmount })).result.ms;
    row.mount = { lazy: [], full: [] };
    // Up to p.mounts pairs; fewer once the budget is spent (a 1 000 000-file mount takes seconds today), at least 3.
    const t0 = performance.now();
    for (let i = 0; i < p.mounts && (i < 3 || performance.now() - t0 < p.mountBudgetMs); i++) {
      // The order alternates, so drift of a shared machine hits both modes alike.
      for (const verify of i % 2 ? ['full', 'lazy'] : ['lazy', 'full']) {
        status(`change ${name}: mount ${verify} ${i + 1}/${p.mounts}`);
        const m = (await child('changeMount', { arena, verify, readAll: i < p.readAllReps })).result;
        const want = img.kind === 'large' ? img.bytes : img.files * 100;
        if (m.readAllBytes !== undefined && m.readAllBytes !== want) throw new Error(`read all after a ${verify} mount: ${m.readAllBytes} bytes, the image holds ${want}`);
        row.mount[verify].push(m);
      }
    }
    status(`change ${name}: event-loop stall, ${p.stallSeconds} s`);
    row.stall = (await child('changeStall', { arena, seconds: p.stallSeconds, checkpointIntervalMs: p.checkpointIntervalMs })).result;
  } catch (e) {
    row.unavailable = firstLine(e);
  } finally {
    rm(arena);
  }
  return row;
}

async function run({ plan: p, status }) {
  const res = { images: [] };
  status('change: tmpfs 4 KiB write + fsync');
  res.tmpfs = (await child('changeTmpfs', { file: `${SHM}/pram-bench-change-${process.pid}.tmp`, samples: p.tmpfsSamples })).result.samples;
  status('change: a memory copy beside a busy second core');
  res.sibling = (await child('changeSibling', { reps: 7 })).result;
  // A default /dev/shm is half the RAM: when the largest arena does not fit, a tmpfs of its own (as section 6 does).
  const largest = Math.max(...p.images.map((img) => arenaSizes(img).pop()));
  const own = largest + GIB > shmFreeBytes() ? tempMount('tmpfs', largest + 256 * MIB) : null;
  res.arenaDir = own ? 'a tmpfs of its own' : SHM;
  try {
    for (const img of p.images) res.images.push(await measureImage(img, p, own?.dir ?? SHM, status));
  } finally {
    own?.close();
  }
  return res;
}

scenario({ name: 'change', title: 'Cost of a change vs image size (issue 13)', plan, run, report: changeReport });

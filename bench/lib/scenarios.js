// The six measurements of issue 6, each returning raw timings (ms lists, one
// entry per repetition) or { unavailable: reason } for a piece that is not
// there yet. Repetitions are interleaved across targets (rep 1 of every target,
// then rep 2...) so slow drift of the machine hits all of them alike. Arenas
// and files are deleted after each step to keep peak memory well below 12 GiB.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { arenaBytesFor, firstLine, patternBuffer } from './pramlib.js';
import { spawnSync } from 'node:child_process';
import { scenario } from './registry.js';
import { ensureTools, hyperfine } from './tools.js';
import { CHILD, child, dd, dropCaches, pramInfo, pramFuseMount, tempMount, warmPages } from './sys.js';

const MIB = 1 << 20;
const SHM = '/dev/shm';
const rm = (p) => { try { fs.rmSync(p, { force: true }); } catch { /* gone */ } };

// ---- 1: dd into pram (FUSE), tmpfs and ramfs ----
const DD_REPS = 7;
export async function ddBench({ bytes, reps: asked, quick, status }) {
  const bss = [4096, MIB];
  const targets = { pram: null, tmpfs: null, ramfs: null };
  // More reps than the other sections: ramfs's 4 KiB writes vary 2-3x from one rep to the next on
  // this VM (bench/README.md, "Method notes"); a dd of 1 GiB costs seconds, so a stable median is cheap.
  const reps = quick ? asked : Math.max(asked, DD_REPS);
  const res = { bytes, bss, reps, targets: {}, dropCaches: true };
  const open = {
    pram: () => pramFuseMount(path.join(SHM, 'pram-bench-dd.arena'), 2 * bytes + 64 * MIB),
    tmpfs: () => tempMount('tmpfs', bytes + 64 * MIB),
    ramfs: () => tempMount('ramfs'),
  };
  for (const t of Object.keys(targets)) {
    try { targets[t] = open[t](); res.targets[t] = {}; } catch (e) { res.targets[t] = { unavailable: firstLine(e) }; }
  }
  try {
    const live = Object.keys(targets).filter((t) => targets[t]);
    for (let rep = 0; rep < reps; rep++) {
      // The order of the targets rotates each rep; every timed write follows a page warm-up (sys.js warmPages).
      for (let i = 0; i < live.length; i++) {
        const t = live[(i + rep) % live.length], m = targets[t];
        if (res.targets[t].unavailable) continue;
        for (const bs of bss) {
          status(`dd rep ${rep + 1}/${reps}: ${t} bs=${bs}`);
          const file = path.join(m.dir, 'dd.bin');
          const row = (res.targets[t][bs] ??= { writeMs: [], fsyncMs: [], readMs: [] });
          const warmDir = t === 'ramfs' ? m.dir : SHM;   // pages of the kind the target takes (sys.js warmPages)
          try {
            warmPages(bytes, warmDir);
            row.writeMs.push(dd('/dev/zero', file, bs, bytes / bs));
            rm(file);
            warmPages(bytes, warmDir);
            row.fsyncMs.push(dd('/dev/zero', file, bs, bytes / bs, ['conv=fsync']));
            const d = dropCaches();
            if (!d.ok) res.dropCaches = `not possible: ${d.why}`;
            row.readMs.push(dd(file, '/dev/null', bs));
          } catch (e) {
            res.targets[t] = { unavailable: firstLine(e) };
          } finally {
            rm(file);
          }
          if (res.targets[t].unavailable) break;
        }
      }
    }
  } finally {
    for (const m of Object.values(targets)) m?.close();
  }
  return res;
}

// ---- 2: library API (and the bare Volume) against node:fs on a tmpfs file ----
// One process per path and rep, the order of the paths rotated each rep (child.js libio).
export async function libBench({ bytes, reps, status }) {
  const bss = [4096, MIB];
  const whos = ['nodefs', 'volume', 'api'];
  const res = { bytes, bss, rows: {} };
  for (let rep = 0; rep < reps; rep++) {
    for (const bs of bss) {
      const rows = (res.rows[bs] ??= {});
      for (let i = 0; i < whos.length; i++) {
        const who = whos[(i + rep) % whos.length];
        status(`library rep ${rep + 1}/${reps}: ${who} bs=${bs}`);
        const row = (rows[who] ??= { preMs: [], preSyncMs: [], readMs: [], freshMs: [], freshSyncMs: [] });
        try {
          const { result } = await child('libio', {
            who, bytes, bs, sizeBytes: arenaBytesFor(bytes),
            arena: path.join(SHM, 'pram-bench-io.arena'), tmpfile: path.join(SHM, 'pram-bench-io.tmp'),
          });
          for (const k of Object.keys(row)) if (Array.isArray(row[k])) row[k].push(result[k]);
          row.via = result.via;
        } catch (e) {
          row.unavailable = firstLine(e);
        } finally {
          rm(path.join(SHM, 'pram-bench-io.arena')); rm(path.join(SHM, 'pram-bench-io.tmp'));
        }
      }
    }
  }
  return res;
}

// ---- 3 and 6: save (unmount) and mount, full and lazy, per size and format ----
// Arenas live on a tmpfs of their own, sized for the largest (a 12 GiB arena
// does not fit the default /dev/shm). At the main size also: read-all after
// each mount, where a mount's time goes, and a full mount right after
// drop_caches (the condition section 4 used to measure in), with page faults.
export async function persistBench({ sizes, mainBytes, reps, status }) {
  const res = { sizes: {}, formats: ['v1', 'extents'] };
  const fsMount = tempMount('tmpfs', arenaBytesFor(Math.max(...sizes)) + 256 * MIB);
  const arena = path.join(fsMount.dir, 'pram-bench-persist.arena');
  try {
    for (const bytes of sizes) {
      for (const format of res.formats) {
        const extents = format === 'extents';
        const cell = () => ({ mountMs: [], resaveMs: [], readAllMs: [], minorFaults: [] });
        const row = ((res.sizes[bytes] ??= {})[format] = { saveMs: [], writeMs: [], full: cell(), lazy: cell() });
        const main = bytes === mainBytes;
        if (main) row.fullDropped = cell();
        try {
          for (let rep = 0; rep < reps; rep++) {
            status(`save ${bytes / MIB} MiB ${format} rep ${rep + 1}/${reps}`);
            warmPages(Math.min(bytes, 4 << 30));
            const { result } = await child('save', { arena, bytes, extents, sizeBytes: arenaBytesFor(bytes) });
            row.via = result.via;
            row.saveMs.push(result.saveMs); row.writeMs.push(result.writeMs);
          }
          for (let rep = 0; rep < reps; rep++) {
            for (const verify of main ? ['full', 'lazy', 'fullDropped'] : ['full', 'lazy']) {
              status(`mount ${verify} ${bytes / MIB} MiB ${format} rep ${rep + 1}/${reps}`);
              if (verify === 'fullDropped') dropCaches();
              const { result } = await child('mount', { arena, verify: verify === 'lazy' ? 'lazy' : 'full', readAll: main });
              const c = row[verify];
              c.mountMs.push(result.mountMs); c.resaveMs.push(result.resaveMs); c.minorFaults.push(result.minorFaults);
              if (result.readAllMs !== undefined) c.readAllMs.push(result.readAllMs);
            }
          }
          if (main) {
            row.phases = { full: { openMs: [], volumeMountMs: [] }, lazy: { openMs: [], volumeMountMs: [] } };
            for (let rep = 0; rep < reps; rep++) {
              for (const verify of ['full', 'lazy']) {
                status(`mount phases ${verify} ${format} rep ${rep + 1}/${reps}`);
                const { result } = await child('phases', { arena, verify });
                row.phases[verify].openMs.push(result.openMs); row.phases[verify].volumeMountMs.push(result.volumeMountMs);
              }
            }
          }
        } catch (e) {
          row.unavailable = firstLine(e);
        } finally {
          rm(arena);
        }
      }
    }
  } finally {
    fsMount.close();
  }
  return res;
}

/** Writes `bytes` of the pattern to `file` and fsyncs it (the disk copy of the working set). */
function writeDataFile(file, bytes) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const chunk = patternBuffer(16 * MIB, 7);
  const fd = fs.openSync(file, 'w');
  try {
    for (let off = 0; off < bytes; off += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off), off);
    fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
}

// ---- 4: time to ready after a restart, whole processes timed by hyperfine ----
// Every source ends "ready" with every byte usable; those that promise integrity
// (pram) with every byte verified too: pram-lazy alone is shown but is not that.
export const READY_MODES = ['node-start', 'disk-direct', 'tmpfs', 'pram-lazy', 'pram-lazy+read', 'pram-full', 'pram-full+read'];
export async function readyBench({ bytes, reps, status, diskDir }) {
  ensureTools(['hyperfine'], status);
  const arena = path.join(SHM, 'pram-bench-ready.arena');
  const diskFile = path.join(diskDir, 'working-set.bin');
  const shmFile = path.join(SHM, 'pram-bench-ready.bin');
  const res = { bytes, diskFile, shmFile, tool: spawnSync('hyperfine', ['--version'], { encoding: 'utf8' }).stdout.trim(), modes: {} };
  for (const m of READY_MODES) res.modes[m] = { ms: [] };
  const args = (m) => (m === 'node-start' ? ['noop', '--json', '{}']
    : ['ready', '--json', JSON.stringify(m.startsWith('pram') ? { mode: m, arena, bytes }
      : { mode: 'file', path: m === 'disk-direct' ? diskFile : shmFile, bytes, direct: m === 'disk-direct' })]);
  try {
    status(`ready: preparing ${bytes / MIB} MiB on disk, tmpfs and pram`);
    writeDataFile(diskFile, bytes);
    writeDataFile(shmFile, bytes);
    const { result } = await child('save', { arena, bytes, sizeBytes: arenaBytesFor(bytes) });
    res.via = result.via;
    for (let rep = 0; rep < reps; rep++) {
      status(`ready rep ${rep + 1}/${reps}: hyperfine over ${READY_MODES.length} sources`);
      // One hyperfine per rep, one run of each source: the sources interleave. Before each
      // run an untimed node process loads node and pram's modules, so only the data differs.
      const runs = hyperfine(READY_MODES.map((m) => [process.execPath, CHILD, ...args(m)]), { runs: 1, names: READY_MODES, prepare: `${process.execPath} ${CHILD} noop --json {}` });
      runs.forEach((x, i) => {
        if (x.exitCodes.some((c) => c !== 0)) res.modes[READY_MODES[i]].unavailable = `exit ${x.exitCodes.join(',')}`;
        else res.modes[READY_MODES[i]].ms.push(...x.ms);
      });
    }
  } catch (e) {
    for (const m of READY_MODES) res.modes[m].unavailable ??= firstLine(e);
  } finally {
    rm(arena); rm(diskFile); rm(shmFile);
  }
  return res;
}

// ---- 5: metadata pages per GiB of data ----
export async function metaBench({ largeBytes, smallBytes, status }) {
  const arena = path.join(SHM, 'pram-bench-meta.arena');
  const layouts = [
    { name: 'large files', bytes: largeBytes, fileBytes: Math.min(largeBytes, 1 << 30) },
    { name: 'small files (64 KiB)', bytes: smallBytes, fileBytes: 64 * 1024 },
    { name: 'small files (4 KiB)', bytes: smallBytes, fileBytes: 4096 },
  ];
  const res = { rows: [] };
  for (const l of layouts) {
    for (const extents of [false, true]) {
      status(`metadata: ${l.name}${extents ? ', extents' : ''}`);
      const row = { layout: l.name, extents, bytes: l.bytes, fileBytes: l.fileBytes };
      try {
        const { result } = await child('meta', { arena, bytes: l.bytes, fileBytes: l.fileBytes, extents, sizeBytes: arenaBytesFor(l.bytes * 2) });
        Object.assign(row, result);
        // The same counts as `pram info --json` sees them (it mounts lazily and reads the engine's stats).
        const info = pramInfo(arena);
        row.info = info.pages ? { link: info.pages.link, meta: info.pages.meta, data: info.pages.data } : { unavailable: info.unavailable };
      } catch (e) {
        row.unavailable = firstLine(e);
      } finally {
        rm(arena);
      }
      res.rows.push(row);
    }
  }
  return res;
}

// The built-in sections, in report order (their tables are in report.js).
const DISK_DIR = '/var/tmp/pram-bench';   // the real disk (/ is /dev/vda), not tmpfs
scenario({ name: 'dd', title: 'dd', run: ({ plan, reps, quick, status }) => ddBench({ bytes: plan.ddBytes, reps, quick, status }) });
scenario({ name: 'lib', title: 'library', run: ({ plan, reps, status }) => libBench({ bytes: plan.libBytes, reps, status }) });
scenario({ name: 'persist', title: 'save and mount', run: ({ plan, reps, status }) => persistBench({ sizes: plan.sizes, mainBytes: plan.mainBytes, reps, status }) });
scenario({ name: 'ready', title: 'time to ready', run: ({ plan, reps, status }) => readyBench({ bytes: plan.readyBytes, reps, status, diskDir: DISK_DIR }) });
scenario({ name: 'meta', title: 'metadata pages', run: ({ plan, status }) => metaBench({ largeBytes: plan.metaLarge, smallBytes: plan.metaSmall, status }) });

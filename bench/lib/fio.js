// The FUSE mount against tmpfs with fio, in one run (issue 14's "how it is
// measured"): sequential write and read at 4 KiB and 1 MiB, random write and
// read at 4 KiB, each with 1 and 4 jobs, writes with and without an fsync at
// the end; then creates, stats and unlinks of many empty files (lib/metaops.c).
// The server's RSS is read after every pram figure. A third target, the
// floor, is the cheapest FUSE server there is (lib/floorfs.c: C, libfuse3's
// low-level loop, files in malloc'd memory, the same kernel settings as pram):
// what FUSE itself costs on this machine, so pram / floor is pram's own share.
// All targets get the same fio job, the same bytes and the same preparation,
// in alternating order.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scenario } from './registry.js';
import { bsName, fmt, fmtNum, pairedRatio, sizeName, summary } from './stats.js';
import { dropCaches, pramFuseMount, tempMount, warmPages } from './sys.js';
import { ensureTools, fio, floorfsBinary, metaopsBinary } from './tools.js';

const MIB = 1 << 20;
const TARGETS = ['pram', 'floor', 'tmpfs'];

/** The fio cases: [rw, bs, jobs, endFsync]. */
function cases() {
  const c = [];
  for (const jobs of [1, 4]) {
    for (const bs of [4096, MIB]) for (const f of [false, true]) c.push(['write', bs, jobs, f]);
    for (const f of [false, true]) c.push(['randwrite', 4096, jobs, f]);
    for (const bs of [4096, MIB]) c.push(['read', bs, jobs, false]);
    c.push(['randread', 4096, jobs, false]);
  }
  return c;
}
const key = ([rw, bs, jobs, f]) => `${rw}-${bsName(bs)}-j${jobs}${f ? '-fsync' : ''}`;

/** VmRSS of `pid` in KiB (null when gone). */
function rssKiB(pid) {
  try { return Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))[1]); } catch { return null; }
}

/**
 * The floor server on a fresh directory, mounted fuseblk over a loop device as
 * pram is (so RELEASE is synchronous for both), plain fuse when that is
 * refused, as pram does. It daemonizes once mounted: the mount is there when this returns.
 */
function floorMount(size) {
  const dir = fs.mkdtempSync(path.join('/tmp', 'pram-bench-floor-'));
  const pidFile = `${dir}.pid`, placeholder = `${dir}.blk`;
  fs.writeFileSync(placeholder, Buffer.alloc(4096));
  const loop = spawnSync('losetup', ['-f', '--show', placeholder], { encoding: 'utf8' });
  const dev = loop.status === 0 ? loop.stdout.trim() : null;
  const r = spawnSync(floorfsBinary(), [dir, pidFile, `reserve=${size}`, ...(dev ? [dev] : [])], { encoding: 'utf8' });
  // Detached while mounted, the loop device is freed at umount (autoclear).
  if (dev) spawnSync('losetup', ['-d', dev]);
  fs.rmSync(placeholder, { force: true });
  if (r.status !== 0) { fs.rmdirSync(dir); throw new Error(`floorfs: ${(r.stderr || `exit ${r.status}`).trim()}`); }
  // The server writes its pid once its heap is faulted in, after the fork that ended our wait:
  // poll for it. That takes seconds per GiB on this VM (18 s for 3 GiB under load), and no
  // case may start before it, or the floor's first cases run beside its own page faults.
  const deadline = Date.now() + 600_000;
  while (!fs.existsSync(pidFile) && Date.now() < deadline) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  if (!fs.existsSync(pidFile)) {
    spawnSync('umount', ['-l', dir]);
    throw new Error(`floorfs: no pid file ${pidFile} after 600 s (its heap of ${size} bytes not faulted in)`);
  }
  const pid = Number(fs.readFileSync(pidFile, 'utf8'));
  fs.rmSync(pidFile, { force: true });
  return {
    dir, pid: () => pid, kind: dev ? 'fuseblk' : 'fuse',
    close() {
      if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
      try { fs.rmdirSync(dir); } catch { /* busy */ }
    },
  };
}

/** CPU seconds (user + system, all threads) `pid` has used so far; null without one. */
function cpuSec(pid) {
  if (!pid) return null;
  try {
    const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(f[11]) + Number(f[12])) / CLOCK_TICKS;   // utime, stime: fields 14 and 15
  } catch { return null; }
}
const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;

function clear(dir) { for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { force: true, recursive: true }); }

/**
 * One fio job on `dir`; returns { bw: bytes/s, iops, cpuUs: server CPU µs per fio I/O (server `pid`, else null) }.
 * Reads lay their files out first, then drop caches.
 */
function fioCase(dir, [rw, bs, jobs, endFsync], bytes, pid) {
  const base = ['--name=bench', `--directory=${dir}`, `--bs=${bs}`, `--size=${bytes / jobs}`, `--numjobs=${jobs}`,
    '--group_reporting', '--ioengine=psync', '--fallocate=none'];
  const isRead = rw.endsWith('read');
  if (isRead) {
    fio([...base, '--rw=write', `--bs=${MIB}`]);
    dropCaches();
  } else warmPages(bytes);
  const cpu0 = cpuSec(pid);
  const j = fio([...base, `--rw=${rw}`, ...(endFsync ? ['--end_fsync=1'] : [])]).jobs[0];
  const cpu1 = cpuSec(pid);
  const side = isRead ? j.read : j.write;
  // job_runtime (ms) spans the whole job, the final fsync included; bw_bytes leaves the fsync out.
  const ms = j.job_runtime;
  return { bw: side.io_bytes / (ms / 1000), iops: side.total_ios / (ms / 1000), cpuUs: cpu0 === null || cpu1 === null ? null : ((cpu1 - cpu0) * 1e6) / side.total_ios };
}

async function run({ plan, reps, status }) {
  ensureTools(['fio', 'cc', 'libfuse3'], status);
  const { bytes, files } = plan;
  const res = { bytes, files, fioVersion: spawnSync('fio', ['--version'], { encoding: 'utf8' }).stdout.trim(), targets: {}, cases: {}, meta: {} };
  const size = 2 * bytes + files * 8192 + 128 * MIB;
  const mounts = {};
  try {
    for (const t of TARGETS) {
      try {
        mounts[t] = t === 'pram' ? pramFuseMount(path.join('/dev/shm', 'pram-bench-fio.arena'), size) : t === 'floor' ? floorMount(size) : tempMount('tmpfs', size);
        res.targets[t] = { dir: mounts[t].dir, serverPid: mounts[t].pid?.() ?? null, kind: mounts[t].kind };
      } catch (e) { res.targets[t] = { unavailable: String(e.message).split('\n')[0] }; }
    }
    const live = TARGETS.filter((t) => mounts[t]);
    const metaops = metaopsBinary();
    for (let rep = 0; rep < reps; rep++) {
      const order = rep % 2 ? [...live].reverse() : live;
      for (const c of cases()) {
        const row = (res.cases[key(c)] ??= { rw: c[0], bs: c[1], jobs: c[2], endFsync: c[3], targets: {} });
        for (const t of order) {
          status(`fio rep ${rep + 1}/${reps}: ${key(c)} on ${t}`);
          const cell = (row.targets[t] ??= { bw: [], iops: [], rssKiB: [], cpuUs: [] });
          try {
            const r = fioCase(mounts[t].dir, c, bytes, res.targets[t].serverPid);
            cell.bw.push(r.bw); cell.iops.push(r.iops);
            if (r.cpuUs !== null) cell.cpuUs.push(r.cpuUs);
            if (t === 'pram') cell.rssKiB.push(rssKiB(res.targets.pram.serverPid));
          } catch (e) { cell.unavailable = String(e.message).split('\n')[0]; }
          clear(mounts[t].dir);
        }
      }
      for (const t of order) {
        status(`metadata rep ${rep + 1}/${reps}: ${files} files on ${t}`);
        const cell = (res.meta[t] ??= { createMs: [], statMs: [], unlinkMs: [], rssKiB: [], cpuUs: [] });
        const d = path.join(mounts[t].dir, 'meta');
        try {
          fs.mkdirSync(d);
          const cpu0 = cpuSec(res.targets[t].serverPid);
          const out = spawnSync(metaops, [d, String(files), 'drop'], { encoding: 'utf8' });
          const cpu1 = cpuSec(res.targets[t].serverPid);
          if (out.status !== 0) throw new Error(`metaops: ${out.stderr.trim()}`);
          const j = JSON.parse(out.stdout);
          cell.createMs.push(j.createMs); cell.statMs.push(j.statMs); cell.unlinkMs.push(j.unlinkMs);
          if (cpu0 !== null && cpu1 !== null) cell.cpuUs.push(((cpu1 - cpu0) * 1e6) / files);
          if (t === 'pram') cell.rssKiB.push(rssKiB(res.targets.pram.serverPid));
        } catch (e) { cell.unavailable = String(e.message).split('\n')[0]; }
        clear(mounts[t].dir);
      }
    }
  } finally {
    for (const m of Object.values(mounts)) m.close();
  }
  return res;
}

const GOALS = { write: 0.75, randwrite: 0.75, read: 0.5, randread: 0.5, meta: 0.3 };

/** Paired a / b of `get` (a list of throughputs) over two cells, null when either is missing. */
function ratioOf(cells, a, b, get) {
  const x = cells[a], y = cells[b];
  return x && y && !x.unavailable && !y.unavailable && get(x).length && get(y).length ? pairedRatio(get(x), get(y)) : null;
}

const usable = (c) => c && !c.unavailable;
/** The server CPU µs per operation of a cell, when measured. */
const cpuOf = (c) => (usable(c) && c.cpuUs?.length ? summary(c.cpuUs) : null);

function report(raw) {
  const figures = { cases: [], meta: [] };
  const targets = [];
  const md = [];
  const mbps = (c) => c.bw.map((x) => x / 1e6);
  for (const [k, row] of Object.entries(raw.cases)) {
    const p = row.targets.pram, t = row.targets.tmpfs, f = row.targets.floor;
    const ok = usable(p) && usable(t) && p.bw.length && t.bw.length;
    const ratio = ok ? pairedRatio(p.bw, t.bw) : null;
    const rss = p?.rssKiB?.length ? summary(p.rssKiB.map((x) => x / 1024)) : null;
    figures.cases.push({ key: k, ...row, targets: undefined, pramMBps: ok ? summary(mbps(p)) : null, tmpfsMBps: ok ? summary(mbps(t)) : null,
      floorMBps: usable(f) && f.bw.length ? summary(mbps(f)) : null, pramFloor: ratioOf(row.targets, 'pram', 'floor', (c) => c.bw),
      floorTmpfs: ratioOf(row.targets, 'floor', 'tmpfs', (c) => c.bw), pramCpuUs: cpuOf(p), floorCpuUs: cpuOf(f),
      pramIops: ok ? summary(p.iops) : null, ratio, rssMiB: rss, unavailable: ok ? null : p?.unavailable ?? t?.unavailable ?? 'not measured' });
    if (!row.endFsync) {
      const goal = GOALS[row.rw];
      targets.push({ what: `fio ${row.rw} ${bsName(row.bs)}, ${row.jobs} job${row.jobs > 1 ? 's' : ''}, pram vs tmpfs`, goal: `≥ ${goal}×`,
        measured: ratio ? `${fmt(ratio)}×` : null, status: !ratio ? 'unavailable' : ratio.median >= goal ? 'met' : 'NOT met' });
    }
  }
  for (const op of ['create', 'stat', 'unlink']) {
    const p = raw.meta.pram, t = raw.meta.tmpfs, f = raw.meta.floor;
    const ok = usable(p) && usable(t) && p[`${op}Ms`].length;
    const per = (c) => c[`${op}Ms`].map((ms) => raw.files / (ms / 1000));
    const ratio = ok ? pairedRatio(per(p), per(t)) : null;
    figures.meta.push({ op, pram: ok ? summary(per(p)) : null, tmpfs: ok ? summary(per(t)) : null, ratio,
      floor: usable(f) ? summary(per(f)) : null, pramCpuUs: cpuOf(p), floorCpuUs: cpuOf(f), pramFloor: ratioOf(raw.meta, 'pram', 'floor', per), floorTmpfs: ratioOf(raw.meta, 'floor', 'tmpfs', per),
      rssMiB: p?.rssKiB?.length ? summary(p.rssKiB.map((x) => x / 1024)) : null, unavailable: ok ? null : p?.unavailable ?? t?.unavailable ?? 'not measured' });
    targets.push({ what: `${op}s of empty files, pram vs tmpfs`, goal: `≥ ${GOALS.meta}×`, measured: ratio ? `${fmt(ratio)}×` : null,
      status: !ratio ? 'unavailable' : ratio.median >= GOALS.meta ? 'met' : 'NOT met' });
  }
  const floorNote = raw.targets?.floor?.unavailable ? ` The floor was unavailable: ${raw.targets.floor.unavailable}.` : '';
  md.push(`fio ${raw.fioVersion ?? ''} \`--ioengine=psync --fallocate=none --group_reporting\`, ${sizeName(raw.bytes)} per case split over the jobs (\`--size\` = total / jobs), on a \`pram mount\` (FUSE, fresh arena, pre-allocated at mount), the FUSE floor (lib/floorfs.c) and a fresh tmpfs, alternating which goes first.`, '');
  md.push('Equal work: all three run the same fio job over the same bytes; before a write case each gets an untimed page warm-up of the same size (see the note on free page reporting), before a read case each lays the files out with an untimed write and drops caches (for pram and the floor this sends every read to the server; tmpfs keeps its pages, they are its storage). "+ fsync": `--end_fsync=1`, timed (pram saves a checkpoint, the floor and tmpfs return at once). MB/s = 10^6 bytes/s over fio\'s job runtime. Server RSS: VmRSS of the pram server after the case.', '');
  md.push(`The floor: the cheapest FUSE server that does this work — C on libfuse3's low-level single-threaded loop, files in malloc'd memory (writes copied in, reads copied out; its heap faulted in at start to the arena's size and kept, as pram's arena is allocated at mount), asking the kernel for what pram asks (writeback cache, 1 MiB writes, keep_cache, 1 s entry/attribute timeouts, negative entries, default_permissions, ENOSYS to FLUSH) and mounted ${raw.targets?.floor?.kind ?? 'fuseblk'} as pram is, so the kernel sends both the same requests and pram / floor is what pram's server adds; floor / tmpfs is the most any FUSE server can reach here. Server CPU: user + system seconds of the server process (all its threads, /proc/PID/stat) over the timed job, per fio I/O (per file for the metadata run: its create, stat and unlink together) — less sensitive to other work on the machine than the rates.${floorNote}`, '');
  md.push('| case | jobs | pram MB/s | floor MB/s | tmpfs MB/s | pram / tmpfs | pram / floor | floor / tmpfs | pram IOPS | server CPU µs/I/O pram | floor | server RSS MiB |', '|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const c of figures.cases) {
    const name = `${c.rw} ${bsName(c.bs)}${c.endFsync ? ' + fsync' : ''}`;
    md.push(c.unavailable ? `| ${name} | ${c.jobs} | unavailable: ${c.unavailable} | | | | | | | | | |`
      : `| ${name} | ${c.jobs} | ${fmt(c.pramMBps, 0)} | ${fmt(c.floorMBps, 0)} | ${fmt(c.tmpfsMBps, 0)} | ${fmt(c.ratio)}× | ${fmt(c.pramFloor)}× | ${fmt(c.floorTmpfs)}× | ${fmt(c.pramIops, 0)} | ${fmt(c.pramCpuUs, 1)} | ${fmt(c.floorCpuUs, 1)} | ${fmt(c.rssMiB, 0)} |`);
  }
  md.push('', `Metadata: ${fmtNum(raw.files, 0)} empty files created (open O_CREAT|O_EXCL + close), stat'ed, unlinked by lib/metaops.c (C, one process) on each of the three; caches dropped before the stat and the unlink phases. fio's filecreate/filestat/filedelete engines were tried and take minutes for 100 000 files on tmpfs (their file list is walked per I/O), so they would time fio.`, '');
  md.push('| operation | pram ops/s | floor ops/s | tmpfs ops/s | pram / tmpfs | pram / floor | floor / tmpfs | server CPU µs/file pram | floor | server RSS MiB |', '|---|---|---|---|---|---|---|---|---|---|');
  for (const m of figures.meta) {
    md.push(m.unavailable ? `| ${m.op} | unavailable: ${m.unavailable} | | | | | | | | |`
      : `| ${m.op} | ${fmt(m.pram, 0)} | ${fmt(m.floor, 0)} | ${fmt(m.tmpfs, 0)} | ${fmt(m.ratio)}× | ${fmt(m.pramFloor)}× | ${fmt(m.floorTmpfs)}× | ${fmt(m.pramCpuUs, 1)} | ${fmt(m.floorCpuUs, 1)} | ${fmt(m.rssMiB, 0)} |`);
  }
  return { figures, markdown: md.join('\n'), targets };
}

scenario({
  name: 'fio', title: 'fio on the FUSE mount vs tmpfs',
  plan: (quick) => (quick ? { bytes: 64 * MIB, files: 10_000 } : { bytes: 1024 * MIB, files: 100_000 }),
  run, report,
});

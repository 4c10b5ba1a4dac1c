// What a namespace found on demand would cost (issue 13, v3 minor 2): an image
// of N 100-byte files in directories of 10 000, written by one whole compaction
// (grouped by directory, with its index), then in fresh processes: the lazy
// mount as the library does it today (a full replay), and the on-demand path
// alone — read and check LOCATE and the index, then the root's group and one
// directory's group (what a first lookup / readdir / stat would read).
//   node bench/namespace-index.mjs N [runs]     (arena /dev/shm/lazyns-ns-N.pram; PRAM_DIST=other/dist/: that build's mount only)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';

// PRAM_DIST: another build's dist/ (main's, to compare the mount on the same machine at the same time).
const DIST = process.env.PRAM_DIST ?? new URL('../dist/', import.meta.url).pathname;
const [, , op, nText, runsText] = process.argv;
const DIR_FILES = 10_000;

async function build(n, arena) {
  const { openVolume } = await import(DIST + 'open/volume.js');
  const mib = 1 << 20;
  fs.rmSync(arena, { force: true });
  const vol = openVolume({ arena, create: { sizeBytes: Math.ceil((n * 600 + 64 * mib) / mib) * mib }, verify: 'full', cmdline: '', clock: () => 0n }).volume;
  const body = Buffer.alloc(100, 7);
  let dir = 0;
  for (let i = 0; i < n; i++) {
    if (i % DIR_FILES === 0) dir = vol.mkdir(vol.rootIno, `d${i / DIR_FILES}`, 0o755, 0, 0).ino;
    const f = vol.mknod(dir, `s${i}`, 0o100644, 0, 0, 0);
    vol.write(f.ino, 0, body);
  }
  if (vol.sync() !== 0) throw new Error('sync');         // the arena's first commit: one whole compaction, grouped
  vol.unmount();
}

async function mount(arena) {
  const api = await import(DIST + 'api/index.js');
  const t0 = performance.now();
  const pfs = await api.mount({ arena, verify: 'lazy', cmdline: '', systemd: false, checkpointIntervalMs: 0, warn: () => {} });
  const t1 = performance.now();
  await pfs.stat('/d0/s5');
  const t2 = performance.now();
  await pfs.readdir('/d0');
  const t3 = performance.now();
  await pfs.unmount();
  return { mountMs: t1 - t0, firstStatMs: t2 - t1, firstReaddirMs: t3 - t2 };
}

async function index(arena) {
  const { openArena } = await import(DIST + 'api/arena.js');
  const { HeaderView } = await import(DIST + 'format/header.js');
  const { readLogHeader } = await import(DIST + 'format/v3.js');
  const g = await import(DIST + 'pram/groups.js');
  const t0 = performance.now();
  const { mem } = openArena(arena);
  const slot = new HeaderView(mem.page(0)).current().slot;
  const t1 = performance.now();
  const pages = g.logPages(mem, slot.headPfn, slot.log.logPages);
  const t2 = performance.now();
  const logId = readLogHeader(mem.page(pages[0])).logId;
  const bytes = (pages.length - 1) * (mem.pageSize - 40) + slot.log.tailOff - 32;
  const ix = g.readIndex(mem, pages, bytes, logId);
  if (typeof ix === 'string') throw new Error(ix);
  const t3 = performance.now();
  const root = g.readGroup(mem, pages, ix.dirs.get(1), logId);
  const d0 = root.names.find((n) => n.name === 'd0').ino;
  const t4 = performance.now();
  const dir = g.readGroup(mem, pages, ix.dirs.get(d0), logId);
  if (typeof dir === 'string') throw new Error(dir);
  const t5 = performance.now();
  return { openMs: t1 - t0, logPagesWalkMs: t2 - t1, logPages: pages.length, indexMs: t3 - t2, entries: ix.entries.length,
    rootGroupMs: t4 - t3, dirGroupMs: t5 - t4, dirNames: dir.names.length };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

if (op === 'child-mount' || op === 'child-index') {
  const r = op === 'child-mount' ? await mount(nText) : await index(nText);
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  const n = Number(op), runs = Number(nText ?? 3);
  if (!(n > 0)) { process.stderr.write('usage: node bench/namespace-index.mjs FILES [RUNS]\n'); process.exit(2); }
  const arena = `/dev/shm/lazyns-ns-${n}.pram`;
  const t0 = performance.now();
  await build(n, arena);
  process.stdout.write(`built ${n} files in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  const self = new URL(import.meta.url).pathname;
  const kinds = fs.existsSync(DIST + 'pram/groups.js') ? ['child-mount', 'child-index'] : ['child-mount'];
  for (const kind of kinds) {
    const rows = [];
    for (let i = 0; i < runs; i++) {
      const r = spawnSync(process.execPath, [self, kind, arena], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${kind}: ${r.stderr}`);
      rows.push(JSON.parse(r.stdout));
    }
    const out = {};
    for (const k of Object.keys(rows[0])) out[k] = +median(rows.map((x) => x[k])).toFixed(3);
    process.stdout.write(`${kind.slice(6)} (median of ${runs} fresh processes): ${JSON.stringify(out)}\n`);
  }
  fs.rmSync(arena, { force: true });
}

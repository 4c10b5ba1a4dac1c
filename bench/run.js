// `npm run bench` [-- --quick] [--only dd,lib,persist,ready,meta,fio] [--reps N] [--blackout]:
// pram side by side with tmpfs, ramfs, node:fs and a reload from disk, in one
// run (issues 6 and 15). Prints a markdown report and writes latest.md,
// latest.json (raw samples + derived figures, one run id in both) and two SVG
// charts: a full run into bench/results/, a quick run into bench/results/quick/
// (it never replaces a full run's files). Needs root (mount -t ramfs,
// drop_caches, FUSE). The sections are registered scenarios (lib/registry.js,
// lib/all.js); the built-in tables are in lib/report.js.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { markdown, derive } from './lib/report.js';
import { scenarios } from './lib/registry.js';
import './lib/all.js';
import { ddChart, scalingChart } from './lib/svg.js';
import { sizeName } from './lib/stats.js';
import { ROOT, loadavg, machine } from './lib/sys.js';
import { OTHER_SHARE_MAX, startAccounting } from './lib/share.js';
import { snapshot } from './lib/snapshot.js';

const MIB = 1 << 20, GIB = 1 << 30;

function parseArgs(argv) {
  const a = { quick: false, only: null, reps: 3, live: false, out: null, flags: new Set() };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const val = () => v ?? argv[++i];
    if (k === '--quick') a.quick = true;
    else if (k === '--only') a.only = new Set(val().split(','));
    else if (k === '--reps') a.reps = Number(val());
    else if (k === '--out') a.out = path.resolve(val());
    else if (k === '--live') a.live = true;
    else if (k === '--blackout') a.flags.add('blackout');
    else if (k === '--big') a.flags.add('big');
    else if (k === '--from') a.from = path.resolve(val());
    else if (k === '--help' || k === '-h') {
      process.stdout.write(`usage: node bench/run.js [--quick] [--only ${scenarios.map((s) => s.name).join(',')}] [--reps N>=3] [--out DIR] [--live: use dist/ as it is, no frozen copy]
       [--big: also 8 and 12 GiB arenas (full run)] [--blackout: only the CRIU + kexec blackout in QEMU]
       node bench/run.js --from results/latest.json [--out DIR]   (redraw the report and charts from saved raw figures)
A full run writes bench/results/, a quick run bench/results/quick/ (never the full run's files), --blackout bench/results/blackout/[quick/].\n`);
      process.exit(0);
    } else { process.stderr.write(`bench: unknown option ${argv[i]}\n`); process.exit(2); }
  }
  // --blackout (a flagged scenario, run alone) writes beside the main results, never over them.
  const sub = [...a.flags].filter((f) => f !== 'big').join('-');
  if (!a.from) a.out ??= path.join(ROOT, 'bench/results', sub, a.quick ? 'quick' : '');
  // A full run's figures are medians of at least 3; a quick run may take 1 (trying a section out).
  a.reps = Math.max(a.quick ? 1 : 3, Number.isInteger(a.reps) ? a.reps : 3);
  return a;
}

/** Sizes of the run: full as issue 6 asks; quick keeps the same shape, smaller. */
function plan(quick) {
  return quick
    ? { ddBytes: 128 * MIB, libBytes: 128 * MIB, mainBytes: 256 * MIB, sizes: [64 * MIB, 128 * MIB, 256 * MIB, 512 * MIB], readyBytes: 256 * MIB, metaLarge: 256 * MIB, metaSmall: 16 * MIB }
    : { ddBytes: GIB, libBytes: GIB, mainBytes: GIB, sizes: [256 * MIB, GIB, 2 * GIB, 4 * GIB], readyBytes: 2 * GIB, metaLarge: GIB, metaSmall: 64 * MIB };
}

/** Progress: the CLI's progress helper when it is built (dist/cli/progress.js), else one line per step on stderr. */
async function progress() {
  const plain = (line) => process.stderr.write(`bench: ${line}\n`);
  const file = path.join(process.env.PRAM_BENCH_ROOT ?? ROOT, 'dist/cli/progress.js');
  if (!fs.existsSync(file)) return { status: plain, done() {} };
  try {
    const mod = await import(file);
    const make = mod.createProgress ?? mod.progress ?? mod.default;
    const p = typeof make === 'function' ? make({ label: 'bench', channel: 'bench', stream: process.stderr }) : null;
    const status = typeof p?.status === 'function' ? (l) => p.status(l) : typeof p?.update === 'function' ? (l) => p.update(l) : plain;
    return { status, done: () => p?.done?.() ?? p?.stop?.() };
  } catch {
    return { status: plain, done() {} };
  }
}

/** Sections of registered scenarios with their own report: markdown, and figures and targets into `f`. */
function extraSections(r, f, dir) {
  const out = [];
  for (const s of scenarios) {
    if (!s.report || !r[s.name]) continue;
    const x = s.report(r[s.name], r);
    f[s.name] = x.figures;
    f.targets.push(...x.targets);
    for (const c of x.charts ?? []) { fs.writeFileSync(path.join(dir, c.file), c.svg); r.charts.push(c.file); }
    // An unchecked section computes its table in its own markdown: said so, and the figures check skips it.
    const note = s.unchecked ? '<!-- unchecked -->\nThis section\'s figures are computed by its own file from the raw runs in latest.json; the figures check does not cover them.\n\n' : '';
    out.push({ title: s.title, markdown: note + x.markdown });
  }
  return out;
}

/** Markdown, JSON and charts from the raw figures `r`. */
function publish(r, out) {
  const f = derive(r);
  fs.mkdirSync(out, { recursive: true });
  const sub = `${r.mode} run, ${r.startedAt.slice(0, 16)}, ${r.machine.cores}× ${r.machine.cpu}, node ${r.machine.node}`;
  r.charts = [];
  if (r.dd) { fs.writeFileSync(path.join(out, 'dd.svg'), ddChart(f, `${sizeName(r.dd.bytes)} per dd; ${sub}`)); r.charts.push('dd.svg'); }
  if (r.persist) { fs.writeFileSync(path.join(out, 'scaling.svg'), scalingChart(f, sub)); r.charts.push('scaling.svg'); }
  const md = markdown(r, f, extraSections(r, f, out));
  fs.writeFileSync(path.join(out, 'latest.md'), md + '\n');
  const { figures: _old, ...raw } = r;
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ ...raw, figures: f }, null, 1) + '\n');
  process.stdout.write(md + '\n');
  process.stderr.write(`bench: wrote ${path.relative(process.cwd(), out) || '.'}/latest.md, latest.json${r.charts.map((c) => ', ' + c).join('')}\n`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.from) {
    const r = JSON.parse(fs.readFileSync(args.from, 'utf8'));
    // A run from before run ids (issue 15) gets one from its start time, marked as such.
    if (!r.runId) { r.runId = `${r.startedAt.replace(/[-:.]/g, '').slice(0, 15)}-legacy`; r.legacyMethod = true; }
    publish(r, args.out ?? path.dirname(args.from));
    return;
  }
  const p = plan(args.quick);
  if (args.flags.has('big') && !args.quick) p.sizes.push(8 * GIB, 12 * GIB);
  // Flagged scenarios (--blackout) run only when asked, and then alone.
  const flagged = scenarios.filter((s) => s.flag && args.flags.has(s.flag));
  for (const fl of args.flags) {
    if (fl !== 'big' && !scenarios.some((s) => s.flag === fl)) {
      process.stderr.write(`bench: --${fl}: no scenario of that name is registered yet (issue 15 left it to do; see bench/README.md)\n`);
      process.exit(2);
    }
  }
  const want = (s) => (flagged.length ? flagged.includes(s) : !s.flag && (!args.only || args.only.has(s.name)));
  const t0 = performance.now();
  if (!args.live) {
    const snap = await snapshot(ROOT, (l) => process.stderr.write(`bench: ${l}\n`));
    process.env.PRAM_BENCH_ROOT = snap.root;   // children and the FUSE server inherit it
    if (!snap.ok) process.stderr.write(`bench: going on with a snapshot that does not fully load: ${snap.why}\n`);
  }
  const { status, done } = await progress();
  const startedAt = new Date().toISOString();
  const r = {
    runId: `${startedAt.replace(/[-:.]/g, '').slice(0, 15)}-${process.pid}`,
    mode: args.quick ? 'quick' : 'full', startedAt, machine: machine(),
    params: { reps: args.reps, ...p }, code: process.env.PRAM_BENCH_ROOT ? 'frozen copy of dist/ taken at start' : 'dist/ live',
  };
  status(`${r.mode} run on ${r.machine.cores} cores, ${r.machine.cpu}, node ${r.machine.node}`);
  if (process.getuid?.() !== 0) status('not root: ramfs, FUSE and drop_caches will be unavailable');
  const share = startAccounting(r.machine.cores);
  for (const s of scenarios) {
    if (!want(s)) continue;
    const sp = s.plan ? s.plan(args.quick, args.flags) : p;
    r.params[s.name] = s.plan ? sp : undefined;
    r[s.name] = await s.run({ plan: sp, reps: args.reps, quick: args.quick, status });
  }
  r.durationS = (performance.now() - t0) / 1000;
  r.machine.loadEnd = loadavg();
  if (share) r.machine.share = share();
  // Marked in latest.md when other work shared the CPUs: measured (share.js), else the 1-minute load above half the cores at either end.
  r.underLoad = share
    ? r.machine.share.otherShare > OTHER_SHARE_MAX
    : [r.machine.loadStart, r.machine.loadEnd].some((l) => Number(String(l).split(' ')[0]) > r.machine.cores / 2);
  done();

  publish(r, args.out);
}

await main();

// `npm run bench` [-- --quick] [--only dd,lib,persist,ready,meta] [--reps N]:
// pram side by side with tmpfs, ramfs, node:fs and a reload from disk, in one
// run (issue 6). Prints a markdown report and writes bench/results/latest.md,
// latest.json (raw samples + derived figures) and two SVG charts. Needs root
// (mount -t ramfs, drop_caches, FUSE). The measurements are in lib/scenarios.js,
// the figures in lib/report.js; this file sizes the run and writes the output.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { markdown, derive } from './lib/report.js';
import { ddBench, libBench, metaBench, persistBench, readyBench } from './lib/scenarios.js';
import { ddChart, scalingChart } from './lib/svg.js';
import { sizeName } from './lib/stats.js';
import { ROOT, loadavg, machine } from './lib/sys.js';
import { snapshot } from './lib/snapshot.js';
import { readsBench } from './lib/reads.js';

const MIB = 1 << 20, GIB = 1 << 30;

function parseArgs(argv) {
  const a = { quick: false, only: null, reps: 3, live: false, out: path.join(ROOT, 'bench/results') };
  for (let i = 0; i < argv.length; i++) {
    const [k, v] = argv[i].includes('=') ? argv[i].split('=', 2) : [argv[i], undefined];
    const val = () => v ?? argv[++i];
    if (k === '--quick') a.quick = true;
    else if (k === '--only') a.only = new Set(val().split(','));
    else if (k === '--reps') a.reps = Math.max(3, Number(val()));
    else if (k === '--out') a.out = path.resolve(val());
    else if (k === '--live') a.live = true;
    else if (k === '--from') a.from = path.resolve(val());
    else if (k === '--help' || k === '-h') {
      process.stdout.write('usage: node bench/run.js [--quick] [--only dd,lib,persist,ready,meta] [--reps N>=3] [--out DIR] [--live: use dist/ as it is, no frozen copy]\n       node bench/run.js --from results/latest.json [--out DIR]   (redraw the report and charts from saved raw figures)\n');
      process.exit(0);
    } else { process.stderr.write(`bench: unknown option ${argv[i]}\n`); process.exit(2); }
  }
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

/** Markdown, JSON and charts from the raw figures `r`. */
function publish(r, out) {
  const f = derive(r);
  fs.mkdirSync(out, { recursive: true });
  const sub = `${r.mode} run, ${r.startedAt.slice(0, 16)}, ${r.machine.cores}× ${r.machine.cpu}, node ${r.machine.node}`;
  r.charts = [];
  if (r.dd) { fs.writeFileSync(path.join(out, 'dd.svg'), ddChart(f, `${sizeName(r.dd.bytes)} per dd; ${sub}`)); r.charts.push('dd.svg'); }
  if (r.persist) { fs.writeFileSync(path.join(out, 'scaling.svg'), scalingChart(f, sub)); r.charts.push('scaling.svg'); }
  const md = markdown(r, f) + (r.reads?.markdown ? `\n\n${r.reads.markdown}` : '');
  fs.writeFileSync(path.join(out, 'latest.md'), md + '\n');
  const { figures: _old, ...raw } = r;
  fs.writeFileSync(path.join(out, 'latest.json'), JSON.stringify({ ...raw, figures: f }, null, 1) + '\n');
  process.stdout.write(md + '\n');
  process.stderr.write(`bench: wrote ${path.relative(process.cwd(), out) || '.'}/latest.md, latest.json${r.charts.map((c) => ', ' + c).join('')}\n`);
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  if (args.from) { publish(JSON.parse(fs.readFileSync(args.from, 'utf8')), args.out); return; }
  const p = plan(args.quick);
  const want = (s) => !args.only || args.only.has(s);
  const t0 = performance.now();
  if (!args.live) {
    const snap = await snapshot(ROOT, (l) => process.stderr.write(`bench: ${l}\n`));
    process.env.PRAM_BENCH_ROOT = snap.root;   // children and the FUSE server inherit it
    if (!snap.ok) process.stderr.write(`bench: going on with a snapshot that does not fully load: ${snap.why}\n`);
  }
  const { status, done } = await progress();
  const r = {
    mode: args.quick ? 'quick' : 'full', startedAt: new Date().toISOString(), machine: machine(),
    params: { reps: args.reps, ...p }, code: process.env.PRAM_BENCH_ROOT ? 'frozen copy of dist/ taken at start' : 'dist/ live',
  };
  status(`${r.mode} run on ${r.machine.cores} cores, ${r.machine.cpu}, node ${r.machine.node}`);
  if (process.getuid?.() !== 0) status('not root: ramfs, FUSE and drop_caches will be unavailable');
  const diskDir = '/var/tmp/pram-bench';   // the real disk (/ is /dev/vda), not tmpfs
  if (want('dd')) r.dd = await ddBench({ bytes: p.ddBytes, reps: args.reps, status });
  if (want('lib')) r.lib = await libBench({ bytes: p.libBytes, reps: args.reps, status });
  if (want('persist')) r.persist = await persistBench({ sizes: p.sizes, mainBytes: p.mainBytes, reps: args.reps, status });
  if (want('ready')) r.ready = await readyBench({ bytes: p.readyBytes, reps: args.reps, status, diskDir });
  if (want('meta')) r.meta = await metaBench({ largeBytes: p.metaLarge, smallBytes: p.metaSmall, status });
  if (want('reads')) r.reads = await readsBench({ quick: args.quick, reps: args.reps, status });   // issue 19, its own table
  r.durationS = (performance.now() - t0) / 1000;
  r.machine.loadEnd = loadavg();
  done();

  publish(r, args.out);
}

await main();

// Figures, tables, targets and the chart of "cost of a change vs image size"
// (lib/change.js) from its raw samples. Every number a table shows is a
// figure here (the figures check of issue 15), formatted by fmtNum.
import { fmt, fmtNum, sizeName, summary } from './stats.js';
import { latencyChart } from './svg.js';
import { table } from './report.js';

const OPS = [
  ['write', '4 KiB write + fsync'], ['create', 'create + sync'], ['rename', 'rename + sync'], ['unlink', 'unlink + sync'],
];

/** Nearest-rank percentiles of ms samples: { p50, p99, max, n }. */
export function percentiles(ms) {
  const s = ms.filter(Number.isFinite).sort((a, b) => a - b);
  if (!s.length) return null;
  const at = (p) => s[Math.max(0, Math.ceil((p / 100) * s.length) - 1)];
  return { p50: at(50), p99: at(99), max: s[s.length - 1], n: s.length };
}

const label = (x) => (x.kind === 'large' ? `${sizeName(x.bytes)} (large files)` : `${x.files.toLocaleString('en-US').replace(/,/g, ' ')} files of 100 B`);
const total = (pairs) => pairs.map(([a, b]) => a + b);

function imageFigures(x) {
  const f = { kind: x.kind, bytes: x.bytes ?? null, files: x.files ?? null, label: label(x), unavailable: x.unavailable ?? null };
  // Known once the build is done, even when a later step fails.
  if (x.kind === 'small' && x.usedFull !== undefined) f.bytesPerFile = (x.usedFull - x.usedEmpty) / x.files;
  if (!x.ops) return f;
  f.arenaBytes = x.sizeBytes;
  f.ops = Object.fromEntries(OPS.map(([k]) => [k, { ...percentiles(total(x.ops[k])), syncP50: percentiles(x.ops[k].map((s) => s[1]))?.p50 }]));
  if (x.unmountMs) f.unmount = percentiles(x.unmountMs);
  if (x.mount) {
    const dataBytes = x.kind === 'large' ? x.bytes : x.files * 100;
    f.dataBytes = dataBytes;
    for (const v of ['lazy', 'full']) f[`${v}Mount`] = summary(x.mount[v].map((m) => m.mountMs));
    // GB/s only where the data is the bulk of the image (large files); small files' 100 B each say nothing in GB/s.
    f.fullGBps = x.kind === 'large' ? summary(x.mount.full.map((m) => dataBytes / (m.mountMs / 1000) / 1e9)) : null;
    const reads = (v) => x.mount[v].filter((m) => m.readAllMs !== undefined).map((m) => m.readAllMs);
    f.lazyRead = summary(reads('lazy')); f.fullRead = summary(reads('full'));
    const n = Math.min(reads('lazy').length, reads('full').length);
    f.lazyOverFullRead = n ? summary(reads('lazy').slice(0, n).map((l, i) => l / reads('full')[i])) : null;
    // What the user pays from mount() to the last byte: a lazy mount moves work into the reads (groups loaded, pages checked on first touch).
    const whole = (v) => x.mount[v].filter((m) => m.readAllMs !== undefined).map((m) => m.mountMs + m.readAllMs);
    f.lazyOverFullWhole = n ? summary(whole('lazy').slice(0, n).map((l, i) => l / whole('full')[i])) : null;
    // The first process reads every file after the build and the change ops: its unmount commits an atime per file.
    f.firstReadUnmount = x.mount.lazy[0]?.readAllMs !== undefined ? x.mount.lazy[0].unmountMs ?? null : null;
  }
  if (x.stall) {
    Object.assign(f, { stallMax: x.stall.maxMs, stallP99: x.stall.p99Ms, stallGap: x.stall.gapMs ?? null, stallWrites: x.stall.writes, stallSeconds: x.stall.ranMs / 1000 });
    // The target takes the worse of the two measures (the histogram's max, the writer's longest gap between ticks).
    f.stallWorst = Math.max(x.stall.maxMs, x.stall.gapMs ?? 0);
  }
  return f;
}

const n2 = (v, d = 2) => (v === undefined || v === null ? '—' : fmtNum(v, d));
const pct = (p) => (p ? `${n2(p.p50)} / ${n2(p.p99)} / ${n2(p.max)} (${p.n})` : '—');
const withN = (sum) => (sum ? `${fmt(sum)} (${sum.n})` : '—');

function targets(f) {
  const t = [];
  const add = (what, goal, measured, met) => t.push({ what, goal, measured, status: measured === null ? 'unavailable' : met ? 'met' : 'NOT met' });
  const ok = f.images.filter((x) => !x.unavailable && x.ops);
  const largest = (kind) => ok.filter((x) => x.kind === kind).sort((a, b) => (a.bytes ?? a.files) - (b.bytes ?? b.files)).pop();
  for (const [k, name] of OPS) {
    const p50 = Math.max(...ok.map((x) => x.ops[k].p50)), p99 = Math.max(...ok.map((x) => x.ops[k].p99));
    add(`${name}, p50 and p99 at every size (${ok.length} images)`, 'p50 ≤ 1 ms, p99 ≤ 5 ms', ok.length ? `worst p50 ${n2(p50)} ms, worst p99 ${n2(p99)} ms` : null, p50 <= 1 && p99 <= 5);
  }
  const um = ok.filter((x) => x.unmount);
  const umWorst = Math.max(...um.map((x) => x.unmount.p50));
  add(`unmount with nothing changed, p50 at every size (${um.length} images)`, '≤ 5 ms', um.length ? `worst ${n2(umWorst)} ms` : null, umWorst <= 5);
  for (const kind of ['large', 'small']) {
    const x = largest(kind);
    add(`lazy mount, ${x ? x.label : kind} (goal set at ${kind === 'large' ? '12 GiB' : '1 000 000 files'})`, '≤ 20 ms', x?.lazyMount ? `${n2(x.lazyMount.median)} ms` : null, x?.lazyMount?.median <= 20);
  }
  const L = largest('large');
  add(`full mount, ${L ? L.label : 'large files'}`, '≥ 4 GB/s of data', L?.fullGBps ? `${n2(L.fullGBps.median)} GB/s` : null, L?.fullGBps?.median >= 4);
  const sm = f.images.filter((x) => x.bytesPerFile !== undefined);
  const bpf = Math.max(...sm.map((x) => x.bytesPerFile));
  add(`arena bytes per 100-byte file, worst of ${sm.length} images`, '≤ 512 B', sm.length ? `${n2(bpf, 0)} B` : null, bpf <= 512);
  const st = ok.filter((x) => x.kind === 'large' && x.stallMax !== undefined && x.bytes <= 4 * 2 ** 30).pop();
  add(`longest event-loop stall (histogram max or longest tick gap, the worse), 4 KiB/ms with checkpoints every 2 s, ${st ? st.label : 'large files'} (goal set at 4 GiB)`, '≤ 10 ms', st ? `${n2(st.stallWorst)} ms` : null, st?.stallWorst <= 10);
  add(`reads after a lazy mount vs after a full mount, ${L ? L.label : 'large files'}`, '≤ 1.10×', L?.lazyOverFullRead ? `${n2(L.lazyOverFullRead.median)}×` : null, L?.lazyOverFullRead?.median <= 1.1);
  return t;
}

/** The scenario's report: { figures, markdown, targets, charts }. */
export function changeReport(raw, r) {
  const f = { images: raw.images.map(imageFigures), tmpfs: percentiles(total(raw.tmpfs ?? [])) };
  f.tmpfsSyncP50 = percentiles((raw.tmpfs ?? []).map((s) => s[1]))?.p50;
  const p = r.params?.change ?? {};
  const md = [];
  md.push(`Images built once each in an arena on ${!raw.arenaDir || raw.arenaDir === '/dev/shm' ? '/dev/shm' : 'a tmpfs of its own (the largest arena does not fit /dev/shm)'} through the library API (\`mount({ create })\`), measured, then deleted. Large files: 1 GiB each, written in 1 MiB writes. Small files: 100 bytes each, at most 10 000 per directory. Each measurement below runs in a fresh \`node bench/child.js\` process with only the public API (dist/api), so the same code measures whichever engine dist/ holds. Samples per operation stop at ${p.ops?.samples ?? '?'} or once ${((p.ops?.budgetMs ?? 0) / 1000).toFixed(0)} s are spent on that operation and image (at least ${p.ops?.min ?? '?'}; unmount: ${p.unmount?.samples ?? '?'} or ${((p.unmount?.budgetMs ?? 0) / 1000).toFixed(0)} s); n is in each cell. An engine whose sync rewrites the image (v2 chains, the full results below) gets fewer samples on large images, and with fewer than 100 the p99 is the max.`, '');
  md.push('### Latency of one small change made durable, ms: p50 / p99 / max (n)', '');
  const ok = f.images.filter((x) => x.ops);
  const rows = f.images.map((x) => (x.ops ? [x.label, ...OPS.map(([k]) => pct(x.ops[k])), n2(x.ops.write.syncP50)]
    : [x.label, `unavailable: ${x.unavailable ?? 'not measured'}${x.bytesPerFile === undefined ? '' : ` (built: ${n2(x.bytesPerFile, 0)} arena B per file)`}`, '', '', '', '']));
  rows.push(['tmpfs file in /dev/shm (reference)', pct(f.tmpfs), '—', '—', '—', n2(f.tmpfsSyncP50)]);
  md.push(table(['image', ...OPS.map(([, n]) => n), 'fsync alone, p50'], rows), '');
  md.push('Equal work: each cell times the change and the call that makes it durable, back to back: pram `FileHandle.write` of 4 KiB at a seeded random offset of the first large file (small-file images: of a 1 MiB file) then `FileHandle.sync()`; `writeFile` of a new 100-byte file, `rename` of it, `unlink` of it (in /d0 of a small-file image, in / of a large one), each followed by `PramFs.sync()`. tmpfs: `node:fs/promises` FileHandle `write` of 4 KiB + `sync()` on a 1 MiB /dev/shm file, its data outliving the process at once. Interval checkpoints are off (`checkpointIntervalMs: 0`) so nothing else runs in between.', '');
  md.push('### Unmount, mount, space and event-loop stall per image', '');
  md.push(table(['image', 'unmount unchanged ms, p50 / p99 / max (n)', 'mount lazy ms (n)', 'mount full ms (n)', 'full GB/s of data', 'read all after lazy ms', 'after full ms', 'lazy / full', 'mount + read all, lazy / full', 'unmount after the first read all ms', 'arena B per file', 'stall max ms', 'stall p99 ms', 'longest tick gap ms', 'writes in stall'],
    ok.map((x) => [x.label, pct(x.unmount), withN(x.lazyMount), withN(x.fullMount), x.fullGBps ? fmt(x.fullGBps) : '—', fmt(x.lazyRead, 1), fmt(x.fullRead, 1), x.lazyOverFullRead ? `${fmt(x.lazyOverFullRead)}×` : '—',
      x.lazyOverFullWhole ? `${fmt(x.lazyOverFullWhole)}×` : '—',
      n2(x.firstReadUnmount), x.bytesPerFile === undefined ? '—' : n2(x.bytesPerFile, 0), n2(x.stallMax), n2(x.stallP99), n2(x.stallGap), x.stallWrites ?? '—'])), '');
  md.push(`Unmount: a lazy mount (not timed) then \`unmount()\` with nothing written (timed). Mounts: median [min–max] (n) of up to ${p.mounts ?? '?'} fresh processes per mode (order alternating${p.mountBudgetMs ? `; fewer once ${(p.mountBudgetMs / 1000).toFixed(0)} s are spent on an image's mounts, at least 3` : ''}), timed around \`mount()\` after the module is loaded, unmounted at the end; GB/s = data bytes / full mount time (large files only). Read all: the first ${p.readAllReps ?? '?'} of those processes then read every file once through FileHandle.read in 1 MiB reads into a buffer taken before the mount at the same page offset in both modes (pramlib readBuffer: a fresh 1 MiB Buffer lies at page offset 16, where a pread's kernel copy runs at about half speed; one taken after a full mount came from the heap instead), the same bytes after either mount, copied the same way in both: out of the arena's read-only mapping, its page tables filled ahead of the reads by the same thread on the other core (native/mapread.c); after a lazy mount each page is also checked against its crc32c as it is copied, which a full mount did before its first read; lazy / full pairs them process by process, and mount + read all pairs the time from \`mount()\` to the last byte read (a lazy mount moves the loading of a directory's group and the check of a page's crc into the first read that needs them). Unmount after the first read all: the first of those processes (lazy) reads every file once after the build and the change ops, and its \`unmount()\` (timed) commits each file's new access time (relatime: a file's first read since its last change); the later ones change no atime. Arena bytes per file: (used pages after writing and syncing every file − used pages of the empty synced image) × page size / files, used = statfs blocks − free, which counts the reserve the engine holds for its next checkpoint. Stall: \`monitorEventLoopDelay({ resolution: 1 })\` max and p99 of a process writing 4 KiB (awaited nowhere, one per 1 ms timer tick) into a 16 MiB file for ${p.stallSeconds ?? '?'} s after 0.5 s of the same loop untimed, mounted with \`checkpointIntervalMs: ${p.checkpointIntervalMs ?? '?'}\`; beside it the longest gap between two ticks as the writer saw it (a cross-check: the histogram can miss a stall before its own timer's first callbacks); "writes" is how many ticks ran (a stall eats ticks).`, '');
  if (raw.sibling) {
    const { alone, beside } = raw.sibling, med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
    const ratios = alone.map((a, i) => beside[i] / a);
    md.push(`The machine's second core (measured in this run, one fresh process): copying a 512 MiB Buffer in 1 MiB pieces took ${n2(med(alone), 0)} ms a GiB alone and ${n2(med(beside), 0)} beside a worker thread spinning in a loop that touches no memory (medians of ${alone.length} pairs; the slowdown pair by pair ${n2(Math.min(...ratios))}–${n2(Math.max(...ratios))}×). The thread that fills the reads' page tables works on that second core after either mount. On this VM the slowdown comes and goes between about 1× and 2× within minutes (presumably as the host runs the two vCPUs on one physical core's two hyperthreads or on two cores), and with it the read-all times of both modes.`, '');
  }
  md.push('Chart: [change.svg](change.svg).', '');
  const charts = [{ file: 'change.svg', svg: chart(f, r) }];
  return { figures: f, markdown: md.join('\n'), targets: targets(f), charts };
}

function chart(f, r) {
  const ok = f.images.filter((x) => x.ops);
  const COL = { write: '#d9480f', create: '#1971c2', rename: '#2f9e44', unlink: '#ae3ec9', unmount: '#495057', lazy: '#f08c00' };
  const series = (kind) => [
    ...OPS.map(([k, name]) => ({ label: name, color: COL[k], points: ok.filter((x) => x.kind === kind).map((x) => ({ x: x.bytes ?? x.files, y: x.ops[k].p50, hi: x.ops[k].p99 })) })),
    { label: 'unmount unchanged', color: COL.unmount, points: ok.filter((x) => x.kind === kind && x.unmount).map((x) => ({ x: x.bytes ?? x.files, y: x.unmount.p50, hi: x.unmount.p99 })) },
    { label: 'mount lazy', color: COL.lazy, points: ok.filter((x) => x.kind === kind && x.lazyMount).map((x) => ({ x: x.bytes ?? x.files, y: x.lazyMount.median, hi: x.lazyMount.max })) },
  ];
  return latencyChart({
    title: 'Cost of a change vs image size (p50, whisker to p99)',
    subtitle: `${r.mode} run ${r.runId}; dashed: tmpfs 4 KiB write + fsync p50, and the goals for a small change`,
    lines: [
      ...(f.tmpfs ? [{ label: 'tmpfs write + fsync', y: f.tmpfs.p50, color: '#1c7ed6' }] : []),
      { label: 'goal: p50 ≤ 1 ms', y: 1, color: '#868e96' }, { label: 'goal: p99 ≤ 5 ms', y: 5, color: '#ced4da' },
    ],
    panels: [
      { xLabel: 'image: data in large files', xName: sizeName, series: series('large') },
      { xLabel: 'image: small files (100 B)', xName: (n) => String(n), series: series('small') },
    ],
  });
}

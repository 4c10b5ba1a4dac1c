// From raw timings to the published figures: the markdown tables (one per
// measurement), the target check, and the derived numbers the JSON keeps next
// to the raw samples. Medians with [min–max]; ratios paired rep by rep.
import { bsName, fmt, fmtNum, gbps, pairedRatio, sizeName, summary } from './stats.js';

const GIB = 2 ** 30;
const un = (x) => (x && x.unavailable ? `unavailable: ${x.unavailable}` : null);

/** Derived figures (also stored in latest.json as `figures`). */
export function derive(r) {
  const f = { dd: [], lib: [], persist: [], ready: [], meta: [], targets: [] };
  // 1
  if (r.dd) {
    for (const t of Object.keys(r.dd.targets)) {
      for (const bs of r.dd.bss) {
        const row = r.dd.targets[t]?.[bs];
        const gone = un(r.dd.targets[t]) ?? (row ? null : 'unavailable: not measured');
        f.dd.push({
          target: t, bs, unavailable: gone,
          write: gone ? null : summary(gbps(r.dd.bytes, row.writeMs)),
          fsync: gone || !row.fsyncMs ? null : summary(gbps(r.dd.bytes, row.fsyncMs)), fsyncGbps: gone || !row.fsyncMs ? [] : gbps(r.dd.bytes, row.fsyncMs),
          read: gone ? null : summary(gbps(r.dd.bytes, row.readMs)),
          writeGbps: gone ? [] : gbps(r.dd.bytes, row.writeMs), readGbps: gone ? [] : gbps(r.dd.bytes, row.readMs),
        });
      }
    }
  }
  // 2
  if (r.lib) {
    for (const bs of r.lib.bss) {
      const rows = r.lib.rows[bs] ?? {};
      for (const who of ['nodefs', 'volume', 'api']) {
        const row = legacyLib(who, rows[who] ?? rows.all);
        const gone = un(row) ?? (row?.preMs?.length ? null : 'unavailable: not measured');
        const tp = (ms) => (gone ? [] : gbps(r.lib.bytes, ms));
        const sum2 = (a, b) => a.map((x, i) => x + b[i]);
        const x = { who, bs, unavailable: gone };
        if (!gone) {
          x.preGbps = tp(row.preMs); x.freshGbps = tp(row.freshMs); x.durableGbps = tp(sum2(row.freshMs, row.freshSyncMs)); x.readGbps = tp(row.readMs);
          for (const k of ['pre', 'fresh', 'durable', 'read']) x[k] = summary(x[`${k}Gbps`]);
        }
        f.lib.push(x);
      }
    }
  }
  // 3 and 6
  if (r.persist) {
    for (const [b, byFormat] of Object.entries(r.persist.sizes)) {
      // Runs before issue 15 kept one format (v1) per size.
      const formats = byFormat.saveMs ? { v1: byFormat } : byFormat;
      for (const [format, row] of Object.entries(formats)) {
        const bytes = Number(b);
        const perGiB = (ms) => ms.map((x) => x / (bytes / GIB));
        const faults = (c) => (c?.minorFaults?.length ? summary(c.minorFaults) : null);
        f.persist.push({
          bytes, format, via: row.via, unavailable: row.unavailable ? `unavailable: ${row.unavailable}` : null,
          save: summary(row.saveMs), fullMount: summary(row.full.mountMs), lazyMount: summary(row.lazy.mountMs),
          resave: summary(row.full.resaveMs),
          savePerGiB: summary(perGiB(row.saveMs)), fullPerGiB: summary(perGiB(row.full.mountMs)), lazyPerGiB: summary(perGiB(row.lazy.mountMs)),
          fullGBps: summary(gbps(bytes, row.full.mountMs)), saveGBps: summary(gbps(bytes, row.saveMs)),
          fullReadAll: summary(row.full.readAllMs), lazyReadAll: summary(row.lazy.readAllMs),
          lazyPlusRead: row.lazy.readAllMs?.length ? summary(row.lazy.mountMs.map((x, i) => x + row.lazy.readAllMs[i])) : null,
          fullFaults: faults(row.full), fullDropped: row.fullDropped ? summary(row.fullDropped.mountMs) : null, fullDroppedFaults: faults(row.fullDropped),
          phases: row.phases ? Object.fromEntries(Object.entries(row.phases).map(([k, v]) => [k, { open: summary(v.openMs), volumeMount: summary(v.volumeMountMs) }])) : null,
        });
      }
    }
  }
  // 4
  if (r.ready) {
    const disk = r.ready.modes['disk-direct'] ?? r.ready.modes['disk-cold'];
    const ms = (row) => row.ms ?? row.readyMs ?? [];
    for (const [m, row] of Object.entries(r.ready.modes)) {
      f.ready.push({ mode: m, unavailable: row.unavailable ? `unavailable: ${row.unavailable}` : null,
        ready: summary(ms(row)), speedupVsDisk: ms(disk).length && ms(row).length ? pairedRatio(ms(disk), ms(row)) : null });
    }
  }
  // 5
  if (r.meta) {
    for (const row of r.meta.rows) {
      if (row.unavailable) { f.meta.push({ ...row, unavailable: `unavailable: ${row.unavailable}` }); continue; }
      const metaBytes = (row.linkPages + row.metaPages + row.headerPages) * row.pageSize;
      const dataBytes = row.dataPages * row.pageSize;
      f.meta.push({ ...row, metaBytes, perGiB: metaBytes / (dataBytes / GIB), pct: (100 * metaBytes) / dataBytes });
    }
  }
  ratios(f);
  f.targets = targets(f, r);
  return f;
}

/**
 * A library row of a run before issue 15 in today's terms: node fs "write" was
 * into fresh pages and "rewrite" into pages already there; pram's "write" was
 * into an arena created before timing (pre-allocated). Nothing fresh or durable.
 */
function legacyLib(who, row) {
  if (!row || row.preMs || !row.writeMs) return row;
  const none = row.writeMs.map(() => NaN);
  return who === 'nodefs'
    ? { preMs: row.rewriteMs, freshMs: row.writeMs, freshSyncMs: none, readMs: row.readMs }
    : { preMs: row.writeMs, freshMs: none, freshSyncMs: none, readMs: row.readMs };
}

/** The paired ratios the tables show, stored with the figures (so every published number is in latest.json). */
function ratios(f) {
  const pr = (a, b) => (a?.length && b?.length ? pairedRatio(a, b) : null);
  for (const x of f.dd) {
    if (x.unavailable) continue;
    const o = (t) => f.dd.find((y) => y.target === t && y.bs === x.bs && !y.unavailable && t !== x.target);
    x.vs = {
      tmpfs: { write: pr(x.writeGbps, o('tmpfs')?.writeGbps), fsync: pr(x.fsyncGbps, o('tmpfs')?.fsyncGbps), read: pr(x.readGbps, o('tmpfs')?.readGbps) },
      ramfs: { write: pr(x.writeGbps, o('ramfs')?.writeGbps), read: pr(x.readGbps, o('ramfs')?.readGbps) },
    };
  }
  for (const x of f.lib) {
    if (x.unavailable || x.who === 'nodefs') continue;
    const node = f.lib.find((y) => y.who === 'nodefs' && y.bs === x.bs && !y.unavailable);
    x.vs = Object.fromEntries(['pre', 'fresh', 'durable', 'read'].map((k) => [k, pr(x[`${k}Gbps`], node?.[`${k}Gbps`])]));
  }
}

function targets(f, r) {
  const t = [];
  const ran = { dd: !!r.dd, lib: !!r.lib, persist: !!r.persist, ready: !!r.ready, meta: !!r.meta };
  const section = (what) => (/dd writes/.test(what) ? ran.dd : /library API/.test(what) ? ran.lib : /mount/.test(what) && !/time to ready/.test(what) ? ran.persist : /time to ready/.test(what) ? ran.ready : /^metadata/.test(what) ? ran.meta : true);
  // Targets of sections this run left out (--only) are not listed at all.
  const add = (what, goal, measured, met) => section(what) && t.push({ what, goal, measured, status: measured === null ? 'unavailable' : met ? 'met' : 'NOT met' });
  const dd = (tg, bs) => f.dd.find((x) => x.target === tg && x.bs === bs);
  const p4 = dd('pram', 4096), t4 = dd('tmpfs', 4096);
  if (p4?.write && t4?.write) {
    const ratio = pairedRatio(p4.writeGbps, t4.writeGbps);
    add('FUSE 4 KiB dd writes vs tmpfs', '≥ 0.5×', `${fmt(ratio)}×`, ratio.median >= 0.5);
  } else add('FUSE 4 KiB dd writes vs tmpfs', '≥ 0.5×', null);
  for (const bs of r.lib?.bss ?? [4096, 1 << 20]) {
    const api = f.lib.find((x) => x.who === 'api' && x.bs === bs), node = f.lib.find((x) => x.who === 'nodefs' && x.bs === bs);
    for (const [k, how] of [['fresh', 'fresh storage'], ['durable', 'fresh + sync']]) {
      const what = `library API writes vs node fs on tmpfs, ${bsName(bs)}, ${how}`;
      if (api?.[k] && node?.[k]) { const ratio = pairedRatio(api[`${k}Gbps`], node[`${k}Gbps`]); add(what, '≥ 1.5×', `${fmt(ratio)}×`, ratio.median >= 1.5); }
      else add(what, '≥ 1.5×', null);
    }
  }
  for (const format of ['v1', 'extents']) {
    const ok = f.persist.filter((x) => !x.unavailable && x.format === format);
    const main = ok.find((x) => x.bytes === r.params?.mainBytes) ?? ok.pop();
    if (main?.fullGBps) add(`full-verify mount, ${format} (${sizeName(main.bytes)})`, '≥ 3 GB/s of data', `${fmt(main.fullGBps)} GB/s`, main.fullGBps.median >= 3);
    else add(`full-verify mount, ${format}`, '≥ 3 GB/s of data', null);
    if (main?.lazyPerGiB) add(`deferred (lazy) mount, ${format} (${sizeName(main.bytes)})`, '≤ 20 ms per GiB', `${fmt(main.lazyPerGiB)} ms/GiB`, main.lazyPerGiB.median <= 20);
    else add(`deferred (lazy) mount, ${format}`, '≤ 20 ms per GiB', null);
  }
  for (const m of ['pram-lazy', 'pram-lazy+read', 'pram-full', 'pram-full+read']) {
    const row = f.ready.find((x) => x.mode === m);
    const disk = r.ready?.modes?.['disk-direct'] ? 'disk (O_DIRECT)' : 'disk after drop_caches';
    const what = `time to ready, ${m}${m === 'pram-lazy' ? ' (nothing verified: not ready in the sense above)' : ''} vs ${disk}, spawn to ${r.ready?.tool ? 'exit' : 'ready line'} (${sizeName(r.ready?.bytes ?? r.params.readyBytes)})`;
    if (row?.speedupVsDisk && !row.unavailable) add(what, '≥ 20× faster', `${fmt(row.speedupVsDisk)}×`, row.speedupVsDisk.median >= 20);
    else add(what, '≥ 20× faster', null);
  }
  const large = (ext) => f.meta.find((x) => x.layout === 'large files' && x.extents === ext);
  const v1 = large(false), ex = large(true);
  add('metadata, large files, v1', '≤ 0.7% of data', v1?.pct !== undefined ? `${fmtNum(v1.pct, 3)}%` : null, v1?.pct <= 0.7);
  add('metadata, large files, extents', '≤ 0.05% of data', ex?.pct !== undefined ? `${fmtNum(ex.pct, 3)}%` : null, ex?.pct <= 0.05);
  return t;
}

export function table(head, rows) {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}

/** The whole report as markdown. */
export function markdown(r, f, extra = []) {
  const m = r.machine;
  const out = [];
  out.push(`# pram benchmark (${r.mode})`, '');
  out.push(`Run id: ${r.runId ?? 'none (a run before run ids)'}${r.underLoad ? ' · taken UNDER LOAD (a shared machine: other work ran; the figures are indications, not idle-machine results)' : ''}`, '');
  if (r.legacyMethod) out.push('Measured with the method before issue 15 (redrawn from its latest.json by `node bench/run.js --from`): no fsync rows, no fresh-storage or durable library columns, time to ready after drop_caches without O_DIRECT, v1 images only. Cells the old method did not measure read "unavailable"; the text under each heading describes the current method; the method of this run is in bench/lib at commit 58a1cc2. See bench/README.md, "Method notes", for what changed and why.', '');
  out.push(`${r.startedAt} · ${m.cores} cores, ${m.cpu}, ${m.memGiB} GiB RAM · ${m.kernel} · node ${m.node} · ${m.dd} · run took ${Math.round(r.durationS)} s`, '');
  if (m.share) out.push(`CPU time during the run (measured: the run in a cgroup of its own, the machine's busy time from /proc/stat): the run ${m.share.ownS} s, other work ${m.share.otherS} s over ${m.share.elapsedS} s on ${m.cores} cores (${(m.share.otherShare * 100).toFixed(1)} % of the machine; above 5 % the run is marked under load). Load average (1, 5, 15 min) at start ${m.loadStart}, at end ${m.loadEnd ?? '?'} (the run's own work is in these).`, '');
  else if (m.loadStart) out.push(`Load average (1, 5, 15 min) at start ${m.loadStart}, at end ${m.loadEnd ?? '?'}: on ${m.cores} cores, anything above ~0.5 means other work shared the CPUs and widens the [min–max] ranges.`, '');
  out.push(`Each figure: median [min–max] of ${r.params.reps} repetitions; ratios are paired rep by rep (rep i of A over rep i of B). GB/s = 10^9 bytes/s.`, '');

  if (r.dd) {
    out.push(`## 1. dd, ${sizeName(r.dd.bytes)}: pram (FUSE) vs tmpfs vs ramfs`, '');
    out.push(`Write: \`dd if=/dev/zero of=X bs=BS count=N\`, timed around the whole dd process (its close() waits for FUSE to flush cached writes); "+ fsync": the same with \`conv=fsync\` (dd fsyncs before it exits: pram saves a checkpoint, tmpfs and ramfs return at once). Read: \`dd if=X of=/dev/null bs=BS\` after \`sync; echo 3 > /proc/sys/vm/drop_caches\` (${r.dd.dropCaches === true ? 'done' : r.dd.dropCaches}) — for pram this empties the kernel's FUSE page cache so reads go to the server; tmpfs and ramfs keep their pages (they are the storage). The pram arena is created (pre-allocated) at mount, not timed; tmpfs and ramfs allocate pages inside the timed write.`, '');
    out.push(`Page warm-up: every timed write is preceded by an untimed write and delete of the same size on tmpfs (ramfs: on its own mount, its pages are of another kind), and the order of the targets rotates each rep${r.dd.reps && r.dd.reps !== r.params.reps ? ` (this section: median [min–max] of ${r.dd.reps} reps, more than the others because ramfs's 4 KiB writes vary 2–3× from rep to rep here)` : ''} — the VM this runs in hands freed pages back to its host, and a write into such pages is slower (bench/README.md, "Method notes"; it made the ramfs 4 KiB row of earlier runs noise).`, '');
    const rows = f.dd.map((x) => {
      if (x.unavailable) return [x.target, bsName(x.bs), x.unavailable, '', '', '', '', '', '', ''];
      const vs = (other, k) => (x.vs?.[other]?.[k] ? `${fmt(x.vs[other][k])}×` : '—');
      return [x.target, bsName(x.bs), fmt(x.write), fmt(x.fsync), fmt(x.read), vs('tmpfs', 'write'), vs('tmpfs', 'fsync'), vs('ramfs', 'write'), vs('tmpfs', 'read'), vs('ramfs', 'read')];
    });
    out.push(table(['target', 'bs', 'write GB/s', 'write + fsync GB/s', 'read GB/s', 'write vs tmpfs', 'write + fsync vs tmpfs', 'write vs ramfs', 'read vs tmpfs', 'read vs ramfs'], rows), '');
    out.push('Equal work: each target gets the same dd commands over the same bytes after the same warm-up; the + fsync column is the one where pram\'s data is also saved.', '');
  }
  if (r.lib) {
    out.push(`## 2. In one Node process, ${sizeName(r.lib.bytes)}: library API vs node:fs on a tmpfs file`, '');
    out.push('node fs: `fs.writeSync`/`fs.readSync` on a /dev/shm file. api: `mount()` from dist/api with FileHandle `write`/`read` (awaited one by one); volume: the fs layer\'s synchronous `Volume.write`/`readInto`, no api/ layer; every path reads into one buffer of its own, reused. Each path in its own fresh process (one per path, bs and rep, order rotated), after an untimed warm-up of its own loop (16 MiB) and of the pages (see the note under section 1).', '');
    out.push('pre-allocated: the storage exists before timing (tmpfs: the file written once untimed; pram: the arena created, pre-allocated with fallocate). fresh: the storage is made inside the timed part (tmpfs allocates pages as the file grows; pram creates its arena — data size + 6% + 48 MiB, fallocated — then writes). fresh + sync: fresh plus the sync that makes the data outlive the process (pram: `sync()`, the first checkpoint, checksumming every page written in one batch; node fs: `fsync`, which tmpfs returns at once because its pages outlive the process anyway). read: everything back after the pre-allocated case.', '');
    const rows = f.lib.map((x) => {
      if (x.unavailable) return [x.who, bsName(x.bs), x.unavailable, '', '', '', '', '', ''];
      const vs = (k) => (x.vs?.[k] ? `${fmt(x.vs[k])}×` : '—');
      return [x.who, bsName(x.bs), fmt(x.pre), fmt(x.fresh), fmt(x.durable), fmt(x.read), vs('pre'), vs('fresh'), vs('durable'), vs('read')];
    });
    out.push(table(['path', 'bs', 'write, pre-allocated GB/s', 'write, fresh GB/s', 'fresh + sync GB/s', 'read GB/s', 'pre-allocated vs node fs', 'fresh vs node fs', 'fresh + sync vs node fs', 'read vs node fs'], rows), '');
    out.push('Equal work: every path writes the same bytes in the same block size into storage in the same state (made before timing, or made inside it), and the durable column adds what each needs for the data to outlive the process.', '');
  }
  if (r.persist) {
    const mains = f.persist.filter((x) => x.bytes === r.params.mainBytes);
    out.push(`## 3. Save and mount per GiB (${mains[0] ? sizeName(mains[0].bytes) : '?'} of data, large files, v1 and extents images; fresh process per mount)`, '');
    out.push(`Save: \`unmount()\` right after writing (every page dirty: the first save checksums all of it); v1 is the layout the RFC's loader reads, extents saves contiguous runs as extents (docs/FORMAT.md). Mount: \`mount({ verify })\` in a new process (opens and maps the arena, boots, reserves and loads the chain). Resave: unmount after a mount with no changes. Read all: reading every byte after the mount (lazy verification pays here). Via: ${mains[0]?.via ?? '?'}. Arenas on a tmpfs of the bench's own.`, '');
    for (const main of mains) {
      if (main.unavailable) { out.push(`${main.format}: ${main.unavailable}`, ''); continue; }
      out.push(`### ${main.format}`, '');
      out.push(table(['operation', 'ms (total)', 'ms per GiB', 'GB/s of data'], [
        ['save (unmount after writing)', fmt(main.save), fmt(main.savePerGiB), fmt(main.saveGBps)],
        ['mount, verify full', fmt(main.fullMount), fmt(main.fullPerGiB), fmt(main.fullGBps)],
        ['mount, verify full, right after drop_caches', fmt(main.fullDropped), '—', '—'],
        ['mount, verify lazy (deferred)', fmt(main.lazyMount), fmt(main.lazyPerGiB), '—'],
        ['resave, nothing changed', fmt(main.resave), '—', '—'],
        ['read all after full mount', fmt(main.fullReadAll), '—', '—'],
        ['read all after lazy mount (verifies on first read)', fmt(main.lazyReadAll), '—', '—'],
        ['lazy mount + read all (every byte verified)', fmt(main.lazyPlusRead), '—', '—'],
        ...(main.phases ? [
          ['  of a full mount: open and map the arena (Volume directly)', fmt(main.phases.full.open), '—', '—'],
          ['  of a full mount: Volume.mount (boot, reserve, load)', fmt(main.phases.full.volumeMount), '—', '—'],
          ['  of a lazy mount: open and map the arena', fmt(main.phases.lazy.open), '—', '—'],
          ['  of a lazy mount: Volume.mount', fmt(main.phases.lazy.volumeMount), '—', '—'],
        ] : []),
        ...(main.fullDroppedFaults ? [
          ['minor page faults of the full mount (count, not ms)', fmt(main.fullFaults, 0), '—', '—'],
          ['the same right after drop_caches (count)', fmt(main.fullDroppedFaults, 0), '—', '—'],
        ] : []),
      ]), '');
    }
    out.push('Why earlier runs disagreed between section 4 (pram-full) and section 6: see bench/README.md, "Method notes" — the page cache was dropped before section 4\'s mounts, and a mount right after drop_caches maps the arena one fault per page (the two fault rows above).', '');
  }
  if (r.ready) {
    out.push(`## 4. Time to ready after a restart, ${sizeName(r.ready.bytes)} working set`, '');
    out.push(`Each source is a fresh \`node bench/child.js\` process timed from spawn to exit by ${r.ready.tool ?? 'hyperfine'} (one hyperfine per rep, one run of each source, so the sources interleave); before every run hyperfine's \`--prepare\` starts an untimed node that loads node and pram's modules, so only the data differs. The process exits as soon as it is ready (pram without unmounting: nothing changed, and the resave is not part of getting ready).`, '');
    out.push(`"Ready" means every byte usable and, for a source that promises integrity, verified. disk-direct: read the whole file ${r.ready.diskFile} into memory with O_DIRECT (the guest's page cache cannot serve it; but the virtual disk is a file on the host, which caches it: "cold" here is the guest's cold, the host's cache may still serve the reads). tmpfs: the same from ${r.ready.shmFile} (its pages are the storage). pram-lazy: \`mount({ verify: 'lazy' })\` alone, nothing verified or read — shown for the mount's own cost, not ready in the sense above. pram-lazy+read: lazy mount, then every byte read through the API (each page verified on its first read). pram-full: \`mount({ verify: 'full' })\`, every page verified, the bytes usable in place. pram-full+read: then every byte read as well, the same copying the file sources do. node-start: node and pram's modules, nothing else.`, '');
    const sp = (x) => (x.mode === 'disk-direct' ? '1×' : x.speedupVsDisk ? `${fmt(x.speedupVsDisk)}×` : '—');
    out.push(table(['source', 'ms spawn to exit', 'speed-up vs disk-direct'], f.ready.map((x) => x.unavailable ? [x.mode, x.unavailable, ''] : [x.mode, fmt(x.ready), sp(x)])), '');
    out.push('Equal work: every row but pram-lazy and node-start ends with every byte of the working set usable, and pram\'s verified; the +read rows also copy every byte once, as the file sources do.', '');
  }
  if (r.meta) {
    out.push('## 5. Metadata overhead (link + meta + header pages)', '');
    const agree = f.meta.every((x) => x.unavailable || (x.info && x.info.link === x.linkPages && x.info.meta === x.metaPages));
    const infoNote = !f.meta.some((x) => x.info) ? 'not cross-checked with `pram info --json` in this run' : f.meta.some((x) => x.info?.unavailable) ? `\`pram info --json\`: ${f.meta.find((x) => x.info?.unavailable).info.unavailable}` : agree ? '`pram info --json` on each arena reports the same link and meta counts' : '`pram info --json` DISAGREES with the engine\'s stats on some rows (see latest.json, `info`)';
    out.push(`Page counts of the committed checkpoint (the engine's stats after a sync); deterministic, so counted once; ${infoNote}. Header: the arena header page (pfn 0). Large files are written in 1 MiB writes.`, '');
    out.push(table(['layout', 'format', 'data', 'files', 'link pages', 'meta pages', 'header', 'bytes per GiB of data', '% of data'], f.meta.map((x) => x.unavailable
      ? [x.layout, x.extents ? 'extents' : 'v1', sizeName(x.bytes), x.unavailable, '', '', '', '', '']
      : [x.layout, x.extents ? 'extents' : 'v1', sizeName(x.bytes), x.files, x.linkPages, x.metaPages, x.headerPages, sizeName(Math.round(x.perGiB)), `${fmtNum(x.pct, 3)}%`])), '');
  }
  if (r.persist) {
    out.push('## 6. Scaling: save and mount time by data size, v1 and extents', '');
    out.push(table(['data', 'format', 'save ms', 'mount full ms', 'mount lazy ms', 'save ms/GiB', 'full ms/GiB', 'lazy ms/GiB'], f.persist.map((x) => x.unavailable
      ? [sizeName(x.bytes), x.format, x.unavailable, '', '', '', '', '']
      : [sizeName(x.bytes), x.format, fmt(x.save, 1), fmt(x.fullMount, 1), fmt(x.lazyMount, 1), fmt(x.savePerGiB, 1), fmt(x.fullPerGiB, 1), fmt(x.lazyPerGiB, 1)])), '');
    out.push(`Equal work: both formats hold the same bytes in the same files; sizes past 4 GiB (8 and 12 GiB) run with \`--big\`${r.params.sizes.some((b) => b > 4 * GIB) ? '' : ' (not in this run)'}.`, '');
  }
  extra.forEach((x, i) => out.push(`## ${7 + i}. ${x.title}`, '', x.markdown, ''));
  if (f.targets.length) out.push('## Targets', '');
  if (f.targets.length) out.push(table(['target', 'goal', 'measured', 'status'], f.targets.map((x) => [x.what, x.goal, x.measured ?? 'unavailable', x.status])), '');
  if (r.charts?.length) out.push(`Charts: ${r.charts.map((c) => `[${c}](${c})`).join(', ')}`, '');
  return out.join('\n');
}

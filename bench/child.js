// One measurement in a fresh Node process, so each figure starts from a clean
// heap and a fresh mapping (what a restarted service sees). run.js spawns
// `node bench/child.js OP --json '{...}'` and reads one JSON line from stdout
// ("ready" lines come first for the time-to-ready op). Times are ms from
// performance.now(); the parent computes medians and ratios.
import * as fs from 'node:fs';
import { performance } from 'node:perf_hooks';
import { childOps, ops } from './lib/registry.js';
import './lib/all.js';
import { warmPages } from './lib/sys.js';
import {
  apiMount, arenaBytesFor, firstLine, loadApi, loadVolume, must, patternBuffer, readBuffer, volumeCreate, volumeMount,
} from './lib/pramlib.js';

const MIB = 1 << 20;
const op = process.argv[2];
const args = JSON.parse(process.argv[process.argv.indexOf('--json') + 1] ?? '{}');

function out(obj) { process.stdout.write(JSON.stringify(obj) + '\n'); }
function rmArena(p) { try { fs.rmSync(p, { force: true }); } catch { /* gone */ } }
const time = (f) => { const t0 = performance.now(); const r = f(); return [performance.now() - t0, r]; };
const timeAsync = async (f) => { const t0 = performance.now(); const r = await f(); return [performance.now() - t0, r]; };

/** File layout of `bytes` of data: large files of up to `fileBytes` each. */
function layout(bytes, fileBytes) {
  const files = [];
  for (let off = 0, i = 0; off < bytes; off += fileBytes, i++) files.push({ name: `f${i}`, bytes: Math.min(fileBytes, bytes - off) });
  return files;
}

// ---- library API, Volume or node:fs on tmpfs: one path per process ----
// Each path runs in its own fresh process (no path inherits another's JIT
// warm-up or freed pages), after an untimed warm-up of its own loop on 16 MiB
// and a page warm-up (sys.js warmPages). Two cases, same bytes:
// pre-allocated: the storage exists before timing (tmpfs: the file written once
// untimed; pram: the arena created, which pre-allocates and touches it); then
// sync (pram: the first checkpoint; tmpfs: fsync, a no-op, its pages already
// outlive the process), then read back. fresh: the storage is made inside the
// timed part (tmpfs: pages as the file grows; pram: creating the arena plus the
// writes), then sync: fresh + sync is the cost of durable data from nothing.
async function libio() {
  const { who, bytes, bs, arena, tmpfile, sizeBytes } = args;
  const buf = patternBuffer(bs);
  const make = await libPath(who, { arena, tmpfile });
  const loop = async (h, total) => { for (let off = 0; off < total; off += bs) await h.write(buf, off); };
  {
    const h = await make.open(arenaBytesFor(16 * MIB));
    await loop(h, 16 * MIB);
    for (let off = 0; off < 16 * MIB; off += bs) await h.read(buf, off);
    await h.close();
  }
  const r = { via: make.via };
  {
    const h = await make.open(sizeBytes);
    if (who === 'nodefs') await loop(h, bytes);   // tmpfs's storage is its pages: allocate them untimed
    warmPages(bytes);
    const t0 = performance.now();
    await loop(h, bytes);
    const t1 = performance.now();
    await h.sync();
    const t2 = performance.now();
    for (let off = 0; off < bytes; off += bs) await h.read(buf, off);
    const t3 = performance.now();
    await h.close();
    Object.assign(r, { preMs: t1 - t0, preSyncMs: t2 - t1, readMs: t3 - t2 });
  }
  {
    warmPages(sizeBytes);
    const t0 = performance.now();
    const h = await make.open(sizeBytes);
    await loop(h, bytes);
    const t1 = performance.now();
    await h.sync();
    const t2 = performance.now();
    await h.close();
    Object.assign(r, { freshMs: t1 - t0, freshSyncMs: t2 - t1 });
  }
  out(r);
}

/** One library path as open(size) -> { write(buf, off), read(buf, off), sync(), close() }; open creates the storage. */
async function libPath(who, { arena, tmpfile }) {
  if (who === 'nodefs') {
    return { via: 'node:fs', async open() {
      const fd = fs.openSync(tmpfile, 'w+');
      return { write: (b, o) => fs.writeSync(fd, b, 0, b.length, o), read: (b, o) => fs.readSync(fd, b, 0, b.length, o),
        sync: () => fs.fsyncSync(fd), close: () => { fs.closeSync(fd); rmArena(tmpfile); } };
    } };
  }
  if (who === 'volume') {
    const v = await loadVolume();
    if (v.missing) throw new Error(v.missing);
    return { via: 'volume', async open(sizeBytes) {
      rmArena(arena);
      const vol = volumeMount(v, { arena, sizeBytes, verify: 'full' });
      const ino = volumeCreate(vol, 'f');
      return { write: (b, o) => must(vol.write(ino, o, b), 'write'), read: (b, o) => must(vol.readInto(ino, o, b, 0, b.length), 'read'),
        sync: () => must(vol.sync(), 'sync'), close: () => { must(vol.unmount(), 'unmount'); rmArena(arena); } };
    } };
  }
  const api = await loadApi();
  if (api.missing) throw new Error(api.missing);
  return { via: 'api', async open(sizeBytes) {
    rmArena(arena);
    const p = await apiMount(api, { arena, sizeBytes, verify: 'full' });
    const h = await p.open('/f', 'w+');
    return { write: (b, o) => h.write(b, 0, b.length, o), read: (b, o) => h.read(b, 0, b.length, o),
      sync: () => p.sync(), close: async () => { await h.close(); await p.unmount(); rmArena(arena); } };
  } };
}

/** Mounts for writing: the library API when built, else the Volume. Returns write/unmount closures. */
async function openForWrite({ arena, sizeBytes, extents }) {
  const api = await loadApi();
  if (!api.missing) {
    const p = await apiMount(api, { arena, sizeBytes, verify: 'full', extents });
    return {
      via: 'api',
      async writeFile(name, total, chunk) {
        const h = await p.open('/' + name, 'w');
        for (let off = 0; off < total; off += chunk.length) await h.write(chunk, 0, Math.min(chunk.length, total - off), off);
        await h.close();
      },
      unmount: () => p.unmount(),
    };
  }
  const v = await loadVolume();
  if (v.missing) throw new Error(`${api.missing}; ${v.missing}`);
  const vol = volumeMount(v, { arena, sizeBytes, verify: 'full', extents });
  return {
    via: 'volume',
    async writeFile(name, total, chunk) {
      const ino = volumeCreate(vol, name);
      for (let off = 0; off < total; off += chunk.length) must(vol.write(ino, off, total - off < chunk.length ? chunk.subarray(0, total - off) : chunk), 'write');
    },
    unmount: () => must(vol.unmount(), 'unmount'),
  };
}

// ---- save: write `bytes` into a new arena, time the unmount (the first save checksums everything) ----
async function save() {
  const { arena, sizeBytes, bytes, extents = false } = args;
  rmArena(arena);
  const w = await openForWrite({ arena, sizeBytes, extents });
  const chunk = patternBuffer(MIB);
  const [writeMs] = await timeAsync(async () => { for (const f of layout(bytes, 1 << 30)) await w.writeFile(f.name, f.bytes, chunk); });
  const [saveMs] = await timeAsync(async () => w.unmount());
  out({ via: w.via, writeMs, saveMs });
}

// ---- mount an existing arena, full or lazy; then (optionally) read all, then unmount unchanged ----
async function mount() {
  const { arena, verify, readAll = false } = args;
  const api = await loadApi();
  const res = {};
  if (!api.missing) {
    res.via = 'api';
    const buf = readAll ? readBuffer() : null;
    const f0 = process.resourceUsage().minorPageFault;
    const [mountMs, p] = await timeAsync(() => apiMount(api, { arena, verify }));
    res.mountMs = mountMs;
    res.minorFaults = process.resourceUsage().minorPageFault - f0;
    if (readAll) {
      const [ms, total] = await timeAsync(async () => {
        let t = 0;
        for (const name of await p.readdir('/')) {
          const h = await p.open('/' + name, 'r');
          for (;;) { const { bytesRead } = await h.read(buf, 0, MIB, null); if (!bytesRead) break; t += bytesRead; }
          await h.close();
        }
        return t;
      });
      res.readAllMs = ms; res.readAllBytes = total;
    }
    [res.resaveMs] = await timeAsync(() => p.unmount());
  } else {
    const v = await loadVolume();
    if (v.missing) throw new Error(`${api.missing}; ${v.missing}`);
    res.via = 'volume';
    const [mountMs, vol] = time(() => volumeMount(v, { arena, verify }));
    res.mountMs = mountMs;
    if (readAll) {
      const [ms, total] = time(() => {
        let t = 0;
        const ents = must(vol.readdir(vol.rootIno, 0, 1 << 20), 'readdir');
        for (const e of ents) {
          if (e.name === '.' || e.name === '..') continue;
          for (let off = 0; ; off += MIB) { const b = must(vol.read(e.ino, off, MIB), 'read'); if (!b.length) break; t += b.length; }
        }
        return t;
      });
      res.readAllMs = ms; res.readAllBytes = total;
    }
    [res.resaveMs] = time(() => must(vol.unmount(), 'unmount'));
  }
  out(res);
}

// ---- time to ready: exit as soon as the working set is ready (hyperfine times the process) ----
// file: read the whole file into memory (direct: with O_DIRECT, so the guest's
// page cache cannot serve it). pram-lazy: mount, nothing verified or touched.
// pram-full: mount verifying every page; the bytes are then usable in place.
// +read: then read every byte through the API (after a lazy mount this is where
// each page is verified), as the file sources do. Exits without unmounting:
// nothing was changed, and the unmount's resave is not part of getting ready.
async function ready() {
  const { mode, path, bytes, arena, direct = false } = args;
  if (mode === 'file') {
    const fd = fs.openSync(path, fs.constants.O_RDONLY | (direct ? fs.constants.O_DIRECT : 0));
    const parts = [];
    let got = 0;
    const piece = 256 * MIB;
    while (got < bytes) {
      const len = Math.min(piece, bytes - got);
      const b = direct ? alignedBuffer(fd, len) : Buffer.allocUnsafe(len);
      for (let off = 0; off < len;) {
        const r = fs.readSync(fd, b, off, Math.min(16 * MIB, len - off), got + off);
        if (!r) throw new Error('short file');
        off += r;
      }
      parts.push(b); got += len;
    }
    fs.closeSync(fd);
    out({ bytes: got });
    process.exit(0);
  }
  const api = await loadApi();
  if (api.missing) throw new Error(api.missing);
  const buf = readBuffer();
  const p = await apiMount(api, { arena, verify: mode.startsWith('pram-lazy') ? 'lazy' : 'full' });
  let total = 0;
  if (mode.endsWith('+read')) {
    for (const name of await p.readdir('/')) {
      const h = await p.open('/' + name, 'r');
      for (;;) { const { bytesRead } = await h.read(buf, 0, MIB, null); if (!bytesRead) break; total += bytesRead; }
      await h.close();
    }
    if (total !== bytes) throw new Error(`read ${total} bytes of ${bytes}`);
  }
  out({ bytes: total });
  process.exit(0);
}

/**
 * A Buffer of `len` bytes whose memory O_DIRECT accepts: Node cannot ask for an
 * alignment, so probe offsets into a larger allocation with a one-block read.
 */
function alignedBuffer(fd, len) {
  const big = Buffer.allocUnsafeSlow(len + 8192);
  for (let off = 0; off <= 4096; off += 16) {
    try { fs.readSync(fd, big, off, 4096, 0); return big.subarray(off, off + len); } catch (e) { if (e.code !== 'EINVAL') throw e; }
  }
  throw new Error('no O_DIRECT-aligned offset found in a 4 KiB window');
}

// ---- metadata: write a layout, checkpoint, read the engine's page counts ----
async function meta() {
  const { arena, sizeBytes, bytes, fileBytes, extents = false } = args;
  rmArena(arena);
  const v = await loadVolume();
  if (v.missing) throw new Error(v.missing);
  const vol = volumeMount(v, { arena, sizeBytes, verify: 'full', extents });
  const chunk = patternBuffer(Math.min(MIB, fileBytes));
  for (const f of layout(bytes, fileBytes)) {
    const ino = volumeCreate(vol, f.name);
    for (let off = 0; off < f.bytes; off += chunk.length) must(vol.write(ino, off, f.bytes - off < chunk.length ? chunk.subarray(0, f.bytes - off) : chunk), 'write');
  }
  must(vol.sync(), 'sync');
  const s = vol.pram?.stats();
  if (!s) throw new Error('volume has no engine stats');
  const pageSize = vol.mem.pageSize;
  vol.unmount();   // the arena stays: run.js cross-checks with `pram info --json`, then deletes it
  out({ files: layout(bytes, fileBytes).length, linkPages: s.linkPages, metaPages: s.metaPages, dataPages: s.dataPages, entries: s.entries, headerPages: 1, pageSize });
}

// ---- where a mount's time goes: arena open+map vs Volume.mount (boot, reserve, load) ----
async function phases() {
  const { arena, verify } = args;
  const v = await loadVolume();
  if (v.missing) throw new Error(v.missing);
  const t0 = performance.now();
  const { mem, handoff } = v.openArena(arena);
  const t1 = performance.now();
  const vol = v.Volume.mount({ mem, handoff, verify, cmdline: '', clock: () => 0n });
  const t2 = performance.now();
  must(vol.unmount(), 'unmount');
  out({ openMs: t1 - t0, volumeMountMs: t2 - t1 });
}

async function noop() {
  // Warms node and the dist modules into the page cache after drop_caches, so
  // time-to-ready compares the data paths, not who loads node from disk first.
  await loadApi(); await loadVolume();
  out({ ok: true });
}

childOps({ libio, save, mount, ready, meta, phases, noop });
if (!ops[op]) { process.stderr.write(`bench/child.js: unknown op ${op}\n`); process.exit(2); }
try {
  await ops[op]();
  process.exit(0);
} catch (e) {
  out({ error: firstLine(e) });
  process.exit(1);
}

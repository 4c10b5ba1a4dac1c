// How the benchmark reaches pram from inside a Node process: the library API
// (dist/api/index.js `mount`) when it is built, and always the fs layer's
// Volume directly (dist/fs/volume.js), which the benchmark shows as its own row
// so the cost of the api/ layer on top is visible. Nothing here measures;
// child.js times what these functions do.
import * as fs from 'node:fs';
import { fileURLToPath } from 'node:url';

// PRAM_BENCH_ROOT: the frozen copy of the package run.js made for this run (lib/snapshot.js).
const DIST = process.env.PRAM_BENCH_ROOT ? process.env.PRAM_BENCH_ROOT + '/dist/' : fileURLToPath(new URL('../../dist/', import.meta.url));

/** The api/ module, or { missing: reason }. */
export async function loadApi() {
  const file = DIST + 'api/index.js';
  if (!fs.existsSync(file)) return { missing: 'dist/api/index.js not built (library API not there yet)' };
  try {
    const mod = await import(file);
    if (typeof mod.mount !== 'function') return { missing: 'dist/api/index.js has no mount()' };
    return { mod };
  } catch (e) {
    return { missing: `dist/api/index.js fails to load: ${firstLine(e)}` };
  }
}

/** The pieces for a Volume-level mount, or { missing: reason }. */
export async function loadVolume() {
  try {
    const arena = await import(DIST + 'api/arena.js');
    const volume = await import(DIST + 'fs/volume.js');
    const open = await import(DIST + 'open/volume.js');
    return { openArena: arena.openArena, Volume: volume.Volume, openVolume: open.openVolume };
  } catch (e) {
    return { missing: `fs Volume not loadable: ${firstLine(e)}` };
  }
}

export function firstLine(e) {
  return String(e?.message ?? e).split('\n')[0];
}

/** Arena bytes to hold `dataBytes` of data plus metadata and slack (whole MiB). */
export function arenaBytesFor(dataBytes) {
  const mib = 1 << 20;
  return Math.ceil((dataBytes * 1.06 + 48 * mib) / mib) * mib;
}

/**
 * Mounts through the library API. `create` makes a new arena (replacing one
 * left over from an aborted run).
 */
export async function apiMount(api, { arena, sizeBytes, verify = 'full', extents = false }) {
  // cmdline '': this machine's /proc/cmdline has nothing for pram; reading it is not what we measure.
  const opts = { arena, verify, cmdline: '', warn: () => {} };
  if (sizeBytes) opts.create = { sizeBytes, extents };
  if (extents) opts.extents = true;
  return await api.mod.mount(opts);
}

/** Mounts the fs layer's Volume directly (synchronous calls, no api/ layer). */
export function volumeMount(v, { arena, sizeBytes, verify = 'full', extents = false }) {
  // The one path from an arena's name to a Volume (open/volume.js), as the library and pram mount take it.
  const create = sizeBytes ? { sizeBytes, overwrite: true } : undefined;
  return v.openVolume({ arena, create, verify, extents, cmdline: '', clock: () => 0n }).volume;
}

/** Creates `/name` in a Volume and returns its ino; throws on errno. */
export function volumeCreate(vol, name) {
  const a = vol.mknod(vol.rootIno, name, 0o100644, 0, 0, 0);
  if (typeof a === 'number') throw new Error(`mknod /${name}: errno ${a}`);
  return a.ino;
}

export function must(r, what) {
  if (typeof r === 'number' && r < 0) throw new Error(`${what}: errno ${r}`);
  return r;
}

/**
 * The buffer a read-all copies into, to be taken before the mount: where it
 * lies sets the copy's speed, and it must not depend on the engine. A block
 * of 128 KiB or more is a fresh mapping with malloc's 16-byte header before
 * the data (page offset 16: the kernel's copy of 4 GiB from page-aligned file
 * offsets in 1 MiB preads takes ~600 ms of CPU there on this AMD CPU, 300-400
 * at the other offsets tried, 48 among the fastest) until something frees a block
 * that large; later ones come from the heap at other offsets. A full mount
 * frees such blocks, a lazy one did not: taken after the mount, the buffer
 * made reads after a lazy mount 1.5-1.9x those after a full one on the same
 * pages. Taken first, both modes copy into the same place: 32 bytes into a
 * fresh mapping (page offset 48).
 */
export function readBuffer(bytes = 1 << 20) {
  return Buffer.allocUnsafeSlow(bytes + 4096).subarray(32, 32 + bytes);
}

/** A deterministic, non-zero fill (so no layer can shortcut zero pages). */
export function patternBuffer(bytes, seed = 1) {
  const b = Buffer.allocUnsafe(bytes);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < bytes; i += 4) {
    x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
    b.writeUInt32LE(x, i);
  }
  return b;
}

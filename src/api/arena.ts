// Opening the memory a library mount runs on: an arena file or device (created
// and formatted when asked), a new memfd (memfd:NAME), or a memfd handed over
// by Linux Live Update after a kexec (luo:NAME, src/mem/luo.ts); checking its header in order (magic,
// version, page size, page count, crc) before anything is written; and picking
// the boot command line (options, PRAM_CMDLINE, /proc/cmdline). A failure here
// touches nothing: checks only read, and the lock is dropped with the mapping.
import * as fs from 'node:fs';
import { parseBootParams, withPramPfn } from '../boot/params.js';
import { EEXIST, EINVAL } from '../format/errno.js';
import { HEADER_FLAG_EXTENTS, HEADER_MAGIC } from '../format/header.js';
import { Arena, ArenaError } from '../mem/arena.js';
import { LuoError, restoreLuoArena } from '../mem/luo.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { errnoError, type PramError } from './errors.js';

export const DEFAULT_ARENA = '/dev/shm/pram.arena';

export interface OpenedArena {
  mem: Arena;
  handoff: ArenaHeaderHandoff;
  created: boolean;
  /**
   * luo: only — finish the LUO session (the kernel lets go of the preserved
   * pages). Call once the image is loaded; until then a failed mount has not
   * consumed the handover.
   */
  finish?: () => void;
  /** luo: only — close the session unfinished (the mount failed). */
  abandon?: () => void;
}

function arenaError(e: unknown, path: string): unknown {
  if (e instanceof ArenaError || e instanceof LuoError) {
    const errnos: Record<string, number> = { EBUSY: 16, EEXIST: 17, EPERM: 1, EACCES: 13, EINVAL: 22, ENOENT: 2, ENOSPC: 28, ENODEV: 19, ENOTTY: 25, E2BIG: 7, EOPNOTSUPP: 95 };
    return errnoError(-(errnos[e.code] ?? EINVAL), 'mount', path, undefined, e.message);
  }
  return e;
}

/** Opens (or creates and formats) the arena; throws a Node-style error naming the path and cause. */
export function openArena(path: string, create?: { sizeBytes: number; pageSize?: number; extents?: boolean; overwrite?: boolean }): OpenedArena {
  try {
    if (path.startsWith('memfd:')) {
      if (!create) throw errnoError(-EINVAL, 'mount', path, undefined, 'a memfd arena is new: give create.sizeBytes');
      const mem = Arena.memfd(path.slice(6), create.sizeBytes, { pageSize: create.pageSize ?? 4096 });
      return { mem, handoff: ArenaHeaderHandoff.format(mem, create.extents ? HEADER_FLAG_EXTENTS : 0), created: true };
    }
    if (path.startsWith('luo:')) {
      if (create) throw errnoError(-EINVAL, 'mount', path, undefined, 'a luo: arena comes from the previous kernel and is never created; leave out create (--size)');
      const restored = restoreLuoArena(path.slice(4));
      try {
        return { ...attachHeader(restored.arena, path), created: false, finish: restored.finish, abandon: restored.abandon };
      } catch (e) {
        restored.abandon();
        throw e;
      }
    }
    if (create && (create.overwrite || !fs.existsSync(path))) {
      const mem = Arena.create(path, { sizeBytes: create.sizeBytes, pageSize: create.pageSize ?? 4096, overwrite: create.overwrite });
      return { mem, handoff: ArenaHeaderHandoff.format(mem, create.extents ? HEADER_FLAG_EXTENTS : 0), created: true };
    }
    return { ...attachArena(path, create?.pageSize), created: false };
  } catch (e) {
    throw arenaError(e, path);
  }
}

function attachArena(path: string, pageSize?: number): { mem: Arena; handoff: ArenaHeaderHandoff } {
  return attachHeader(Arena.open(path, { pageSize: 4096 }), path, pageSize);
}

/**
 * Checks the header of an arena that is already open (mapped with 4096-byte
 * pages) and switches to the page size it records. On failure the arena is
 * closed and the error names `path` and what is wrong.
 */
export function attachHeader(mem: Arena, path: string, pageSize?: number): { mem: Arena; handoff: ArenaHeaderHandoff } {
  try {
    // The header says its page size; map with it, then check everything in order.
    const head = mem.page(0);
    if (head.readUInt32LE(0) === HEADER_MAGIC) {
      const saved = head.readUInt32LE(8);
      if (pageSize !== undefined && saved !== pageSize) {
        throw errnoError(-EINVAL, 'mount', path, undefined, `arena page size ${saved}, expected ${pageSize}`);
      }
      if (saved !== 4096) {
        try { mem.setPageSize(saved); } catch (e) {
          throw errnoError(-EINVAL, 'mount', path, undefined, `arena page size ${saved} is not usable here: ${(e as Error).message}`);
        }
      }
    }
    const handoff = ArenaHeaderHandoff.attach(mem);
    if (!(handoff instanceof ArenaHeaderHandoff)) throw errnoError(-EINVAL, 'mount', path, undefined, handoff.message);
    return { mem, handoff };
  } catch (e) {
    mem.close();
    throw e;
  }
}

/**
 * The boot command line: options, else PRAM_CMDLINE, else /proc/cmdline. A
 * /proc/cmdline `pram=` that disagrees with the header's newest valid
 * checkpoint is stale (the arena has checkpointed since that boot): dropped,
 * with a warning naming both values.
 */
export function bootCmdline(opt: string | undefined, handoff: ArenaHeaderHandoff, pageSize: number, warn: (line: string) => void,
  readProc: () => string = () => fs.readFileSync('/proc/cmdline', 'utf8')): string {
  if (opt !== undefined) return opt;
  const env = process.env['PRAM_CMDLINE'];
  if (env !== undefined) return env;
  let proc = '';
  try { proc = readProc().trim(); } catch { return ''; }
  const pfn = parseBootParams(proc, pageSize, () => {}).pramPfn;
  const head = handoff.read()?.headPfn ?? 0;
  if (pfn !== null && pfn !== head) {
    warn(`pram: ignoring pram=0x${pfn.toString(16)} from /proc/cmdline: the arena header's newest checkpoint starts at pfn 0x${head.toString(16)} (the command line is stale)`);
    return withPramPfn(proc, null);
  }
  return proc;
}

export type { PramError };

export interface FormatOptions { sizeBytes?: number; pageSize?: number; extents?: boolean; force?: boolean }

/**
 * Writes a fresh, empty arena: a new file (or a replaced one with force), or
 * an existing block/character device such as /dev/pmem0. An existing pram
 * header is never overwritten without force.
 */
export function formatArena(path: string, opts: FormatOptions): { mem: Arena; handoff: ArenaHeaderHandoff } {
  const pageSize = opts.pageSize ?? 4096;
  const flags = opts.extents ? HEADER_FLAG_EXTENTS : 0;
  let st: fs.Stats | null = null;
  try { st = fs.statSync(path); } catch { /* absent: created below */ }
  try {
    if (st && !st.isFile()) {
      const mem = Arena.open(path, { pageSize, sizeBytes: opts.sizeBytes });
      if (mem.page(0).readUInt32LE(0) === HEADER_MAGIC && !opts.force) {
        mem.close();
        throw errnoError(-EEXIST, 'format', path, undefined, `${path} already holds a pram arena; give --force to replace it`);
      }
      return { mem, handoff: ArenaHeaderHandoff.format(mem, flags) };
    }
    if (st && !opts.force) throw errnoError(-EEXIST, 'format', path, undefined, `${path} exists; give --force to replace it`);
    if (opts.sizeBytes === undefined) throw errnoError(-EINVAL, 'format', path, undefined, 'a new arena needs a size (--size)');
    const mem = Arena.create(path, { sizeBytes: opts.sizeBytes, pageSize, overwrite: opts.force });
    return { mem, handoff: ArenaHeaderHandoff.format(mem, flags) };
  } catch (e) {
    throw arenaError(e, path);
  }
}

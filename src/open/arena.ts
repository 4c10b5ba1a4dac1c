// The arena opener: an arena's name parsed once (a path to a file or device,
// memfd:NAME for a new memfd, luo:NAME for the memfd a Linux Live Update
// session handed over after a kexec — src/mem/luo.ts), the memory mapped, the
// header checked in order (magic, version, then its page size, page count, crc)
// before anything is written. A failure touches nothing: checks only read, and
// the lock is dropped with the mapping. Every caller (the library's mount, the
// FUSE server, map, check, kexec, the benchmarks) opens arenas here.
import * as fs from 'node:fs';
import { EEXIST, EINVAL, ENOENT } from '../format/errno.js';
import { FORMAT_VERSIONS, HEADER_FLAG_EXTENTS, HEADER_MAGIC } from '../format/header.js';
import { Arena, ArenaError } from '../mem/arena.js';
import { readPage } from '../mem/physmem.js';
import { openMemfdArena } from '../mem/fdstore.js';
import { LuoError, restoreLuoArena } from '../mem/luo.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { errnoError } from './errors.js';

export const DEFAULT_ARENA = '/dev/shm/pram.arena';

/** An arena's name, parsed once. */
export type ArenaName =
  | { kind: 'memfd'; name: string; text: string }   // memfd:NAME: new, lives as long as this process
  | { kind: 'luo'; name: string; text: string }     // luo:NAME: from the previous kernel
  | { kind: 'path'; path: string; text: string };   // a file or a device (/dev/pmem0)

export function parseArenaName(text: string): ArenaName {
  const m = /^(memfd|luo):(.*)$/.exec(text);
  if (!m) return { kind: 'path', path: text, text };
  if (m[2] === '') throw errnoError(-EINVAL, 'mount', text, undefined, `${text}: give a name after ${m[1]}:`);
  return { kind: m[1] as 'memfd' | 'luo', name: m[2]!, text };
}

export interface CreateOptions { sizeBytes: number; pageSize?: number; extents?: boolean; overwrite?: boolean }

export interface OpenedArena {
  name: ArenaName;
  mem: Arena;
  handoff: ArenaHeaderHandoff;
  created: boolean;
  /**
   * Finish a luo: arena's session (the kernel lets go of the preserved pages);
   * call once the image is loaded: until then a failed mount has not consumed
   * the handover. A no-op for other arenas.
   */
  finish(): void;
  /** Close a luo: session unfinished (the mount failed); a no-op for other arenas. */
  abandon(): void;
  /** abandon() and unmap (a failed mount). */
  close(): void;
}

function arenaError(e: unknown, path: string): unknown {
  if (e instanceof ArenaError || e instanceof LuoError) {
    const errnos: Record<string, number> = { EBUSY: 16, EEXIST: 17, EPERM: 1, EACCES: 13, EINVAL: 22, ENOENT: 2, ENOSPC: 28, ENODEV: 19, ENOTTY: 25, E2BIG: 7, EOPNOTSUPP: 95 };
    return errnoError(-(errnos[e.code] ?? EINVAL), 'mount', path, undefined, e.message);
  }
  return e;
}

function opened(name: ArenaName, a: { mem: Arena; handoff: ArenaHeaderHandoff }, created: boolean,
  session?: { finish(): void; abandon(): void }): OpenedArena {
  const finish = () => session?.finish();
  const abandon = () => session?.abandon();
  return { name, ...a, created, finish, abandon, close: () => { abandon(); a.mem.close(); } };
}

/**
 * Opens (or, with `create`, creates and formats) the arena `text` names;
 * throws a Node-style error naming it and the cause. A path that does not
 * exist needs `create`; memfd: always does (under systemd a memfd kept in
 * its FD store is opened instead, and a new one is handed to it); luo: never may.
 */
export function openArena(text: string, create?: CreateOptions, note?: (line: string) => void): OpenedArena {
  const name = parseArenaName(text);
  const flags = create?.extents ? HEADER_FLAG_EXTENTS : 0;
  try {
    if (name.kind === 'memfd') {
      if (!create) throw errnoError(-EINVAL, 'mount', text, undefined, 'a memfd arena is new: give create.sizeBytes (pram: --size)');
      // Under systemd the arena may come back from its FD store (src/mem/fdstore.ts); `note` hears which.
      const { mem, fromStore } = openMemfdArena(name.name, () => Arena.memfd(name.name, create.sizeBytes, { pageSize: create.pageSize ?? 4096 }), note);
      if (fromStore) return opened(name, attachHeader(mem, text), false);
      return opened(name, { mem, handoff: ArenaHeaderHandoff.format(mem, flags) }, true);
    }
    if (name.kind === 'luo') {
      if (create) throw errnoError(-EINVAL, 'mount', text, undefined, 'a luo: arena comes from the previous kernel and is never created; leave out create (--size)');
      const restored = restoreLuoArena(name.name);
      try {
        return opened(name, attachHeader(restored.arena, text), false, restored);
      } catch (e) {
        restored.abandon();
        throw e;
      }
    }
    if (create && (create.overwrite || !fs.existsSync(name.path))) {
      const mem = Arena.create(name.path, { sizeBytes: create.sizeBytes, pageSize: create.pageSize ?? 4096, overwrite: create.overwrite });
      return opened(name, { mem, handoff: ArenaHeaderHandoff.format(mem, flags) }, true);
    }
    if (!create && !fs.existsSync(name.path)) {
      throw errnoError(-ENOENT, 'mount', text, undefined, `arena ${text} does not exist; create it with a size (pram format --size, pram mount --size, or create.sizeBytes)`);
    }
    return opened(name, attachHeader(Arena.open(name.path, { pageSize: 4096 }), text, create?.pageSize), false);
  } catch (e) {
    throw arenaError(e, text);
  }
}

/**
 * Checks the header of an arena that is already open (mapped with 4096-byte
 * pages) and switches to the page size it records. The version is checked
 * before the page size is used: a header of another format version gets a
 * version error, not a page-size one. On failure the arena is closed and the
 * error names `path` and what is wrong.
 */
export function attachHeader(mem: Arena, path: string, pageSize?: number): { mem: Arena; handoff: ArenaHeaderHandoff } {
  try {
    const head = readPage(mem, 0);   // not mapped at mount (mem/physmem.ts readPage says why)
    if (head.readUInt32LE(0) === HEADER_MAGIC && (FORMAT_VERSIONS as readonly number[]).includes(head.readUInt32LE(4))) {
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

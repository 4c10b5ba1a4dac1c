// One way from an arena's name to a mounted Volume, for every caller (the
// library's mount(), `pram mount`'s FUSE server, map, check, the benchmarks):
// the opener (arena.ts: parse the name, map, check the header), the boot
// command line (cmdline.ts), then fs/'s Volume.mount (the engine boots and
// loads). On failure everything opened is closed (a luo: session abandoned,
// not finished) and the error is Node-style, naming the arena.
import { HEADER_FLAG_EXTENTS } from '../format/header.js';
import { MountError, Volume } from '../fs/volume.js';
import { ReadOnlyVolume } from '../fs/readonly.js';
import { openArena, type CreateOptions, type OpenedArena } from './arena.js';
import { bootCmdline } from './cmdline.js';
import { errnoError } from './errors.js';

export interface OpenVolumeOptions {
  /** A path (file or device), memfd:NAME (new: give create), or luo:NAME. */
  arena: string;
  /** Create (and format) the arena when it does not exist (always for memfd:). */
  create?: Omit<CreateOptions, 'extents'>;
  /** Boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline. */
  cmdline?: string;
  verify?: 'full' | 'lazy';
  /** Save contiguous runs as extents (recorded in a created arena's header); default: what the header records. */
  extents?: boolean;
  clock?: () => bigint;
  owner?: { uid: number; gid: number };
  /** Boot and engine log lines (default: dropped). */
  log?: (line: string) => void;
  /** Warnings about the command line (default: log). */
  warn?: (line: string) => void;
  /**
   * Only read: the load changes nothing in the arena (a damaged image's free
   * pages are not zero-filled) and unmount() closes without a checkpoint.
   * For commands that draw or list (map, ls).
   */
  readOnly?: boolean;
  /**
   * Finish a luo: arena's session once loaded (default true). False leaves it
   * to the caller (opened.finish()), e.g. after serving has started.
   */
  finish?: boolean;
}

export interface OpenedVolume {
  volume: Volume;
  /** The opened arena: its memory (the memfd a LUO control socket preserves), name and session. */
  arena: OpenedArena;
}

export function openVolume(opts: OpenVolumeOptions): OpenedVolume {
  const log = opts.log ?? (() => {});
  const arena = openArena(opts.arena, opts.create ? { ...opts.create, extents: opts.extents } : undefined, opts.warn ?? log);
  const { mem, handoff, name } = arena;
  try {
    const cmdline = bootCmdline(opts.cmdline, { kind: mem.kind, path: name.text, handoff, pageSize: mem.pageSize }, opts.warn ?? log);
    const extents = opts.extents ?? (handoff.flags & HEADER_FLAG_EXTENTS) !== 0;
    const volume = (opts.readOnly ? ReadOnlyVolume : Volume).mount({
      mem, handoff, cmdline, verify: opts.verify ?? 'full', extents, clock: opts.clock, log, owner: opts.owner,
    });
    if (opts.finish ?? true) arena.finish(); // luo: everything is loaded; the kernel may let go of the preserved pages
    return { volume, arena };
  } catch (e) {
    arena.close();
    if (e instanceof MountError) throw errnoError(e.errno, 'mount', opts.arena, undefined, e.message);
    throw e;
  }
}

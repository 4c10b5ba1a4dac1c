// `import { mount } from 'pram'`: mount a pram arena and use it like
// node:fs/promises. mount() opens (or creates) the arena, boots it with fs/'s
// Volume.mount (same boot/ and pram/ code as the simulated machine) and returns
// a PramFs. unmount() checkpoints, unmaps and unlocks.
import { Volume, MountError } from '../fs/volume.js';
import { DEFAULT_ARENA, bootCmdline, openArena } from './arena.js';
import { errnoError } from './errors.js';
import { PramFs } from './pramfs.js';

export interface MountOptions {
  /**
   * Arena path (file or device), 'memfd:NAME' (new, with create.sizeBytes), or
   * 'luo:NAME' (the memfd arena NAME handed over by Linux Live Update after a
   * kexec; its session is finished once the image is loaded). Default /dev/shm/pram.arena.
   */
  arena?: string;
  /** Create (and format) the arena when it does not exist (always for memfd:). */
  create?: { sizeBytes: number; pageSize?: number; overwrite?: boolean };
  /** Boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline. */
  cmdline?: string;
  /** Check every data page at mount ('full', default) or on first read ('lazy'). */
  verify?: 'full' | 'lazy';
  /** Save contiguous runs as extents (an image the RFC's loader cannot read). */
  extents?: boolean;
  /**
   * Checkpoint this often while mounted, when something changed (default
   * CHECKPOINT_INTERVAL_MS_DEFAULT = 5000; 0: only on sync(), handle.sync() and unmount()).
   */
  checkpointIntervalMs?: number;
  /** Boot and engine log lines (default: dropped). Warnings go to console.warn unless given. */
  log?: (line: string) => void;
  warn?: (line: string) => void;
}

/**
 * The library's and `pram mount`'s default: a crash of the owner loses at most
 * about this much of what was written. An interval with no change saves nothing.
 */
export const CHECKPOINT_INTERVAL_MS_DEFAULT = 5000;

/** ns since the epoch: wall time at start plus a monotonic offset. */
function wallClock(): () => bigint {
  const base = BigInt(Date.now()) * 1_000_000n - process.hrtime.bigint();
  return () => base + process.hrtime.bigint();
}

export async function mount(opts: MountOptions = {}): Promise<PramFs> {
  const path = opts.arena ?? DEFAULT_ARENA;
  const { mem, handoff, finish, abandon } = openArena(path, opts.create ? { ...opts.create, extents: opts.extents } : undefined);
  try {
    const cmdline = bootCmdline(opts.cmdline, handoff, mem.pageSize, opts.warn ?? ((l) => console.warn(l)));
    const volume = Volume.mount({
      mem, handoff, cmdline, verify: opts.verify ?? 'full', extents: opts.extents,
      clock: wallClock(), log: opts.log,
      owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    });
    finish?.(); // luo: everything is loaded; the kernel may let go of the preserved pages
    return new PramFs(volume, path, opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS_DEFAULT);
  } catch (e) {
    abandon?.();
    mem.close();
    if (e instanceof MountError) throw errnoError(e.errno, 'mount', path, undefined, e.message);
    throw e;
  }
}

export { PramFs } from './pramfs.js';
export { FileHandle } from './handle.js';
export { Stats, BigIntStats, Dirent } from './stats.js';
export type { PramError } from './errors.js';
export type { Loss } from '../pram/image.js';
export { putTree, getTree, type CopyCount } from './copy.js';
export { formatArena, DEFAULT_ARENA } from './arena.js';

/**
 * Mount, run fn, unmount (saving unless `save: false`), also when fn throws.
 * No interval checkpoints unless asked: the unmount saves, and a one-shot job
 * (the CLI's put, rm...) would only pay for checkpoints in between.
 */
export async function withMount<T>(opts: MountOptions, fn: (pfs: PramFs) => Promise<T>, unmountOpts: { save?: boolean } = {}): Promise<T> {
  const pfs = await mount({ checkpointIntervalMs: 0, ...opts });
  try {
    return await fn(pfs);
  } finally {
    await pfs.unmount(unmountOpts);
  }
}

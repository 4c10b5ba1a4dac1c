// `import { mount } from 'pram'`: mount a pram arena and use it like
// node:fs/promises. mount() opens (or creates) the arena and boots it through
// open/'s openVolume (the one path every caller takes; same boot/ and pram/
// code as the simulated machine) and returns a PramFs. unmount() checkpoints,
// unmaps and unlocks. A memfd:/luo: arena can serve the LUO control socket
// (luoControl), so `pram kexec --luo` preserves it across a kexec.
import { openVolume } from '../open/volume.js';
import { serveLuoControl } from '../open/luo-control.js';
import { DEFAULT_ARENA } from '../open/arena.js';
import { wallClock } from '../open/clock.js';
import { PramFs } from './pramfs.js';
import { serveUnderSystemd } from './service.js';

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
   * The interval is the longest a change waits: a change set of EARLY_CHANGES
   * records or more (256: 1 MiB of 4 KiB writes) is committed at the next
   * 50 ms tick, so no checkpoint's commit is large enough to stall the loop.
   */
  checkpointIntervalMs?: number;
  /**
   * Under systemd ($NOTIFY_SOCKET set; default true): READY=1 once mounted,
   * and on SIGTERM STOPPING=1, unmount with a final checkpoint, then exit(0)
   * unless the program listens for SIGTERM itself. A memfd: arena is kept in
   * the FD store either way (see "Run pram under systemd" in the README).
   */
  systemd?: boolean;
  /** Boot and engine log lines (default: dropped). Warnings go to console.warn unless given. */
  log?: (line: string) => void;
  warn?: (line: string) => void;
  /**
   * For reading only (ls, cat, check, info): nothing is written to the arena,
   * not even at load (a damaged image's cut pages are not zero-filled), and
   * nothing is saved at sync or unmount. Every change (write, create, rename,
   * chmod, xattrs, opening for writing...) is refused with EROFS.
   */
  readOnly?: boolean;
  /**
   * memfd:NAME / luo:NAME: serve the LUO control socket (/run/pram/luo/NAME.sock,
   * PRAM_LUO_DIR) until unmount, so `pram kexec --luo` can save and preserve
   * this arena for the next kernel (where it mounts as luo:NAME).
   */
  luoControl?: boolean;
}

/**
 * The library's and `pram mount`'s default: a crash of the owner loses at most
 * about this much of what was written. An interval with no change saves nothing.
 */
export const CHECKPOINT_INTERVAL_MS_DEFAULT = 5000;

/** ns since the epoch: wall time at start plus a monotonic offset. */
export async function mount(opts: MountOptions = {}): Promise<PramFs> {
  const path = opts.arena ?? DEFAULT_ARENA;
  const { volume, arena } = openVolume({
    arena: path, create: opts.create, cmdline: opts.cmdline, verify: opts.verify, extents: opts.extents,
    clock: wallClock(), log: opts.log, warn: opts.warn ?? ((l) => console.warn(l)), readOnly: opts.readOnly,
    owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
  });
  const pfs = new PramFs(volume, path, opts.checkpointIntervalMs ?? CHECKPOINT_INTERVAL_MS_DEFAULT);
  if (opts.luoControl && arena.name.kind !== 'path') {
    try {
      const control = await serveLuoControl({ name: arena.name.name, arena: arena.mem, save: () => volume.sync(), log: opts.log });
      pfs.onUnmount = () => control.close();
    } catch (e) {
      volume.detach();
      throw e;
    }
  }
  if (opts.systemd !== false) serveUnderSystemd(pfs, opts.warn ?? ((l) => console.warn(l)));
  return pfs;
}

export { PramFs } from './pramfs.js';
export { FileHandle } from './handle.js';
export { FileView, type PageView, type ViewOptions } from './view.js';
export { Stats, BigIntStats, Dirent } from './stats.js';
export type { PramError } from './errors.js';
export type { Loss } from '../pram/image.js';
export { putTree, getTree, type CopyCount } from './copy.js';
export { formatArena, DEFAULT_ARENA } from '../open/arena.js';
export { openVolume, type OpenVolumeOptions, type OpenedVolume } from '../open/volume.js';
export { serveLuoControl, luoKexec, type LuoControlServer } from '../open/luo-control.js';

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
    await pfs.unmount(opts.readOnly ? { save: false } : unmountOpts);
  }
}

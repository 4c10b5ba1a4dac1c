// Opening the Volume a mount serves: api/'s arena opener (a path, created at
// --size when missing, memfd:NAME, luo:NAME — or an arena the caller already
// has open, such as a memfd retrieved from Linux Live Update; header checked in
// order), the boot command line (pram= from options, PRAM_CMDLINE or
// /proc/cmdline, stale values dropped), then fs/'s Volume.mount boots and loads it.
// (A sideways use of api/: api/ owns opening arenas, fuse/ and cli/ share it.)
import * as fs from 'node:fs';
import { attachHeader, bootCmdline, openArena } from '../api/arena.js';
import { Volume } from '../fs/volume.js';
import type { Arena } from '../mem/arena.js';

export interface ArenaVolumeOptions {
  /** A path, memfd:NAME (a new, empty arena that lives as long as the server), or luo:NAME; with `mem`, only its name. */
  arena: string;
  /**
   * An arena already open (e.g. restoreLuoArena()'s memfd): its header is
   * checked and attached, never formatted. On failure it is closed.
   */
  mem?: Arena;
  /** Create the arena at this size when it does not exist (bytes). */
  sizeBytes?: number;
  verify?: 'full' | 'lazy';
  /** Boot parameters; default: PRAM_CMDLINE, else /proc/cmdline. */
  cmdline?: string;
  clock: () => bigint;
  log?: (line: string) => void;
  owner?: { uid: number; gid: number };
}

export interface OpenedArenaVolume {
  volume: Volume;
  /** The arena under the volume (the memfd a LUO control socket preserves). */
  mem: Arena;
  created: boolean;
  /** luo: opened here (not via `mem`): finish the LUO session; the volume is loaded, so call it now or after serving starts. */
  finish?: () => void;
}

export function openArenaVolume(opts: ArenaVolumeOptions): OpenedArenaVolume {
  const special = opts.mem !== undefined || opts.arena.startsWith('memfd:') || opts.arena.startsWith('luo:');
  if (!opts.sizeBytes && !special && !fs.existsSync(opts.arena)) {
    throw Object.assign(new Error(`arena ${opts.arena} does not exist; give --size to create it`), { code: 'ENOENT' });
  }
  const log = opts.log ?? (() => {});
  const opened = opts.mem
    ? { ...attachHeader(opts.mem, opts.arena), created: false, finish: undefined, abandon: undefined }
    : openArena(opts.arena, opts.sizeBytes ? { sizeBytes: opts.sizeBytes } : undefined);
  const { mem, handoff, created } = opened;
  try {
    const cmdline = bootCmdline(opts.cmdline, handoff, mem.pageSize, log);
    const volume = Volume.mount({ mem, handoff, cmdline, verify: opts.verify, clock: opts.clock, log, owner: opts.owner });
    return { volume, mem, created, finish: opened.finish };
  } catch (e) {
    opened.abandon?.();
    mem.close();
    throw e;
  }
}

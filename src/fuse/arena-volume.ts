// Opening the Volume a mount serves: api/'s arena opener (a path, created at
// --size when missing, or memfd:NAME; header checked in order), the boot
// command line (pram= from options, PRAM_CMDLINE or /proc/cmdline, stale
// values dropped), then fs/'s Volume.mount boots and loads it.
// (A sideways use of api/: api/ owns opening arenas, fuse/ and cli/ share it.)
import * as fs from 'node:fs';
import { bootCmdline, openArena } from '../api/arena.js';
import { Volume } from '../fs/volume.js';

export interface ArenaVolumeOptions {
  /** A path, or memfd:NAME (a new, empty arena that lives as long as the server). */
  arena: string;
  /** Create the arena at this size when it does not exist (bytes). */
  sizeBytes?: number;
  verify?: 'full' | 'lazy';
  /** Boot parameters; default: PRAM_CMDLINE, else /proc/cmdline. */
  cmdline?: string;
  clock: () => bigint;
  log?: (line: string) => void;
  owner?: { uid: number; gid: number };
}

export function openArenaVolume(opts: ArenaVolumeOptions): { volume: Volume; created: boolean } {
  if (!opts.sizeBytes && !opts.arena.startsWith('memfd:') && !fs.existsSync(opts.arena)) {
    throw Object.assign(new Error(`arena ${opts.arena} does not exist; give --size to create it`), { code: 'ENOENT' });
  }
  const log = opts.log ?? (() => {});
  const { mem, handoff, created } = openArena(opts.arena, opts.sizeBytes ? { sizeBytes: opts.sizeBytes } : undefined);
  try {
    const cmdline = bootCmdline(opts.cmdline, handoff, mem.pageSize, log);
    const volume = Volume.mount({ mem, handoff, cmdline, verify: opts.verify, clock: opts.clock, log, owner: opts.owner });
    return { volume, created };
  } catch (e) {
    mem.close();
    throw e;
  }
}

// Opening the Volume a mount serves: an arena file (created at --size when it
// does not exist yet) or a fresh memfd, its header attached (or formatted when
// new), then fs/'s Volume.mount boots and loads it. api/ will offer the same
// for library users; this keeps the server independent of api/'s shape.
import * as fs from 'node:fs';
import { Arena } from '../mem/arena.js';
import { ArenaHeaderHandoff } from '../pram/handoff.js';
import { Volume } from '../fs/volume.js';

export interface ArenaVolumeOptions {
  /** A path, or memfd:NAME (a new, empty arena that lives as long as the server). */
  arena: string;
  /** Create the arena at this size when it does not exist (bytes). */
  sizeBytes?: number;
  verify?: 'full' | 'lazy';
  clock: () => bigint;
  log?: (line: string) => void;
  owner?: { uid: number; gid: number };
}

export const PAGE_BYTES = 4096;

export function openArenaVolume(opts: ArenaVolumeOptions): { volume: Volume; created: boolean } {
  let mem: Arena;
  let created = false;
  if (opts.arena.startsWith('memfd:')) {
    if (!opts.sizeBytes) throw new Error(`arena ${opts.arena}: a new memfd needs --size`);
    mem = Arena.memfd(opts.arena.slice('memfd:'.length), opts.sizeBytes, { pageSize: PAGE_BYTES });
    created = true;
  } else if (!fs.existsSync(opts.arena)) {
    if (!opts.sizeBytes) throw Object.assign(new Error(`arena ${opts.arena} does not exist; give --size to create it`), { code: 'ENOENT' });
    mem = Arena.create(opts.arena, { sizeBytes: opts.sizeBytes, pageSize: PAGE_BYTES });
    created = true;
  } else {
    mem = Arena.open(opts.arena, { pageSize: PAGE_BYTES });
  }
  try {
    let handoff: ArenaHeaderHandoff;
    if (created) handoff = ArenaHeaderHandoff.format(mem);
    else {
      const h = ArenaHeaderHandoff.attach(mem);
      if (!(h instanceof ArenaHeaderHandoff)) throw Object.assign(new Error(`arena ${opts.arena}: ${h.message}`), { code: 'EINVAL' });
      handoff = h;
    }
    const volume = Volume.mount({ mem, handoff, verify: opts.verify, clock: opts.clock, log: opts.log, owner: opts.owner });
    return { volume, created };
  } catch (e) {
    mem.close();
    throw e;
  }
}

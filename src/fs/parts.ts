// What a new Volume is built from: the memory, the engine, the loaded nodes.
// mount.ts makes them from a boot and a load; tests and the simulated machine
// may build them by hand.
import type { BannedRegions } from '../boot/banned.js';
import type { PhysMem } from '../mem/physmem.js';
import type { ChangeSet, Loss, NodeImage } from '../pram/image.js';
import type { Pram } from '../pram/pram.js';
import type { PageEngine } from './file.js';

/** The engine as the volume uses it (pram/'s Pram satisfies this). */
export interface VolumeEngine extends PageEngine {
  checkpoint(nodes: Iterable<NodeImage>): number;
  /** A v3 engine: log what changed (null: write `all()` whole); absent, every durable step is a checkpoint. */
  commit?(changes: ChangeSet | null, all: () => Iterable<NodeImage>): number;
  /** True when the engine keeps a v3 log (commit() then logs only what changed). */
  readonly logs?: boolean;
}

/** What mount.ts (or a test, or the simulated machine) hands a new volume. */
export interface VolumeParts {
  mem: PhysMem;
  engine: VolumeEngine;
  images: readonly NodeImage[];
  losses: readonly Loss[];
  clock: () => bigint;
  owner: { uid: number; gid: number };
  /** Free and total data pages, for statfs. */
  space: () => { total: number; free: number };
  /** Called by unmount after the final checkpoint (unlock, close the memory). */
  close: () => void;
  /** The engine and boot state, for info and check (absent in unit tests that build parts by hand). */
  pram?: Pram;
  banned?: BannedRegions;
}

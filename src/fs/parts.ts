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
  /**
   * A v3 engine: log what changed (null: write `all()` whole); absent, every durable step is a checkpoint.
   * `closing`: the unmount's commit (a due compaction is written then, whole).
   */
  commit?(changes: ChangeSet | null, all: () => Iterable<NodeImage>, opts?: { closing?: boolean }): number;
  /** The next commit of this many changed inodes and names would write `all()` whole (no change set needed). */
  compactsWhole?(changed: { nodes: number; names: number }, opts?: { closing?: boolean }): boolean;
  /** True when the engine keeps a v3 log (commit() then logs only what changed). */
  readonly logs?: boolean;
}

/**
 * A lazily mounted image (pram/lazy.ts through the engine): directories are loaded a
 * group at a time when first needed (snapshot.ts LazyTree decides when).
 */
export interface LazySource {
  /** The directory whose group holds `ino` (a directory's own, a linked node's home), 0: none. */
  groupOf(ino: number): number;
  /** The other directories naming linked node `ino`. */
  namedIn(ino: number): readonly number[];
  isDir(ino: number): boolean;
  isLoaded(dir: number): boolean;
  /** The directory naming directory `dir` (0: unknown, a log of before HOMES): its group loads first. */
  parentOf?(dir: number): number;
  /** Every directory's group is loaded (absent: LazyTree asks each directory). */
  allLoaded?(): boolean;
  /** Directories in group order (a parent before its children). */
  dirs(): Iterable<number>;
  /** The group of `dir`, adopted (null: loaded before; a string: why it cannot be read). */
  load(dir: number, pathOf: (ino: number) => string): { nodes: NodeImage[]; names: { name: string; ino: number }[]; damaged: boolean } | string | null;
  /** Nodes not loaded yet; every inode number the image uses is at most maxIno. */
  readonly unloaded: number;
  readonly maxIno: number;
  /** What the space model counts now of record bytes and inline nodes (a group's load is measured by it). */
  charged(): { bytes: number; inline: number };
  /** Give back to the space model what was charged for the image as a whole, now charged per node (a group loaded). */
  release(shape: { bytes: number; inline: number }): void;
  /** A loss found while loading (a damaged group). */
  lose(l: Loss): void;
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
  /** The image is loaded lazily (images then holds nothing): see LazySource. */
  lazy?: LazySource;
}

// A FUSE server for one volume on one directory: open /dev/fuse, mount it with
// util-linux, run the loop, and tell the caller when the mount answers and when
// it is gone. Saving the volume when the mount ends is the caller's (cli/), so
// the same server also serves test doubles.
import * as fs from 'node:fs';
import { FuseSession } from './session.js';
import { DevFuseLoop, type LoopEnd } from './loop.js';
import { kernelMount, kernelUnmount, openDevFuse, type KernelMounted } from './kmount.js';
import { startCheckpoints } from './interval.js';
import type { ServedVolume } from './served.js';
import { armWriteback, WritebackPolicy, type WritebackMode } from './writeback.js';
import type { Validity } from './wire.js';

export interface ServeOptions {
  dir: string;
  volume: ServedVolume;
  clock: () => bigint;
  allowOther?: boolean;
  /** The source /proc/mounts shows for a fuse mount (the arena). */
  fsname?: string;
  /** Kernel mount flags (kmount.ts KERNEL_FLAGS): ro, nosuid, nodev, noexec, noatime... */
  flags?: readonly string[];
  trace?: (line: string) => void;
  log?: (line: string) => void;
  validity?: Validity;
  readsInFlight?: number;
  /** Mount as fuseblk when possible (so sync(2)/syncfs(2) reach the volume); default true. */
  block?: boolean;
  /** Checkpoint every this many ms while mounted, between requests, when something changed; 0/undefined: never. */
  checkpointIntervalMs?: number;
  /** When the kernel may cache writes (writeback.ts); default headroom. */
  writeback?: WritebackMode;
}

export interface FuseServer {
  readonly session: FuseSession;
  /** Resolves when the kernel has let go of the mount (unmounted or aborted). */
  readonly ended: Promise<LoopEnd>;
  /** fuseblk: the kernel forwards sync(2)/syncfs(2) as FUSE_SYNCFS; fuse: it does not (see `fallback`). */
  readonly mounted: KernelMounted;
  /** Ask the kernel to unmount (the kernel flushes cached writes to us first). */
  unmount(opts?: { lazy?: boolean }): Promise<{ ok: boolean; message: string }>;
}

/** Mount and serve; resolves once a stat of the mount root has been answered by this server. */
export async function serve(opts: ServeOptions): Promise<FuseServer> {
  const fd = openDevFuse();
  const writeback = new WritebackPolicy(opts.writeback ?? 'headroom');
  const session = new FuseSession({ volume: opts.volume, clock: opts.clock, trace: opts.trace, log: opts.log, validity: opts.validity, writeback });
  const loop = new DevFuseLoop(fd, session, { readsInFlight: opts.readsInFlight, log: opts.log });
  let mounted: KernelMounted;
  try {
    mounted = await kernelMount(fd, opts.dir, { allowOther: opts.allowOther, block: opts.block, fsname: opts.fsname, flags: opts.flags });
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  // Before the first access (INIT): the policy decides whether INIT offers the writeback cache.
  armWriteback(writeback, opts.volume, opts.dir, opts.log ?? ((line) => process.stderr.write(line + '\n')));
  loop.start();
  let stopCheckpoints = () => {};
  const ended = loop.ended.finally(() => { stopCheckpoints(); fs.closeSync(fd); });
  // The first access sends INIT then GETATTR of the root: proof that the mount answers.
  const st = await Promise.race([fs.promises.stat(opts.dir), ended.then(() => null)]);
  if (!st || st.ino !== opts.volume.rootIno) {
    throw new Error(`mount ${opts.dir}: the mounted root does not answer as this server's volume`);
  }
  stopCheckpoints = startCheckpoints(session, opts.checkpointIntervalMs ?? 0);
  return {
    session,
    ended,
    mounted,
    unmount: (u = {}) => kernelUnmount(opts.dir, u),
  };
}

// A FUSE server for one volume on one directory: open /dev/fuse, mount it with
// util-linux, run the loop, and tell the caller when the mount answers and when
// it is gone. Saving the volume when the mount ends is the caller's (cli/), so
// the same server also serves test doubles.
import * as fs from 'node:fs';
import { FuseSession } from './session.js';
import { DevFuseLoop, defaultReader, type LoopEnd, type ReaderKind } from './loop.js';
import { kernelMount, kernelUnmount, openDevFuse, type KernelMounted } from './kmount.js';
import { startCheckpoints } from './interval.js';
import { startBackground, type Driven } from '../fs/driver.js';
import type { ServedVolume } from './served.js';
import { armWriteback, setReadahead, WritebackPolicy, type WritebackMode } from './writeback.js';
import type { Validity } from './wire.js';
import { UringTransport, kernelUring, type UringMode } from './uring.js';

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
  /** How /dev/fuse is read (loop.ts): on the main thread by uv_poll (default, or PRAM_FUSE_READER), or blocking reads in the pool. */
  reader?: ReaderKind;
  readsInFlight?: number;
  /** Mount as fuseblk when possible (so sync(2)/syncfs(2) reach the volume); default true. */
  block?: boolean;
  /** Checkpoint every this many ms while mounted, between requests, when something changed; 0/undefined: never. */
  checkpointIntervalMs?: number;
  /** When the kernel may cache writes (writeback.ts); default headroom. */
  writeback?: WritebackMode;
  /** FUSE over io_uring: when the kernel offers it (auto, the default), required (on), never (off). */
  ioUring?: UringMode;
}

export interface FuseServer {
  readonly session: FuseSession;
  /** Resolves when the kernel has let go of the mount (unmounted or aborted). */
  readonly ended: Promise<LoopEnd>;
  /** fuseblk: the kernel forwards sync(2)/syncfs(2) as FUSE_SYNCFS; fuse: it does not (see `fallback`). */
  readonly mounted: KernelMounted;
  /** How requests reach the server: 'io_uring (...)' or '/dev/fuse'. */
  readonly transport: string;
  /** Requests served so far by each transport. */
  served(): { uring: number; dev: number };
  /** Ask the kernel to unmount (the kernel flushes cached writes to us first). */
  unmount(opts?: { lazy?: boolean }): Promise<{ ok: boolean; message: string }>;
}

/** Mount and serve; resolves once a stat of the mount root has been answered by this server. */
export async function serve(opts: ServeOptions): Promise<FuseServer> {
  const reader = opts.reader ?? defaultReader();   // a bad PRAM_FUSE_READER stops here, before the mount
  const fd = openDevFuse();
  const writeback = new WritebackPolicy(opts.writeback ?? 'headroom');
  const session = new FuseSession({ volume: opts.volume, clock: opts.clock, trace: opts.trace, log: opts.log, validity: opts.validity, writeback });
  const loop = new DevFuseLoop(fd, session, { reader, readsInFlight: opts.readsInFlight, log: opts.log });
  let mounted: KernelMounted;
  let uring: UringTransport | null = null;
  try {
    uring = openUring(session, fd, opts.ioUring ?? 'auto', opts.log);
    mounted = await kernelMount(fd, opts.dir, { allowOther: opts.allowOther, block: opts.block, fsname: opts.fsname, flags: opts.flags });
  } catch (e) {
    uring?.stop();
    fs.closeSync(fd);
    throw e;
  }
  // Before the first access (INIT): the policy decides whether INIT offers the writeback cache.
  armWriteback(writeback, opts.volume, opts.dir, opts.log ?? ((line) => process.stderr.write(line + '\n')));
  loop.start();
  let stopCheckpoints = () => {};
  const stopBackground = driveVolume(opts.volume);
  const ended = loop.ended.finally(() => { stopBackground(); stopCheckpoints(); uring?.stop(); fs.closeSync(fd); });
  // The first access sends INIT then GETATTR of the root: proof that the mount answers.
  const st = await Promise.race([fs.promises.stat(opts.dir), ended.then(() => null)]);
  if (!st || st.ino !== opts.volume.rootIno) {
    throw new Error(`mount ${opts.dir}: the mounted root does not answer as this server's volume`);
  }
  // After INIT, whose reply can only lower the window. Best effort: without it reads come in 128 KiB requests.
  setReadahead(opts.dir);
  let inUse = uring;
  if (uring && !(session.uring.granted && uring.counts.failures === 0)) {
    const why = !session.uring.offered ? 'the kernel did not offer it in FUSE_INIT' : 'the kernel refused the ring entries (see the log)';
    if (opts.ioUring === 'on') {
      await kernelUnmount(opts.dir, { lazy: true });
      throw new Error(`--io-uring on: FUSE over io_uring is not in use: ${why}`);
    }
    opts.log?.(`fuse: io_uring not used (${why}); serving through /dev/fuse`);
    if (!session.uring.granted) uring.stop();   // else its threads end with the mount (ended, above)
    inUse = null;
  }
  stopCheckpoints = startCheckpoints(session, opts.checkpointIntervalMs ?? 0);
  return {
    session,
    ended,
    mounted,
    transport: inUse ? inUse.describe() : '/dev/fuse',
    served: () => ({ uring: uring?.counts.served ?? 0, dev: loop.served }),
    unmount: (u = {}) => kernelUnmount(opts.dir, u),
  };
}

/** Compaction in slices and page checksums between requests, as the library has them (fs/driver.ts). */
function driveVolume(v: ServedVolume): () => void {
  const d = v as Partial<Driven>;
  return d.background && d.driveBackground && d.isMounted !== undefined ? startBackground(d as Driven) : () => {};
}

/** The io_uring transport as `mode` asks, or null for the /dev/fuse loop alone; `on` fails with one clear line. */
function openUring(session: FuseSession, fd: number, mode: UringMode, log?: (line: string) => void): UringTransport | null {
  if (mode === 'off') return null;
  const kernel = kernelUring();
  if (!kernel.enabled) {
    if (mode === 'on') throw new Error(`--io-uring on: ${kernel.why}`);
    return null;
  }
  try {
    return new UringTransport(session, fd, { log });
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = `cannot set up io_uring: ${err.message}${err.code === 'EPERM' ? ' (kernel.io_uring_disabled?)' : ''}`;
    if (mode === 'on') throw new Error(`--io-uring on: ${why}`);
    log?.(`fuse: ${why}; serving through /dev/fuse`);
    return null;
  }
}

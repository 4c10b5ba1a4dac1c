// A FUSE server for one volume on one directory: open /dev/fuse, mount it with
// util-linux, run the loop, and tell the caller when the mount answers and when
// it is gone. Saving the volume when the mount ends is the caller's (cli/), so
// the same server also serves test doubles.
import * as fs from 'node:fs';
import { FuseSession } from './session.js';
import { DevFuseLoop, type LoopEnd } from './loop.js';
import { kernelMount, kernelUnmount, openDevFuse } from './kmount.js';
import type { ServedVolume } from './served.js';
import type { Validity } from './wire.js';

export interface ServeOptions {
  dir: string;
  volume: ServedVolume;
  clock: () => bigint;
  allowOther?: boolean;
  trace?: (line: string) => void;
  log?: (line: string) => void;
  validity?: Validity;
  readsInFlight?: number;
}

export interface FuseServer {
  readonly session: FuseSession;
  /** Resolves when the kernel has let go of the mount (unmounted or aborted). */
  readonly ended: Promise<LoopEnd>;
  /** Ask the kernel to unmount (the kernel flushes cached writes to us first). */
  unmount(opts?: { lazy?: boolean }): Promise<{ ok: boolean; message: string }>;
}

/** Mount and serve; resolves once a stat of the mount root has been answered by this server. */
export async function serve(opts: ServeOptions): Promise<FuseServer> {
  const fd = openDevFuse();
  const session = new FuseSession({ volume: opts.volume, clock: opts.clock, trace: opts.trace, log: opts.log, validity: opts.validity });
  const loop = new DevFuseLoop(fd, session, { readsInFlight: opts.readsInFlight, log: opts.log });
  try {
    await kernelMount(fd, opts.dir, { allowOther: opts.allowOther });
  } catch (e) {
    fs.closeSync(fd);
    throw e;
  }
  loop.start();
  const ended = loop.ended.finally(() => fs.closeSync(fd));
  // The first access sends INIT then GETATTR of the root: proof that the mount answers.
  const st = await Promise.race([fs.promises.stat(opts.dir), ended.then(() => null)]);
  if (!st || st.ino !== opts.volume.rootIno) {
    throw new Error(`mount ${opts.dir}: the mounted root does not answer as this server's volume`);
  }
  return {
    session,
    ended,
    unmount: (u = {}) => kernelUnmount(opts.dir, u),
  };
}

// The /dev/fuse loop: it only moves buffers. A bounded number of reads wait in
// libuv's thread pool (each blocks one pool thread inside read(2)); when one
// returns, the request is handled synchronously by the protocol core on the
// main thread and the reply is written with one write(2)/writev(2). Keeping a
// second read in flight lets the kernel hand over the next request while the
// previous one is being served. A reply whose memory the session holds until
// sent (a large READ: pinned views of the arena) is written by a pool thread
// instead, so the kernel's copy of it runs beside the main thread, which
// serves the next requests meanwhile; its hold is released once written.
// Replies may reach the kernel in any order (each names its request).
// ENODEV on read means the mount is gone: the loop ends once every
// outstanding read and write has returned.
import * as fs from 'node:fs';
import type { FuseSession } from './session.js';
import { REQUEST_BYTES_MAX } from './limits.js';

/** Reads kept waiting on /dev/fuse; each holds a REQUEST_BYTES_MAX buffer and a pool thread. */
export const READS_IN_FLIGHT_MAX = 2;
/** libuv's pool (UV_THREADPOOL_SIZE, default 4): replies go to it only while a thread is left beside the blocked reads. */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;

export type LoopEnd = 'unmounted' | 'destroyed';

export interface LoopOptions {
  readsInFlight?: number;
  /** Write held replies from the pool (default: when a pool thread is left beside the reads). */
  poolReplies?: boolean;
  log?: (line: string) => void;
}

export class DevFuseLoop {
  /** Reads and pool-written replies not yet returned. */
  private outstanding = 0;
  private poolReplies = false;
  /** Requests read from /dev/fuse (with io_uring: INIT, FORGET, INTERRUPT and what came before the rings). */
  served = 0;
  private stopping: LoopEnd | null = null;
  private failure: Error | null = null;
  private resolveEnd!: (end: LoopEnd) => void;
  private rejectEnd!: (err: Error) => void;
  readonly ended: Promise<LoopEnd>;
  private readonly log: (line: string) => void;

  constructor(private readonly fd: number, private readonly session: FuseSession, private readonly opts: LoopOptions = {}) {
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.ended = new Promise((resolve, reject) => { this.resolveEnd = resolve; this.rejectEnd = reject; });
  }

  start(): void {
    const n = Math.max(1, Math.min(this.opts.readsInFlight ?? READS_IN_FLIGHT_MAX, READS_IN_FLIGHT_MAX * 4));
    // With every pool thread blocked in a read, a reply queued behind them would wait for ever.
    this.poolReplies = (this.opts.poolReplies ?? true) && POOL_THREADS > n;
    for (let i = 0; i < n; i++) this.post(Buffer.allocUnsafe(REQUEST_BYTES_MAX));
  }

  private post(buf: Buffer): void {
    if (this.stopping) return this.settle();
    this.outstanding++;
    fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
      this.outstanding--;
      if (err) return this.readFailed(err as NodeJS.ErrnoException, buf);
      this.serve(buf.subarray(0, n));
      this.post(buf);
    });
  }

  private readFailed(err: NodeJS.ErrnoException, buf: Buffer): void {
    switch (err.code) {
      case 'ENODEV':   // unmounted, or the connection was aborted (after DESTROY, when it came by io_uring)
        this.stopping ??= this.session.destroyed ? 'destroyed' : 'unmounted';
        return this.settle();
      case 'EINTR': case 'EAGAIN': case 'ENOENT':   // a request vanished while being read: read again
        return this.post(buf);
      default:
        this.failure ??= err;
        this.stopping ??= 'unmounted';
        return this.settle();
    }
  }

  private serve(msg: Buffer): void {
    const reply = this.session.handle(msg);
    this.served++;
    if (reply && this.session.replyHeld && this.poolReplies) this.sendFromPool(reply, this.session.takeSent());
    else {
      if (reply) this.send(reply);
      this.session.replySent();
    }
    if (this.session.destroyed) this.stopping ??= 'destroyed';
  }

  private send(chunks: Buffer[]): void {
    try {
      if (chunks.length === 1) fs.writeSync(this.fd, chunks[0]!);
      else fs.writevSync(this.fd, chunks);
    } catch (e) {
      this.sendFailed(e as NodeJS.ErrnoException);
    }
  }

  /** writev(2) on a pool thread; `sent` (the hold's release) runs once the kernel has copied the reply. */
  private sendFromPool(chunks: Buffer[], sent: (() => void)[]): void {
    this.outstanding++;
    fs.writev(this.fd, chunks, (err) => {
      this.outstanding--;
      for (const fn of sent) fn();
      if (err) this.sendFailed(err);
      this.settle();
    });
  }

  private sendFailed(err: NodeJS.ErrnoException): void {
    if (err.code === 'ENOENT') return;   // the request was interrupted and is gone: fine
    if (err.code === 'ENODEV') { this.stopping ??= 'unmounted'; return; }
    this.log(`fuse: writing a reply failed: ${err.message}`);
  }

  private settle(): void {
    if (this.outstanding > 0 || !this.stopping) return;
    if (this.failure) this.rejectEnd(this.failure);
    else this.resolveEnd(this.stopping);
  }
}

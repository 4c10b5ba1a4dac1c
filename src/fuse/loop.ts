// The /dev/fuse loop: it only moves buffers. Two readers, chosen at start:
// - poll (the default): the fd is non-blocking and a uv_poll watcher on it
//   (native/fuse_poll.c) wakes the main thread's event loop when requests
//   wait; they are read and served one after another until read(2) says
//   EAGAIN (at most BATCH_MAX per wake-up, so timers and I/O still run). No
//   pool thread and no thread hand-over per request: the kernel wakes the
//   event loop itself.
// - pool (the classic loop, PRAM_FUSE_READER=pool): a bounded number of
//   blocking reads wait in libuv's thread pool; when one returns, its request
//   is served on the main thread and the read is posted again. Keeping a second
//   read in flight lets the kernel hand over the next request meanwhile.
// Either way a request is handled synchronously by the protocol core and its
// reply written with one write(2)/writev(2). A reply whose memory the session
// holds until sent (a large READ: pinned views of the arena) is written by a
// pool thread instead, so the kernel's copy of it runs beside the main thread,
// which serves the next requests meanwhile; its hold is released once written.
// A reply the session defers (a large WRITE whose pages pool threads fill:
// FuseSession.deferReply) is written when it comes (sendLater); its request's
// buffer holds the data until then, so the next read goes into a spare one.
// Replies may reach the kernel in any order (each names its request).
// ENODEV on read means the mount is gone: the loop ends once every
// outstanding read and write has returned.
import * as fs from 'node:fs';
import type { FuseSession } from './session.js';
import { REQUEST_BYTES_MAX } from './limits.js';
import { pollReadable, readOrErrno, writevOrErrno } from '../mem/native.js';
import { EAGAIN, errnoName } from '../format/errno.js';

/** Reads kept waiting on /dev/fuse; each holds a REQUEST_BYTES_MAX buffer and a pool thread. */
export const READS_IN_FLIGHT_MAX = 2;
/** libuv's pool (UV_THREADPOOL_SIZE, default 4): replies go to it only while a thread is left beside the blocked reads. */
const POOL_THREADS = Number(process.env.UV_THREADPOOL_SIZE) || 4;

/** Requests whose reply comes later (deferReply) at once at most: each keeps its 1 MiB request buffer. */
const KEPT_MAX = 16;

/** Requests served per wake-up of the poll reader before the event loop runs its timers and I/O (the fd stays readable: the next turn goes on). */
export const BATCH_MAX = 64;

export type LoopEnd = 'unmounted' | 'destroyed';

/** How requests are read: on the main thread woken by uv_poll, or by blocking reads in libuv's pool (the classic loop). */
export type ReaderKind = 'poll' | 'pool';
export const READER_KINDS: readonly ReaderKind[] = ['poll', 'pool'];

/** PRAM_FUSE_READER (poll or pool; unset: poll), for comparison and as a fallback; another value is an error naming it. */
export function defaultReader(env: NodeJS.ProcessEnv = process.env): ReaderKind {
  const v = env.PRAM_FUSE_READER;
  if (v === undefined || v === '') return 'poll';
  if (!READER_KINDS.includes(v as ReaderKind)) throw new Error(`PRAM_FUSE_READER: '${v}' is not a reader (${READER_KINDS.join(', ')})`);
  return v as ReaderKind;
}

export interface LoopOptions {
  /** Default: defaultReader(). */
  reader?: ReaderKind;
  /** Pool reader: reads kept waiting in the pool. */
  readsInFlight?: number;
  /** Write held replies from the pool (default: when a pool thread is left beside the reads). */
  poolReplies?: boolean;
  log?: (line: string) => void;
}

export class DevFuseLoop {
  /** Reads, the poll watcher and pool-written replies not yet returned. */
  private outstanding = 0;
  private poller: { stop(): void } | null = null;
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
    if ((this.opts.reader ?? defaultReader()) === 'poll') return this.startPoll();
    const n = Math.max(1, Math.min(this.opts.readsInFlight ?? READS_IN_FLIGHT_MAX, READS_IN_FLIGHT_MAX * 4));
    // With every pool thread blocked in a read, a reply queued behind them would wait for ever.
    this.poolReplies = (this.opts.poolReplies ?? true) && POOL_THREADS > n;
    // Deferred replies wait for pool work (a staged write's pwrites): only with a thread free beside the reads.
    this.session.sendLater = POOL_THREADS > n ? this.later : null;
    for (let i = 0; i < n; i++) this.post(Buffer.allocUnsafe(REQUEST_BYTES_MAX));
  }

  private readonly later = (unique: bigint, chunks: Buffer[]): void => this.sendLater(unique, chunks);
  /** Request buffers whose reply comes later (by unique), and spare ones to read into meanwhile. */
  private readonly kept = new Map<bigint, Buffer>();
  private readonly spare: Buffer[] = [];

  /** A deferred reply (FuseSession.deferReply): written at once, then its request's buffer is free again. */
  private sendLater(unique: bigint, chunks: Buffer[]): void {
    this.send(chunks);
    const buf = this.kept.get(unique);
    if (buf) { this.kept.delete(unique); this.spare.push(buf); this.outstanding--; }
    if (this.kept.size < KEPT_MAX && !this.stopping) this.session.sendLater ??= this.later;
    this.settle();
  }

  private post(buf: Buffer): void {
    if (this.stopping) return this.settle();
    this.outstanding++;
    fs.read(this.fd, buf, 0, buf.length, null, (err, n) => {
      this.outstanding--;
      if (err) return this.readEnds((err as NodeJS.ErrnoException).code ?? '', () => err) ? this.settle() : this.post(buf);
      this.serve(buf.subarray(0, n));
      // A deferred reply's handler still reads this buffer (a staged write's data): read the next request into another.
      this.post(this.session.replyLater ? this.keep(buf) : buf);
    });
  }

  private startPoll(): void {
    this.poolReplies = this.opts.poolReplies ?? true;   // no pool thread waits in a read
    this.session.sendLater = this.later;
    this.pollBuf = Buffer.allocUnsafe(REQUEST_BYTES_MAX);
    this.outstanding++;   // the watcher, until stopPoll()
    this.poller = pollReadable(this.fd, (status) => this.drain(status));
  }

  /** The poll reader's buffer (another once a deferred reply keeps this one). */
  private pollBuf: Buffer = Buffer.alloc(0);

  /**
   * The buffer `buf` was read into holds a request whose reply comes later:
   * keep it; returns the buffer to read into next. Past KEPT_MAX kept, the
   * session answers at once until one is back (a request buffer is 1 MiB, and
   * fresh memory costs a fault per page).
   */
  private keep(buf: Buffer): Buffer {
    this.kept.set(buf.readBigUInt64LE(8), buf);
    this.outstanding++;
    if (this.kept.size >= KEPT_MAX) this.session.sendLater = null;
    return this.spare.pop() ?? Buffer.allocUnsafe(REQUEST_BYTES_MAX);
  }

  /** Read and serve until the fd is empty (EAGAIN) or BATCH_MAX requests were served; a later wake-up goes on. */
  private drain(status: number): void {
    for (let i = 0; i < BATCH_MAX && !this.stopping; i++) {
      const buf = this.pollBuf;
      const n = readOrErrno(this.fd, buf);
      if (n >= 0) {
        this.serve(buf.subarray(0, n));
        if (this.session.replyLater) this.pollBuf = this.keep(buf);
      } else if (n === -EAGAIN) {
        // After a poll error the watcher is stopped: with nothing to read there is no way on.
        if (status < 0) this.readEnds('EPOLL', () => new Error(`poll of /dev/fuse failed (libuv status ${status})`));
        break;
      } else if (this.readEnds(errnoName(n), () => Object.assign(new Error(`read /dev/fuse: ${errnoName(n)}`), { code: errnoName(n), errno: n, syscall: 'read' }))) break;
    }
    if (this.stopping) this.stopPoll();
  }

  private stopPoll(): void {
    if (!this.poller) return;
    this.poller.stop();
    this.poller = null;
    this.outstanding--;
    this.settle();
  }

  /** Whether a failed read ends the loop (ENODEV: unmounted or aborted; anything unexpected: a failure) or is read again. */
  private readEnds(code: string, err: () => Error): boolean {
    switch (code) {
      case 'ENODEV':   // unmounted, or the connection was aborted (after DESTROY, when it came by io_uring)
        this.stopping ??= this.session.destroyed ? 'destroyed' : 'unmounted';
        return true;
      case 'EINTR': case 'EAGAIN': case 'ENOENT':   // a request vanished while being read: read again
        return false;
      default:
        this.failure ??= err();
        this.stopping ??= 'unmounted';
        return true;
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

  /** One writev(2) through the addon: no exception object for the expected ENOENT (an interrupted request). */
  private send(chunks: Buffer[]): void {
    const n = writevOrErrno(this.fd, chunks);
    if (n < 0) this.sendFailed(Object.assign(new Error(`write /dev/fuse: ${errnoName(n)}`), { code: errnoName(n), errno: n, syscall: 'writev' }));
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

// FUSE over io_uring: the second transport beside the /dev/fuse loop (loop.ts).
// It only moves buffers, like the loop: each request that lands in a ring entry
// is rebuilt as the classic message and handed to the same protocol core
// (session.ts), and the reply is written back into the entry and sent with
// COMMIT_AND_FETCH. The rings and their threads are native (native/fuse_uring.c).
//
// Order (fs/fuse/dev_uring.c): the rings are opened before the mount, so that
// INIT asks for io_uring only when registering can follow; INIT is answered on
// /dev/fuse; once that reply reached the kernel, every entry is registered.
// The kernel holds requests back until each queue (one per possible CPU) has an
// entry, then routes each request to the queue of the CPU that made it. FORGET
// and INTERRUPT keep coming through /dev/fuse, so the loop runs throughout. If
// registering fails, the kernel drops io_uring for the connection and the loop
// carries everything: the fallback needs nothing from us.
import * as fs from 'node:fs';
import { fuseUring, type UringRings } from '../mem/native.js';
import type { FuseSession } from './session.js';
import { WRITE_BYTES_MAX } from './limits.js';
import { EIO } from '../format/errno.js';
import { Size, outHeader } from './wire.js';
import { assert } from '../format/assert.js';

export type UringMode = 'auto' | 'on' | 'off';
export const URING_MODES: readonly UringMode[] = ['auto', 'on', 'off'];

/** Ring entries per queue: requests a queue can hold at once (each entry holds a max_write payload). */
export const URING_ENTRIES_PER_QUEUE = 4;
/** Above this many queues (possible CPUs), each gets one entry: memory stays bounded. */
const URING_ENTRIES_TOTAL_MAX = 64;
/** struct fuse_uring_req_header (linux/fuse.h 7.42): in_out[128], op_in[128], fuse_uring_ent_in_out. */
export const UringHeader = { inOut: 0, opIn: 128, opInBytes: 128, commitId: 264, payloadSz: 272, bytes: 288 } as const;
const ENOTCONN = 107, ECANCELED = 125;

export const ENABLE_URING_PARAM = '/sys/module/fuse/parameters/enable_uring';

/** Whether the running kernel lets FUSE servers use io_uring: the module parameter's value, or why not. */
export function kernelUring(param = ENABLE_URING_PARAM): { enabled: boolean; why: string } {
  let value: string;
  try {
    value = fs.readFileSync(param, 'utf8').trim();
  } catch {
    return { enabled: false, why: `this kernel has no FUSE over io_uring (${param} is missing: needs Linux 6.14+ with CONFIG_FUSE_IO_URING)` };
  }
  if (value === 'Y' || value === '1') return { enabled: true, why: `${param} is ${value}` };
  return { enabled: false, why: `FUSE over io_uring is off in this kernel (${param} is ${value}; echo Y > ${param}, or boot with fuse.enable_uring=1)` };
}

/** Possible CPUs (the kernel makes one queue per possible CPU and needs each registered). */
export function possibleCpus(file = '/sys/devices/system/cpu/possible'): number {
  let n = 0;
  for (const range of fs.readFileSync(file, 'utf8').trim().split(',')) {
    const [a, b] = range.split('-').map(Number);
    n += (b ?? a!) - a! + 1;
  }
  assert(n > 0 && Number.isInteger(n), `cannot count possible CPUs in ${file}`);
  return n;
}

export interface UringCounts { served: number; entriesLive: number; failures: number }

export class UringTransport {
  readonly queues: number;
  readonly entriesPerQueue: number;
  readonly counts: UringCounts = { served: 0, entriesLive: 0, failures: 0 };
  private stopped = false;
  private readonly rings: UringRings;
  private readonly log: (line: string) => void;

  /** Opens the rings (throws a syscall error when io_uring cannot be set up) and tells the session they are ready. */
  constructor(private readonly session: FuseSession, devFd: number, opts: { log?: (line: string) => void; queues?: number } = {}) {
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.queues = opts.queues ?? possibleCpus();
    this.entriesPerQueue = Math.max(1, Math.min(URING_ENTRIES_PER_QUEUE, Math.floor(URING_ENTRIES_TOTAL_MAX / this.queues)));
    // The kernel wants room for max(max_write, max_pages pages) per entry: both are WRITE_BYTES_MAX here.
    this.rings = fuseUring.open(devFd, this.queues, this.entriesPerQueue, WRITE_BYTES_MAX, (q, e, res) => this.completed(q, e, res));
    session.uring.ready = true;
    session.uring.start = () => this.register();
  }

  /** One line for --debug, the serving log and the run file. */
  describe(): string {
    return `io_uring (${this.queues} queue${this.queues === 1 ? '' : 's'} x ${this.entriesPerQueue} entries of ${WRITE_BYTES_MAX >> 20} MiB)`;
  }

  private register(): void {
    if (this.stopped) return;
    this.counts.entriesLive = this.queues * this.entriesPerQueue;
    fuseUring.register(this.rings.handle);
  }

  /** Ends the threads and closes the rings (idempotent); after the mount is gone. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.session.uring.ready = false;
    fuseUring.stop(this.rings.handle);
  }

  /** A completion of entry `e` of queue `q`: res 0 = a request is in it; < 0 = the entry is gone. */
  private completed(q: number, e: number, res: number): void {
    if (this.stopped) return;
    if (res < 0) {
      this.counts.entriesLive--;
      if (res !== -ENOTCONN && res !== -ECANCELED) {
        // The kernel gave io_uring up for this connection: /dev/fuse carries every request now.
        this.counts.failures++;
        if (this.counts.failures === 1) this.log(`fuse: io_uring entry ${q}/${e} refused by the kernel (errno ${-res}); requests go through /dev/fuse`);
      }
      return;
    }
    const ent = this.rings.entries[q * this.entriesPerQueue + e]!;
    this.serve(ent);
    this.session.replySent();
    try {
      fuseUring.commit(this.rings.handle, q, e);
    } catch (err) {
      // Only a ring that is gone refuses a submission: the entry is lost, the others carry on.
      this.counts.entriesLive--;
      this.log(`fuse: io_uring commit of entry ${q}/${e} failed: ${(err as Error).message}`);
    }
  }

  /** Rebuilds the classic message in front of the payload (no copy of write data), handles it, writes the reply. */
  private serve(ent: Buffer): void {
    const at = this.rings.payloadAt;
    const len = ent.readUInt32LE(UringHeader.inOut);
    const payloadBytes = ent.readUInt32LE(UringHeader.payloadSz);
    // The op struct (in_args[0]) sits in op_in, the other arguments in the payload; len counts all.
    const opBytes = len - Size.inHeader - payloadBytes;
    this.counts.served++;
    if (opBytes < 0 || opBytes > UringHeader.opInBytes || payloadBytes > ent.length - at) {
      this.log(`fuse: io_uring request of ${len} bytes with ${payloadBytes} bytes of payload does not add up; answering EIO`);
      return this.reply(ent, [outHeader(Size.outHeader, -EIO, ent.readBigUInt64LE(UringHeader.inOut + 8))]);
    }
    const start = at - Size.inHeader - opBytes;
    ent.copy(ent, start, UringHeader.inOut, UringHeader.inOut + Size.inHeader);
    ent.copy(ent, start + Size.inHeader, UringHeader.opIn, UringHeader.opIn + opBytes);
    // An entry's buffer goes back to the kernel at commit: a reply cannot come later (deferReply),
    // so the /dev/fuse loop's way of sending one is out of reach while an entry is served.
    const later = this.session.sendLater;
    this.session.sendLater = null;
    let reply: Buffer[] | null;
    try { reply = this.session.handle(ent.subarray(start, at + payloadBytes)); } finally { this.session.sendLater = later; }
    // FORGET and INTERRUPT never come this way; should one, the entry still goes back with an empty answer.
    this.reply(ent, reply ?? [outHeader(Size.outHeader, 0, ent.readBigUInt64LE(start + 8))]);
  }

  /** The out header into in_out, the rest into the payload (the kernel copies it from there to the caller). */
  private reply(ent: Buffer, chunks: Buffer[]): void {
    const at = this.rings.payloadAt;
    // The first chunk starts with the out header; a small reply built in place (reply.ts) carries its payload after it.
    let n = chunks[0]!.length - Size.outHeader;
    for (let i = 1; i < chunks.length; i++) n += chunks[i]!.length;
    if (n > ent.length - at) {
      this.log(`fuse: a ${n}-byte reply does not fit an io_uring entry; answering EIO`);
      chunks = [outHeader(Size.outHeader, -EIO, chunks[0]!.readBigUInt64LE(8))];
      n = 0;
    }
    chunks[0]!.copy(ent, UringHeader.inOut, 0, Size.outHeader);
    let off = at + chunks[0]!.copy(ent, at, Size.outHeader);
    for (let i = 1; i < chunks.length; i++) off += chunks[i]!.copy(ent, off);
    ent.writeUInt32LE(n, UringHeader.payloadSz);
  }
}

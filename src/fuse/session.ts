// The protocol core: one FUSE request's bytes in, the reply's bytes out, no I/O.
// It parses the in-header, finds the opcode in the table (ops.ts), decodes the
// fixed argument struct and the names that follow with a bounded reader, calls
// the handler and frames its result. Every request that expects a reply gets
// exactly one: unknown opcodes ENOSYS, malformed input and handler bugs EIO
// (a bug is logged, never allowed to leave the caller hung).
// The transports, /dev/fuse (loop.ts) and io_uring (uring.ts), only move these buffers.
import { EIO, ENAMETOOLONG, ENOSYS, errnoName } from '../format/errno.js';
import { DecodeError, FuseReader, NAME_WIRE_BYTES_MAX, PATH_BYTES_MAX, U64_SAFE_HIGH_MAX, nameTooLong } from './reader.js';
import { OPS, type OpSpec } from './ops.js';
import type { ServedVolume } from './served.js';
import { Op, Size, outHeader, type Validity } from './wire.js';
import { describeRequest } from './trace.js';
import { ReplyBuffer } from './reply.js';
import type { Conn, Request, Result } from './conn.js';
export type { Request, Result } from './conn.js';
// The request size limits live in limits.ts (below the handlers, which use them too).
export { WRITE_BYTES_MAX, REQUEST_BYTES_MAX } from './limits.js';
import { hexdump } from '../format/hexdump.js';
import type { WritebackPolicy } from './writeback.js';


/** A decoded request; `rest` is made when a handler asks for it (most never do, and a view is not free). */
class Decoded implements Request {
  constructor(
    readonly opcode: number, readonly unique: bigint, readonly nodeid: number,
    readonly uid: number, readonly gid: number, readonly pid: number,
    readonly arg: FuseReader, readonly names: string[],
    private readonly msg: Buffer, private readonly restAt: number, private readonly restEnd: number,
  ) {}

  get rest(): Buffer { return this.msg.subarray(this.restAt, this.restEnd); }
}


export interface SessionOptions {
  volume: ServedVolume;
  /** ns since the epoch, for FATTR_*_NOW (no wall clock below cli/: injected). */
  clock: () => bigint;
  validity?: Validity;
  /** One line per message when set (--debug). */
  trace?: (line: string) => void;
  /** Where handler bugs are reported (always on). */
  log?: (line: string) => void;
  /** When the kernel may cache writes (writeback.ts); default: always, for byte-level tests. */
  writeback?: WritebackPolicy;
}

const NO_NAMES = Object.freeze([]) as unknown as string[];

/** A name the table marks as a path component, longer than NAME_MAX (answered ENAMETOOLONG before any handler). */
function hasLongName(spec: OpSpec, names: string[]): boolean {
  for (let i = 0; i < names.length; i++) if (spec.names[i] === 'name' && nameTooLong(names[i]!)) return true;
  return false;
}

export class FuseSession implements Conn {
  readonly volume: ServedVolume;
  readonly clock: () => bigint;
  readonly validity: Validity;
  readonly trace: ((line: string) => void) | undefined;
  readonly log: (line: string) => void;
  readonly writeback: WritebackPolicy | undefined;
  /** Negotiated by INIT. */
  initialized = false;
  minor = 0;
  /** DESTROY received: the loop stops after sending its reply. */
  destroyed = false;
  /**
   * FUSE over io_uring (uring.ts): `ready` when rings wait to be registered,
   * `offered` when the kernel's INIT offered it, `granted` when INIT's reply
   * asked for it; `start` registers the rings once that reply reached the kernel.
   */
  readonly uring: { ready: boolean; offered: boolean; granted: boolean; start?: () => void } = { ready: false, offered: false, granted: false };
  /** Where the small replies are built in place (reply.ts); valid until the next request. */
  readonly reply = new ReplyBuffer();
  /** Requests answered, by outcome; a cheap view for tests and --debug summaries. */
  readonly counts = { ok: 0, err: 0, noReply: 0, malformed: 0 };
  /** A request is being handled; work queued by between() waits for its end. */
  private handling = false;
  private readonly afterRequest: (() => void)[] = [];
  private readonly afterSent: (() => void)[] = [];

  constructor(opts: SessionOptions) {
    this.volume = opts.volume;
    this.clock = opts.clock;
    this.validity = opts.validity ?? { entrySec: 1, attrSec: 1 };
    this.trace = opts.trace;
    this.log = opts.log ?? ((line) => process.stderr.write(line + '\n'));
    this.writeback = opts.writeback;
  }

  /**
   * Run `fn` between requests, never inside one: now when none is in hand,
   * else right after it. (Handlers are synchronous today, so a timer cannot
   * fire inside one; this keeps the interval checkpoint whole if that changes.)
   */
  between(fn: () => void): void {
    if (this.handling) this.afterRequest.push(fn);
    else fn();
  }

  /** Run `fn` once the reply now being made has reached the kernel (the transport calls replySent()). */
  whenSent(fn: () => void): void {
    this.afterSent.push(fn);
  }

  /** The reply now being made shows memory held until it is sent (holdUntilSent): a transport may send it later. */
  replyHeld = false;

  /** `release` the reply's memory once it is sent; until then it stays valid, also after later requests. */
  holdUntilSent(release: () => void): void {
    this.replyHeld = true;
    this.afterSent.push(release);
  }

  /** A transport sending this reply later takes the work replySent() would run, to run it once sent. */
  takeSent(): (() => void)[] {
    return this.afterSent.splice(0);
  }

  /** Called by a transport after it handed a reply to the kernel. */
  replySent(): void {
    for (let fn = this.afterSent.shift(); fn; fn = this.afterSent.shift()) fn();
  }

  /**
   * Set by a transport that can send a reply after handle() returned (the
   * /dev/fuse loop): it writes the chunks for request `unique` and then lets go
   * of that request's buffer. Null: every reply is made inside handle().
   */
  sendLater: ((unique: bigint, chunks: Buffer[]) => void) | null = null;
  /** handle() returned null because the reply comes later (deferReply): the request's buffer stays in use until sendLater sends it. */
  replyLater = false;
  private unique = 0n;

  /**
   * For a handler whose work ends on another thread: the function that answers
   * the request being handled, later and once (whatever the handler returns is
   * ignored). Null when the transport cannot wait (the handler answers now).
   */
  deferReply(): ((result: Result) => void) | null {
    const send = this.sendLater;
    if (!send || !this.handling) return null;
    const unique = this.unique;
    this.replyLater = true;
    let answered = false;
    return (result) => {
      if (answered) return;
      answered = true;
      send(unique, this.frame(unique, result));
    };
  }

  /** Handle one request; returns the reply's chunks (the first starts with the out header), or null when none is sent now. */
  handle(msg: Buffer): Buffer[] | null {
    this.handling = true;
    this.replyHeld = false;
    this.replyLater = false;
    try {
      return this.handleOne(msg);
    } finally {
      this.handling = false;
      for (let fn = this.afterRequest.shift(); fn; fn = this.afterRequest.shift()) fn();
    }
  }

  private handleOne(msg: Buffer): Buffer[] | null {
    if (msg.length < Size.inHeader) {
      // Without a whole header there is no `unique` to answer; the kernel never sends this.
      this.counts.malformed++;
      this.log(`fuse: request of ${msg.length} bytes is shorter than the header; dropped`);
      return null;
    }
    const len = msg.readUInt32LE(0);
    const opcode = msg.readUInt32LE(4);
    const unique = msg.readBigUInt64LE(8);
    const spec = OPS[opcode];
    let result: Result;
    try {
      const req = this.decode(msg, len, opcode, unique, spec);
      if (this.trace) this.trace(`rx ${unique}: ${describeRequest(req, spec?.name)}`);
      if (!spec) result = -ENOSYS;
      else if (!this.initialized && opcode !== Op.INIT) result = -EIO;
      else if (hasLongName(spec, req.names)) result = -ENAMETOOLONG;
      else {
        this.unique = unique;
        result = spec.handler(this, req);
      }
    } catch (e) {
      if (e instanceof DecodeError) {
        this.counts.malformed++;
        if (this.trace) this.trace(`rx ${unique}: ${spec?.name ?? `op${opcode}`} malformed: ${e.message}\n${hexdump(msg, 0, Math.min(msg.length, 128))}`);
      } else {
        this.log(`fuse: ${spec?.name ?? opcode} failed: ${(e as Error)?.stack ?? e}`);
      }
      result = -EIO;
    }
    if (this.replyLater) return null;   // deferReply: the handler's deferred answer is the one
    if (spec && !spec.reply) {   // forget, batch forget, interrupt: the kernel waits for nothing
      this.counts.noReply++;
      return null;
    }
    return this.frame(unique, result);
  }

  private decode(msg: Buffer, len: number, opcode: number, unique: bigint, spec: OpSpec | undefined): Request {
    if (len !== msg.length) throw new DecodeError('malformed', 'in_header.len', 0, `says ${len}, read ${msg.length}`);
    const extBytes = msg.readUInt16LE(36) * 8;
    const end = len - extBytes;   // extensions (security context, groups) follow the arguments; unused
    if (end < Size.inHeader) throw new DecodeError('malformed', 'in_header.total_extlen', 36, `${extBytes} bytes of extensions in a ${len}-byte request`);
    // One view for the whole message, shared by its readers (the header is whole: checked by the caller).
    const dv = this.viewOf(msg);
    // The header is whole (checked by the caller): its fields straight from the view, no reader made.
    const nodeHigh = dv.getUint32(20, true);
    if (nodeHigh > U64_SAFE_HIGH_MAX) throw new DecodeError('overflow', 'in_header.nodeid', 16, `0x${dv.getBigUint64(16, true).toString(16)} exceeds 2^53-1`);
    const nodeid = nodeHigh * 0x1_0000_0000 + dv.getUint32(16, true);
    const uid = dv.getUint32(24, true), gid = dv.getUint32(28, true), pid = dv.getUint32(32, true);
    const argBytes = spec?.inBytes ?? 0;
    if (Size.inHeader + argBytes > end) {
      throw new DecodeError('short', `${spec?.name}_in`, Size.inHeader, `need ${argBytes} bytes, ${end - Size.inHeader} left`);
    }
    const arg = new FuseReader(msg, Size.inHeader, Size.inHeader + argBytes, dv);
    if (!spec || spec.names.length === 0) return new Decoded(opcode, unique, nodeid, uid, gid, pid, arg, NO_NAMES, msg, Size.inHeader + argBytes, end);
    const tail = new FuseReader(msg, Size.inHeader + argBytes, end, dv);
    const names: string[] = [];
    for (let i = 0; i < spec.names.length; i++) {
      const kind = spec.names[i]!, field = spec.fields[i]!;
      names.push(kind === 'name' ? tail.component(field) : tail.cstr(field, kind === 'target' ? PATH_BYTES_MAX : NAME_WIRE_BYTES_MAX));
    }
    return new Decoded(opcode, unique, nodeid, uid, gid, pid, arg, names, msg, tail.offset, end);
  }

  /**
   * A DataView from `msg`'s first byte, kept while requests arrive in the same
   * buffer (the transports reuse theirs): readers stay within the message's
   * own bounds, so a view reaching past its end reads nothing else.
   */
  private viewOf(msg: Buffer): DataView {
    const dv = this.msgView;
    if (dv && dv.buffer === msg.buffer && dv.byteOffset === msg.byteOffset && dv.byteLength >= msg.length) return dv;
    return this.msgView = new DataView(msg.buffer, msg.byteOffset, msg.buffer.byteLength - msg.byteOffset);
  }
  private msgView: DataView | null = null;

  /** fuse_out_header + payload. */
  frame(unique: bigint, result: Result): Buffer[] {
    if (typeof result === 'number') {
      if (result > 0) {
        this.log(`fuse: handler returned ${result} for request ${unique}; a bug, answering EIO`);
        result = -EIO;
      }
      if (result < 0) this.counts.err++; else this.counts.ok++;
      if (this.trace) this.trace(`tx ${unique}: ${result < 0 ? '-' + errnoName(result) : 'OK'}`);
      // A held reply may be written after later requests: its header cannot be the shared one.
      return [this.replyHeld ? outHeader(Size.outHeader, result, unique) : this.reply.header(0, result, unique)];
    }
    if (!Array.isArray(result) && this.reply.owns(result)) {   // built in place: the header goes in front of it
      this.counts.ok++;
      if (this.trace) this.trace(`tx ${unique}: OK ${result.length - Size.outHeader} bytes`);
      return [this.reply.header(result.length - Size.outHeader, 0, unique)];
    }
    const chunks = Array.isArray(result) ? result : [result];
    let len = Size.outHeader;
    for (const c of chunks) len += c.length;
    this.counts.ok++;
    if (this.trace) this.trace(`tx ${unique}: OK ${len - Size.outHeader} bytes`);
    return [outHeader(len, 0, unique), ...chunks];
  }
}

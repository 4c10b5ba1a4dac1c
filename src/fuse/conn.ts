// What a handler sees of a request and of the session answering it: named below
// the session (session.ts) so the handlers and the opcode table (ops.ts), which
// the session dispatches to, do not import the session back.
import type { FuseReader } from './reader.js';
import type { ReplyBuffer } from './reply.js';
import type { ServedVolume } from './served.js';
import type { Validity } from './wire.js';
import type { WritebackPolicy } from './writeback.js';

export interface Request {
  opcode: number;
  unique: bigint;
  nodeid: number;
  uid: number;
  gid: number;
  pid: number;
  /** The fixed argument struct, bounded to the table's size for this opcode. */
  arg: FuseReader;
  /** The names that follow the struct (as the table says), decoded. */
  names: string[];
  /** Bytes after the names (write data, xattr value, forget list): a view, valid during the call. */
  readonly rest: Buffer;
}

/** A handler's result: 0 = OK without payload, < 0 = -errno, else the payload chunks. */
export type Result = number | Buffer | Buffer[];

/** The session as handlers use it (session.ts FuseSession is the one implementation). */
export interface Conn {
  readonly volume: ServedVolume;
  readonly clock: () => bigint;
  readonly validity: Validity;
  readonly log: (line: string) => void;
  readonly writeback: WritebackPolicy | undefined;
  initialized: boolean;
  minor: number;
  destroyed: boolean;
  readonly uring: { ready: boolean; offered: boolean; granted: boolean; start?: () => void };
  readonly reply: ReplyBuffer;
  sendLater: ((unique: bigint, chunks: Buffer[]) => void) | null;
  whenSent(fn: () => void): void;
  holdUntilSent(release: () => void): void;
  deferReply(): ((result: Result) => void) | null;
}

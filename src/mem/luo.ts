// Linux Live Update (LUO) over /dev/liveupdate: create a session, preserve an
// fd (the arena's memfd) in it, and after the kexec retrieve both and finish.
// Thin typed helpers over the addon's generic ioctl; when to preserve, and
// keeping the session fd open until the kexec, is the caller's business.
//
// uapi: include/uapi/linux/liveupdate.h (Linux 6.19+/7.x). Every argument
// struct starts with its own size as a u32; the kernel rejects non-zero bytes
// it does not understand (E2BIG). Layouts, native endian, as in that header:
//   struct liveupdate_ioctl_create_session   { u32 size; s32 fd; u8 name[64]; }  72 bytes
//   struct liveupdate_ioctl_retrieve_session { u32 size; s32 fd; u8 name[64]; }  72 bytes
//   struct liveupdate_session_preserve_fd    { u32 size; s32 fd; aligned u64 token; }  16 bytes
//   struct liveupdate_session_retrieve_fd    { u32 size; s32 fd; aligned u64 token; }  16 bytes
//   struct liveupdate_session_finish         { u32 size; u32 reserved; }  8 bytes
// ioctl numbers are _IO(0xBA, nr): CREATE_SESSION nr 0x00, RETRIEVE_SESSION 0x01
// (on /dev/liveupdate); SESSION_PRESERVE_FD 0x40, RETRIEVE_FD 0x41, FINISH 0x42
// (on a session fd). The name is NUL-terminated, at most 63 bytes.

import * as fs from 'node:fs';
import { endianness } from 'node:os';
import { Arena } from './arena.js';
import * as native from './native.js';

export const LUO_DEVICE = '/dev/liveupdate';
export const LUO_SESSION_NAME_LENGTH = 64;
/** The token under which pram preserves its arena memfd: "PRAM" in ASCII. */
export const PRAM_LUO_TOKEN = 0x5052414dn;
/** The LUO session that carries memfd arena NAME across a kexec. */
export const luoSessionName = (name: string): string => `pram:${name}`;

const IOC_TYPE = 0xba;
const io = (nr: number): number => (IOC_TYPE << 8) | nr; // _IO: no direction, no size bits

export const LUO_IOCTL = Object.freeze({
  CREATE_SESSION: io(0x00),
  RETRIEVE_SESSION: io(0x01),
  SESSION_PRESERVE_FD: io(0x40),
  SESSION_RETRIEVE_FD: io(0x41),
  SESSION_FINISH: io(0x42),
});

export const LUO_SIZES = Object.freeze({ session: 72, fd: 16, finish: 8 });

/** A LUO failure with a Node-style code and a message that says what to do. */
export class LuoError extends Error {
  override name = 'LuoError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const LE = endianness() === 'LE';

/** The argument of CREATE_SESSION / RETRIEVE_SESSION for `name`. */
export function encodeSessionArg(name: string): Buffer {
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length >= LUO_SESSION_NAME_LENGTH || bytes.includes(0)) {
    throw new LuoError('EINVAL', `LUO session name ${JSON.stringify(name)} must be 1..${LUO_SESSION_NAME_LENGTH - 1} bytes without NUL`);
  }
  const buf = Buffer.alloc(LUO_SIZES.session);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  v.setUint32(0, LUO_SIZES.session, LE);
  // fd (offset 4) is an output; left 0 on input as in the verified luotest.c sequence
  bytes.copy(buf, 8);
  return buf;
}

/** The argument of SESSION_PRESERVE_FD (fd set) or SESSION_RETRIEVE_FD (fd 0 on input, an output). */
export function encodeFdArg(fd: number, token: bigint): Buffer {
  if (token < 0n || token >= 1n << 64n) throw new LuoError('EINVAL', `LUO token ${token} is not a u64`);
  const buf = Buffer.alloc(LUO_SIZES.fd);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.length);
  v.setUint32(0, LUO_SIZES.fd, LE);
  v.setInt32(4, fd, LE);
  v.setBigUint64(8, token, LE);
  return buf;
}

export function encodeFinishArg(): Buffer {
  const buf = Buffer.alloc(LUO_SIZES.finish);
  new DataView(buf.buffer, buf.byteOffset, buf.length).setUint32(0, LUO_SIZES.finish, LE);
  return buf;
}

/** The fd field (offset 4) the kernel filled in. */
export function decodeFd(arg: Buffer): number {
  return new DataView(arg.buffer, arg.byteOffset, arg.length).getInt32(4, LE);
}

export interface LuoOptions {
  /** The LUO device; tests point it elsewhere. */
  device?: string;
}

/** Opens /dev/liveupdate (one opener at a time); the caller closes it. */
export function openLuo(opts: LuoOptions = {}): number {
  const device = opts.device ?? LUO_DEVICE;
  try {
    return fs.openSync(device, 'r+');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'EIO';
    if (code === 'ENOENT' || code === 'ENXIO' || code === 'ENODEV') {
      throw new LuoError('ENODEV', `${device} does not exist: this kernel has no Live Update Orchestrator. ` +
        'It needs a kernel built with CONFIG_KEXEC_HANDOVER=y, CONFIG_LIVEUPDATE=y and CONFIG_LIVEUPDATE_MEMFD=y (Linux 6.19 or later), ' +
        'booted with the parameters kho=on liveupdate=on');
    }
    if (code === 'EBUSY') throw new LuoError('EBUSY', `another process holds ${device} (it allows one opener at a time)`);
    if (code === 'EACCES' || code === 'EPERM') throw new LuoError(code, `permission denied opening ${device} (LUO needs root)`);
    throw new LuoError(code, `cannot open ${device}: ${(e as Error).message}`);
  }
}

function call(fd: number, request: number, arg: Buffer, what: string): void {
  try {
    native.ioctl(fd, request, arg);
  } catch (e) {
    const code = (e as native.SyscallError).code ?? 'EIO';
    const hint: Record<string, string> = {
      ENOTTY: 'the kernel does not know this LUO ioctl (a different LUO version, or not a LUO device)',
      E2BIG: 'the kernel does not understand this argument struct (LUO uapi mismatch)',
      EOPNOTSUPP: 'the kernel cannot preserve this kind of file (is CONFIG_LIVEUPDATE_MEMFD set?)',
      EBUSY: 'busy: another process holds the session, or the fd is already preserved',
      EEXIST: 'a session or token with this name already exists',
      ENOENT: 'not found',
      EINVAL: 'the kernel refused the request',
    };
    throw new LuoError(code, `LUO ${what} failed: ${hint[code] ?? (e as Error).message} (${code})`);
  }
}

function withDevice<T>(opts: LuoOptions, fn: (dev: number) => T): T {
  const dev = openLuo(opts);
  try {
    return fn(dev);
  } finally {
    fs.closeSync(dev);
  }
}

/** LIVEUPDATE_IOCTL_CREATE_SESSION: a new session; keep the returned fd open until the kexec. */
export function createSession(name: string, opts: LuoOptions = {}): number {
  const arg = encodeSessionArg(name);
  return withDevice(opts, (dev) => {
    call(dev, LUO_IOCTL.CREATE_SESSION, arg, `create session "${name}"`);
    return decodeFd(arg);
  });
}

/** LIVEUPDATE_IOCTL_RETRIEVE_SESSION, after the kexec. */
export function retrieveSession(name: string, opts: LuoOptions = {}): number {
  const arg = encodeSessionArg(name);
  return withDevice(opts, (dev) => {
    try {
      call(dev, LUO_IOCTL.RETRIEVE_SESSION, arg, `retrieve session "${name}"`);
    } catch (e) {
      if (e instanceof LuoError && e.code === 'ENOENT') {
        throw new LuoError('ENOENT', `no LUO session named "${name}" came through the kexec (was it preserved, and its session fd held open until the kexec?)`);
      }
      throw e;
    }
    return decodeFd(arg);
  });
}

/** LIVEUPDATE_SESSION_PRESERVE_FD: the kernel keeps fd's file (a memfd) across the next kexec. */
export function preserveFd(sessionFd: number, fd: number, token: bigint = PRAM_LUO_TOKEN): void {
  call(sessionFd, LUO_IOCTL.SESSION_PRESERVE_FD, encodeFdArg(fd, token), `preserve fd ${fd} with token 0x${token.toString(16)}`);
}

/** LIVEUPDATE_SESSION_RETRIEVE_FD: a new fd for the file preserved under token. */
export function retrieveFd(sessionFd: number, token: bigint = PRAM_LUO_TOKEN): number {
  const arg = encodeFdArg(0, token);
  try {
    call(sessionFd, LUO_IOCTL.SESSION_RETRIEVE_FD, arg, `retrieve token 0x${token.toString(16)}`);
  } catch (e) {
    if (e instanceof LuoError && e.code === 'ENOENT') {
      throw new LuoError('ENOENT', `the LUO session holds no file under token 0x${token.toString(16)}`);
    }
    throw e;
  }
  return decodeFd(arg);
}

/** LIVEUPDATE_SESSION_FINISH: restoration done; the kernel drops its hold on the preserved pages. */
export function finishSession(sessionFd: number): void {
  call(sessionFd, LUO_IOCTL.SESSION_FINISH, encodeFinishArg(), 'finish session');
}

export interface RestoredLuoArena {
  /** The retrieved memfd, mapped and locked (pages of 4096 bytes until the header says otherwise). */
  arena: Arena;
  /**
   * LIVEUPDATE_SESSION_FINISH and close the session fd: call once the image is
   * loaded. The memfd stays an ordinary memfd of this process (and can be
   * preserved again for the next kexec). Idempotent.
   */
  finish(): void;
  /** Closes the session without finishing (a failed mount); the arena is the caller's. */
  abandon(): void;
}

/**
 * After a kexec: arena NAME from session "pram:NAME", token PRAM_LUO_TOKEN.
 * Every failure says what is missing: no LUO in this kernel, no such session
 * (not preserved, or its fd was closed before the kexec), no file under the token.
 */
export function restoreLuoArena(name: string, opts: LuoOptions & { pageSize?: number } = {}): RestoredLuoArena {
  const sfd = retrieveSession(luoSessionName(name), opts);
  let arena: Arena;
  try {
    const fd = retrieveFd(sfd, PRAM_LUO_TOKEN);
    try {
      arena = Arena.fromFd(fd, { kind: 'memfd', path: `luo:${name}`, pageSize: opts.pageSize });
    } catch (e) {
      fs.closeSync(fd);
      throw e;
    }
  } catch (e) {
    fs.closeSync(sfd);
    throw e;
  }
  let open = true;
  return {
    arena,
    finish() {
      if (!open) return;
      finishSession(sfd);
      fs.closeSync(sfd);
      open = false;
    },
    abandon() {
      if (!open) return;
      fs.closeSync(sfd);
      open = false;
    },
  };
}

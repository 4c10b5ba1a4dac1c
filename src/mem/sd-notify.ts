// systemd's service protocol, spoken by pram itself (no libsystemd, no npm
// package: the npm ones either cannot pass fds or wrap libsystemd in a native
// build of their own): sd_notify(3) — one datagram to $NOTIFY_SOCKET, fds in
// SCM_RIGHTS, sent by the addon's sendUnixDatagram — and sd_listen_fds(3) —
// fds 3.. named by $LISTEN_FDNAMES, for this process when $LISTEN_PID says so.
// Both are plain lines of text and a few integers; policy (which fd, which
// name) lives in fdstore.ts.
import * as fs from 'node:fs';
import * as native from './native.js';

/** The first fd systemd passes (SD_LISTEN_FDS_START). */
export const LISTEN_FDS_START = 3;

export class NotifyError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
    this.name = 'NotifyError';
  }
}

/**
 * sun_path bytes for a $NOTIFY_SOCKET value: an absolute path, or '@name' for
 * an abstract socket (leading NUL). Anything else (vsock:, relative) is refused.
 */
export function notifyAddress(socket: string): Buffer {
  if (socket.startsWith('@')) return Buffer.concat([Buffer.from([0]), Buffer.from(socket.slice(1))]);
  if (socket.startsWith('/')) return Buffer.from(socket);
  throw new NotifyError('EAFNOSUPPORT', `NOTIFY_SOCKET=${socket}: only unix sockets (an absolute path or @abstract) are supported`);
}

/** True when a service manager listens: $NOTIFY_SOCKET is set. */
export function underServiceManager(env: NodeJS.ProcessEnv = process.env): boolean {
  return !!env['NOTIFY_SOCKET'];
}

/**
 * sd_notify: sends `state` (lines like READY=1) with `fds` to $NOTIFY_SOCKET.
 * Returns false when no manager listens; throws NotifyError when it cannot send.
 */
export function notify(state: string, fds: number[] = [], env: NodeJS.ProcessEnv = process.env): boolean {
  const socket = env['NOTIFY_SOCKET'];
  if (!socket) return false;
  try {
    native.sendUnixDatagram(notifyAddress(socket), Buffer.from(state), fds);
  } catch (e) {
    if (e instanceof NotifyError) throw e;
    const err = e as native.SyscallError;
    throw new NotifyError(err.code ?? 'EIO', `sd_notify to ${socket} (${state.split('\n').join(', ')}): ${err.message}`);
  }
  return true;
}

/** One fd passed by the manager: its number and $LISTEN_FDNAMES name ('unknown' when unnamed). */
export interface ListenFd { fd: number; name: string }

/**
 * sd_listen_fds_with_names: the fds passed to this process, or [] when none
 * are ($LISTEN_PID absent or another process's). Bad values are an error
 * naming the variable, not a silent empty list.
 */
export function parseListenFds(env: NodeJS.ProcessEnv, pid: number): ListenFd[] {
  const count = env['LISTEN_FDS'];
  if (count === undefined) return [];
  const forPid = env['LISTEN_PID'];
  if (forPid !== undefined && Number(forPid) !== pid) return [];
  if (!/^\d+$/.test(count)) throw new NotifyError('EINVAL', `LISTEN_FDS=${count} is not a count of fds`);
  const n = Number(count);
  const names = env['LISTEN_FDNAMES'] !== undefined ? env['LISTEN_FDNAMES'].split(':') : [];
  if (names.length > 0 && names.length !== n) {
    throw new NotifyError('EINVAL', `LISTEN_FDNAMES names ${names.length} fds but LISTEN_FDS=${n}`);
  }
  return Array.from({ length: n }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] || 'unknown' }));
}

let taken: ListenFd[] | null = null;

/**
 * This process's passed fds, read once: the variables are then removed from
 * the environment (as sd_listen_fds(1) does) so that children do not take
 * fds meant for us. Each fd is handed out once by takeListenFd.
 */
function listenFds(): ListenFd[] {
  if (taken === null) {
    taken = parseListenFds(process.env, process.pid).filter((l) => isOpen(l.fd));
    delete process.env['LISTEN_FDS'];
    delete process.env['LISTEN_PID'];
    delete process.env['LISTEN_FDNAMES'];
  }
  return taken;
}

function isOpen(fd: number): boolean {
  try { fs.fstatSync(fd); return true; } catch { return false; }
}

/** Takes the passed fd called `name` (first of that name), or null when none was passed. */
export function takeListenFd(name: string): number | null {
  const all = listenFds();
  const i = all.findIndex((l) => l.name === name);
  if (i < 0) return null;
  return all.splice(i, 1)[0]!.fd;
}

/** The names of passed fds not taken yet (for messages that say what was there instead). */
export function listenFdNames(): string[] {
  return listenFds().map((l) => l.name);
}

// A memfd arena kept in systemd's file descriptor store. Under a service
// manager ($NOTIFY_SOCKET set) memfd:NAME is first looked up among the fds
// systemd passed at start ($LISTEN_FDNAMES, name pram-NAME): restarts, crashes,
// soft-reboots and — with FileDescriptorStorePreserve=yes on a LUO kernel —
// `systemctl kexec` hand it back. Only when none was passed is a new memfd
// created, and that one is sent to PID 1 at once (FDSTORE=1, FDNAME=pram-NAME)
// so the next start finds it. Without a manager nothing here changes anything.
//
// FDNAME rule: systemd accepts up to 255 printable ASCII characters without ':'
// (the separator of $LISTEN_FDNAMES). pram uses `pram-` + NAME and asks NAME to
// be 1..250 of [A-Za-z0-9._@+-] under a manager, so every arena name maps to
// exactly one valid FDNAME and back.
import { Arena, ArenaError } from './arena.js';
import { NotifyError, listenFdNames, notify, takeListenFd, underServiceManager } from './sd-notify.js';

export const FDNAME_PREFIX = 'pram-';
const NAME_RE = /^[A-Za-z0-9._@+-]{1,250}$/;

/** The FD store name of memfd arena `name`; throws ArenaError (EINVAL) naming the bad character. */
export function fdStoreName(name: string): string {
  if (!NAME_RE.test(name)) {
    const bad = [...name].find((c) => !/[A-Za-z0-9._@+-]/.test(c));
    const why = name.length === 0 ? 'is empty' : name.length > 250 ? `is ${name.length} characters long (at most 250)` : `contains ${JSON.stringify(bad)}`;
    throw new ArenaError('EINVAL', `memfd:${name} cannot be kept in systemd's FD store: the name ${why}; use letters, digits and . _ @ + -`, `memfd:${name}`);
  }
  return FDNAME_PREFIX + name;
}

export interface MemfdArena {
  mem: Arena;
  /** Passed back by systemd (its header is checked by the caller), not new. */
  fromStore: boolean;
}

/**
 * The hook where a memfd arena is opened: systemd's kept memfd named after
 * `name` when one was passed, else create() — handed to the FD store when a
 * manager listens. `note` hears what happened in one line each (a new arena
 * under a manager says why it is new: that is how a lost arena shows).
 */
export function openMemfdArena(name: string, create: () => Arena, note: (line: string) => void = () => {}, env: NodeJS.ProcessEnv = process.env): MemfdArena {
  if (!underServiceManager(env)) return { mem: create(), fromStore: false };
  const fdname = fdStoreName(name);
  const fd = takeListenFd(fdname);
  if (fd !== null) {
    note(`pram: memfd:${name}: arena passed back by systemd's FD store (fd ${fd}, FDNAME=${fdname})`);
    return { mem: Arena.fromFd(fd, { kind: 'memfd', path: `memfd:${name}` }), fromStore: true };
  }
  const others = listenFdNames();
  note(`pram: memfd:${name}: no fd named ${fdname} in systemd's FD store (passed: ${others.length ? others.join(', ') : 'none'}); ` +
    'created a new, empty arena');
  const mem = create();
  try {
    keepInFdStore(mem, name, note, env);
  } catch (e) {
    mem.close();
    throw e;
  }
  return { mem, fromStore: false };
}

/** Sends the arena's memfd to PID 1 (FDSTORE=1). Warns when the unit keeps no fds ($FDSTORE unset or 0). */
export function keepInFdStore(mem: Arena, name: string, note: (line: string) => void = () => {}, env: NodeJS.ProcessEnv = process.env): boolean {
  const fdname = fdStoreName(name);
  try {
    if (!notify(`FDSTORE=1\nFDNAME=${fdname}`, [mem.fd], env)) return false;
  } catch (e) {
    // Not kept means lost at the next restart: an error, not a note.
    if (e instanceof NotifyError) throw new ArenaError(e.code, `memfd:${name}: cannot hand the arena to systemd's FD store: ${e.message}`, `memfd:${name}`);
    throw e;
  }
  const max = Number(env['FDSTORE'] ?? 0);
  if (!(max > 0)) {
    note(`pram: warning: memfd:${name}: this unit keeps no fds (FileDescriptorStoreMax= is 0 or unset): ` +
      'the arena lives only as long as this process');
  } else note(`pram: memfd:${name}: handed to systemd's FD store as ${fdname}`);
  return true;
}

/** Asks PID 1 to drop the arena from the FD store (FDSTOREREMOVE=1): its memory is freed once no one holds it. */
export function dropFromFdStore(name: string, env: NodeJS.ProcessEnv = process.env): boolean {
  return notify(`FDSTOREREMOVE=1\nFDNAME=${fdStoreName(name)}`, [], env);
}

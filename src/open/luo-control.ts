// pram on Linux Live Update (LUO): handing a memfd arena to the next kernel without
// reserving any memory. Three pieces, one per process role:
//  - serveLuoControl(): runs inside the process that owns the memfd arena (the FUSE
//    server of `pram mount --arena memfd:NAME`, or a library mount() with luoControl). It listens on a Unix socket
//    <dir>/<NAME>.sock; on "preserve" it saves the file system, creates the LUO session
//    "pram:<NAME>", preserves the memfd under PRAM_LUO_TOKEN and keeps the session fd
//    open until the kexec (closing it would drop the preservation).
//  - luoKexec(): `pram kexec --luo KERNEL`: asks every such server to preserve, loads the
//    kernel with kexec_file_load (kexec-tools' `kexec -s -l`) and jumps; on any failure it
//    asks the servers to cancel, so nothing stays pinned.
//  - restoreLuoArena() (src/mem/luo.ts, re-exported here): after the kexec,
//    `pram mount --arena luo:NAME` retrieves the session and the memfd; the mount calls
//    finish() once the image is loaded.
// The ioctls are src/mem/luo.ts's; the file system and the FUSE loop are others'.
// Below api/ and fuse/ (open/): the library and the CLI both serve and request.
//
// Control protocol (one JSON object per line, one request per connection):
//   → {"op":"preserve"}  ← {"ok":true,"session":"pram:NAME","token":"0x5052414d","bytes":N,"saveMs":n,"preserveMs":n}
//   → {"op":"cancel"}    ← {"ok":true}                (session fd closed: nothing preserved)
//   → {"op":"status"}    ← {"ok":true,"name":..,"preserved":bool,"bytes":N}
//   errors               ← {"ok":false,"code":"EBUSY","message":"..."}

import * as fs from 'node:fs';
import * as net from 'node:net';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { Arena } from '../mem/arena.js';
import * as luo from '../mem/luo.js';

/** Where the control sockets live; one per mounted memfd arena. */
export const LUO_CONTROL_DIR = process.env.PRAM_LUO_DIR ?? '/run/pram/luo';
/** The LUO session of arena NAME (defined in mem/luo.ts). */
export const luoSessionName = luo.luoSessionName;
const PRESERVE_TIMEOUT_MS = 120_000;
const CANCEL_TIMEOUT_MS = 10_000;
const REQUEST_BYTES_MAX = 4096;

/** A failure with a Node-style code, printed by the CLI as one line. */
export class LuoKexecError extends Error {
  override name = 'LuoKexecError';
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

const NO_LUO = 'this kernel has no /dev/liveupdate: LUO needs a kernel built with CONFIG_KEXEC_HANDOVER=y, ' +
  'CONFIG_LIVEUPDATE=y and CONFIG_LIVEUPDATE_MEMFD=y (Linux 6.19 or later), booted with kho=on liveupdate=on';

export interface LuoServedArena {
  /** The NAME of memfd:NAME / luo:NAME. */
  name: string;
  arena: Arena;
  /**
   * The mount point served from this arena: the kexec command flushes the
   * kernel's cached writes there (syncfs) before asking for "preserve", so the
   * save sees them. The server cannot do it itself: it would wait on itself.
   */
  mountDir?: string;
  /** Checkpoints the file system into the arena: 0 or a negative errno. */
  save(): number;
  /** Optional: stop accepting writes once preserved (the kexec is imminent). */
  freeze?(): void;
  /** Optional: accept writes again after a cancelled kexec. */
  thaw?(): void;
  log?(line: string): void;
}

export interface LuoControlServer {
  readonly socketPath: string;
  /** True while a session holds the memfd for the next kexec. */
  readonly preserved: boolean;
  /** Stops listening and drops any preservation (unmount). */
  close(): void;
}

/** Starts the control socket for one memfd arena (call once the mount is up). */
export async function serveLuoControl(target: LuoServedArena, dir: string = LUO_CONTROL_DIR): Promise<LuoControlServer> {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const socketPath = join(dir, `${target.name}.sock`);
  if (fs.existsSync(socketPath)) {
    if (await ping(socketPath)) throw new LuoKexecError('EBUSY', `a pram server for memfd arena "${target.name}" is already running (${socketPath})`);
    fs.rmSync(socketPath, { force: true }); // left by a server that died
  }
  let sessionFd = -1;
  const log = target.log ?? (() => {});

  const drop = (): void => {
    if (sessionFd >= 0) { fs.closeSync(sessionFd); sessionFd = -1; }
  };

  const preserve = (): object => {
    if (sessionFd >= 0) return { ok: true, session: luoSessionName(target.name), already: true, bytes: target.arena.sizeBytes };
    const t0 = performance.now();
    const rc = target.save();
    if (rc < 0) throw new LuoKexecError('EIO', `saving the file system on memfd arena "${target.name}" failed (errno ${-rc}); nothing preserved`);
    target.arena.sync();
    const t1 = performance.now();
    const sfd = luo.createSession(luoSessionName(target.name));
    try {
      luo.preserveFd(sfd, target.arena.fd, luo.PRAM_LUO_TOKEN);
    } catch (e) {
      fs.closeSync(sfd);
      throw e;
    }
    sessionFd = sfd;
    target.freeze?.();
    const t2 = performance.now();
    log(`luo: memfd arena "${target.name}" (${target.arena.sizeBytes} bytes) preserved in session ${luoSessionName(target.name)}, token 0x${luo.PRAM_LUO_TOKEN.toString(16)}`);
    return { ok: true, session: luoSessionName(target.name), token: `0x${luo.PRAM_LUO_TOKEN.toString(16)}`, bytes: target.arena.sizeBytes,
      saveMs: Math.round(t1 - t0), preserveMs: Math.round(t2 - t1) };
  };

  const handle = (req: { op?: string }): object => {
    switch (req.op) {
      case 'preserve': return preserve();
      case 'cancel': {
        const was = sessionFd >= 0;
        drop();
        if (was) { target.thaw?.(); log(`luo: preservation of "${target.name}" cancelled`); }
        return { ok: true };
      }
      case 'status': return { ok: true, name: target.name, preserved: sessionFd >= 0, bytes: target.arena.sizeBytes, mount: target.mountDir };
      default: return { ok: false, code: 'EINVAL', message: `unknown request ${JSON.stringify(req.op)}` };
    }
  };

  const server = net.createServer((conn) => {
    let buf = '';
    conn.setEncoding('utf8');
    conn.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > REQUEST_BYTES_MAX) { conn.destroy(); return; }
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: object;
      try {
        reply = handle(JSON.parse(buf.slice(0, nl)) as { op?: string });
      } catch (e) {
        const err = e as { code?: string; message?: string };
        reply = { ok: false, code: err.code ?? 'EIO', message: err.message ?? String(e) };
      }
      conn.end(JSON.stringify(reply) + '\n');
    });
    conn.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(socketPath, () => { server.off('error', reject); resolve(); });
  });
  fs.chmodSync(socketPath, 0o600);
  server.unref(); // the mount, not this socket, keeps the process alive

  return {
    socketPath,
    get preserved() { return sessionFd >= 0; },
    close() {
      server.close();
      fs.rmSync(socketPath, { force: true });
      drop();
    },
  };
}

/** One request on a control socket; resolves with the parsed reply. */
export function request(socketPath: string, op: string, timeoutMs: number): Promise<{ ok: boolean; code?: string; message?: string; [k: string]: unknown }> {
  return new Promise((resolve, reject) => {
    const conn = net.connect(socketPath);
    let buf = '';
    const timer = setTimeout(() => { conn.destroy(); reject(new LuoKexecError('ETIMEDOUT', `no answer from ${socketPath} to "${op}" within ${timeoutMs} ms`)); }, timeoutMs);
    conn.setEncoding('utf8');
    conn.on('connect', () => conn.write(JSON.stringify({ op }) + '\n'));
    conn.on('data', (chunk: string) => { buf += chunk; });
    conn.on('end', () => {
      clearTimeout(timer);
      try { resolve(JSON.parse(buf)); } catch { reject(new LuoKexecError('EPROTO', `bad answer from ${socketPath}: ${JSON.stringify(buf.slice(0, 200))}`)); }
    });
    conn.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new LuoKexecError(e.code ?? 'EIO', `cannot reach the pram server at ${socketPath}: ${e.message}`));
    });
  });
}

async function ping(socketPath: string): Promise<boolean> {
  try { return (await request(socketPath, 'status', 2000)).ok; } catch { return false; }
}

export interface LuoKexecOptions {
  kernel: string;
  initrd?: string;
  /** The next kernel's command line; default: this kernel's (/proc/cmdline). */
  append?: string;
  dir?: string;
  log?: (line: string) => void;
  /** Load only; do not jump (for checking a setup). */
  loadOnly?: boolean;
}

/**
 * Preserves every mounted memfd arena, loads KERNEL and kexecs. Returns only with
 * loadOnly, or throws (after cancelling the preservations) when anything fails.
 */
export async function luoKexec(opts: LuoKexecOptions): Promise<void> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const dir = opts.dir ?? LUO_CONTROL_DIR;
  for (const [what, path] of [['kernel', opts.kernel], ['initrd', opts.initrd]] as const) {
    if (path !== undefined && !isReadableFile(path)) throw new LuoKexecError('ENOENT', `${what} ${path} is not a readable file`);
  }
  if (!fs.existsSync(luo.LUO_DEVICE)) throw new LuoKexecError('ENODEV', NO_LUO);
  const kexecBin = findKexec();
  if (!kexecBin) throw new LuoKexecError('ENOENT', NO_KEXEC);
  const sockets = fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.sock')).map((n) => join(dir, n)) : [];
  if (sockets.length === 0) {
    throw new LuoKexecError('ENOENT', `no pram mount with a memfd arena is running (no control socket in ${dir}); mount one with --arena memfd:NAME first`);
  }
  const preserved: string[] = [];
  const cancelAll = async (): Promise<void> => {
    for (const s of preserved) await request(s, 'cancel', CANCEL_TIMEOUT_MS).catch(() => {});
  };
  try {
    for (const s of sockets) {
      const st = await request(s, 'status', CANCEL_TIMEOUT_MS);
      if (typeof st.mount === 'string') flushMount(st.mount, log);
      const r = await request(s, 'preserve', PRESERVE_TIMEOUT_MS);
      if (!r.ok) throw new LuoKexecError(r.code ?? 'EIO', `${s}: ${r.message}`);
      preserved.push(s);
      log(`pram: preserved ${String(r.session)} (${String(r.bytes)} bytes, token ${String(r.token ?? '')}; save ${String(r.saveMs ?? 0)} ms, preserve ${String(r.preserveMs ?? 0)} ms)`);
    }
    const append = opts.append ?? fs.readFileSync('/proc/cmdline', 'utf8').trim();
    const args = ['-s', '-l', opts.kernel, `--command-line=${append}`];
    if (opts.initrd) args.push(`--initrd=${opts.initrd}`);
    const load = spawnSync(kexecBin, args, { encoding: 'utf8' });
    if (load.status !== 0) {
      const why = (load.stderr || load.stdout || String(load.error ?? '')).trim().replace(/\n/g, '; ');
      throw new LuoKexecError('EKEXEC', `the kernel refused to load ${opts.kernel} with kexec_file_load (${kexecBin} ${args.join(' ')}): ${why}` +
        ' — the image must be a relocatable bzImage, and kernels with lockdown or KEXEC_SIG_FORCE need a signed one');
    }
    if (opts.loadOnly) { log(`pram: ${opts.kernel} loaded; not jumping (--load-only)`); return; }
    log(`pram: kexec into ${opts.kernel}`);
    const jump = spawnSync(kexecBin, ['-e'], { encoding: 'utf8' });
    throw new LuoKexecError('EKEXEC', `kexec -e returned (${jump.status}): ${(jump.stderr || '').trim()}`);
  } catch (e) {
    await cancelAll();
    throw e;
  }
}

/** syncfs(2) on the mount (coreutils `sync -f`): the kernel hands its cached writes to the server. */
function flushMount(dir: string, log: (line: string) => void): void {
  const r = spawnSync('sync', ['-f', dir], { encoding: 'utf8', timeout: PRESERVE_TIMEOUT_MS });
  if (r.status !== 0) log(`pram: warning: sync -f ${dir} failed (${(r.stderr || String(r.error ?? r.status)).trim()}); writes still cached by the kernel may miss the save`);
}

function isReadableFile(path: string): boolean {
  try { return fs.statSync(path).isFile() && (fs.accessSync(path, fs.constants.R_OK), true); } catch { return false; }
}

/** The kexec binary on PATH or in the sbin directories, or null. */
export function findKexec(path = process.env.PATH ?? ''): string | null {
  const dirs = [...path.split(delimiter).filter(Boolean), '/usr/local/sbin', '/usr/sbin', '/sbin'];
  for (const d of dirs) {
    const p = join(d, 'kexec');
    try { fs.accessSync(p, fs.constants.X_OK); if (fs.statSync(p).isFile()) return p; } catch { /* next */ }
  }
  return null;
}

/** The same error text for every command that needs kexec-tools. */
export const NO_KEXEC = 'kexec-tools is not installed (no kexec on PATH or in /sbin): apt-get install kexec-tools';

// restoreLuoArena lives in mem/luo.ts (the opener uses it); re-exported for the luo tests.
export { restoreLuoArena, type RestoredLuoArena } from '../mem/luo.js';

// pram mount DIR — serve an arena as a real file system (FUSE). Without
// --foreground the command starts itself again as a detached server with
// --foreground and a readiness pipe on fd 3, waits for "ready" (or the error),
// and returns like sshfs; the server runs until `pram umount DIR`, umount(8),
// SIGTERM or SIGINT, then saves a checkpoint and exits. fuse/ speaks the
// protocol; this file is the process around it.
//
// Linux Live Update: a memfd arena lives only in this server process, so the
// server is the one that must hand it to the next kernel. For memfd:NAME and
// luo:NAME it listens on the control socket /run/pram/luo/NAME.sock
// (src/open/luo-control.ts): `pram kexec --luo` connects there and asks it to
// save and preserve the memfd in the LUO session pram:NAME (or to cancel).
// A socket, not a control file in the mount, because the request must reach
// the process that holds the fd even while the mount is busy or frozen, and
// because the answer (ok, or why not) has to come back to the kexec command.
// After the kexec, luo:NAME retrieves that session's memfd, loads the image and
// only then finishes the session.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { EXIT, fail, formatSize, parseDuration, parseSize, errnoName, usageError } from '../util.js';
import { DEFAULT_ARENA } from '../../open/arena.js';
import { openVolume, type OpenedVolume } from '../../open/volume.js';
import { wallClock } from '../../open/clock.js';
import { serve, type FuseServer } from '../../fuse/server.js';
import { KERNEL_FLAGS, findMount } from '../../fuse/kmount.js';
import { alive, arenaId, readRun, removeRun, runDir, runPath, writeRun } from '../runfile.js';
import { serveLuoControl, type LuoControlServer } from '../../open/luo-control.js';
import { SAVE_SIGNAL, writeSaveReport } from '../save-report.js';
import { notify } from '../../mem/sd-notify.js';
import { URING_MODES, type UringMode } from '../../fuse/uring.js';

export { DEFAULT_ARENA };
/** How long the parent waits for the server to say ready (a big arena's full verify takes a while). */
export const READY_WAIT_MS_MAX = 10 * 60_000;

interface MountOpts {
  arena: string; size?: string; verify: 'full' | 'lazy'; foreground?: boolean; debug?: boolean;
  allowOther?: boolean; readyFd?: string; checkpointInterval: string; writeback: 'headroom' | 'off'; mountOptions?: string;
  ioUring: UringMode;
}

/** `pram mount`'s default interval (the library's CHECKPOINT_INTERVAL_MS_DEFAULT, in --checkpoint-interval's words). */
export const CHECKPOINT_INTERVAL_DEFAULT = '5s';

export function register(program: Command): void {
  program.command('mount')
    .description('mount an arena as a file system (FUSE); returns once the mount is ready, the server runs in the background')
    .argument('<dir>', 'mount point (an existing directory)')
    .addHelpText('after', `
Saving: fsync/fdatasync of a file or directory, sync(1), sync -f (syncfs), the
checkpoint interval, pram umount and SIGTERM each save a checkpoint; a killed
server comes back to the last one (docs/RELIABILITY.md has the table).

Examples:
  $ pram mount /mnt/pram                                   # the default arena, ${DEFAULT_ARENA}
  $ pram mount /mnt/pram --arena /dev/shm/work.pram --size 4G
  $ pram mount /mnt/pram --arena /dev/pmem0 --verify lazy
  $ pram mount /mnt/pram --arena memfd:data --size 1G      # no file; kept across a kexec by pram kexec --luo
  $ pram mount /mnt/pram --arena luo:data                  # in the next kernel, after pram kexec --luo
  $ pram mount /mnt/pram --checkpoint-interval 500ms       # a killed server loses at most ~0.5 s of what reached it
`)
    .option('--arena <path>', 'arena file or device; memfd:NAME (a new memfd, needs --size); luo:NAME (memfd NAME handed over by Live Update)', DEFAULT_ARENA)
    .option('--size <size>', 'create the arena with this size when it does not exist (e.g. 1G)')
    .addOption(new Option('--verify <mode>', 'check every page at mount (full) or on first use (lazy)').choices(['full', 'lazy']).default('full'))
    .option('--foreground', 'serve in this process until unmounted')
    .option('--debug', 'trace every FUSE message (rx/tx lines) to stderr or the server log')
    .option('--allow-other', 'let users other than the mounting one use the mount')
    .option('--checkpoint-interval <time>', 'save a checkpoint this often when something changed (500ms, 5s, 1m; 0 or off: only on fsync, sync, umount)', CHECKPOINT_INTERVAL_DEFAULT)
    .addOption(new Option('--writeback <mode>', 'let the kernel cache writes while free space is ample (headroom), or never (off: every write() reaches the server)').choices(['headroom', 'off']).default('headroom'))
    .addOption(new Option('--io-uring <mode>', 'FUSE over io_uring: when the kernel offers it (auto), required (on: fail if it cannot be used), never (off); default PRAM_IO_URING, else auto')
      .choices(URING_MODES as string[]).default(URING_MODES.includes(process.env.PRAM_IO_URING as UringMode) ? process.env.PRAM_IO_URING : 'auto'))
    .option('--mount-options <list>', 'kernel mount flags for mount(8), comma-separated: ro, nosuid, nodev, noexec, noatime, ...')
    .addOption(new Option('--ready-fd <fd>').hideHelp())
    .action(async (dir: string, opts: MountOpts) => {
      try {
        parseDuration(opts.checkpointInterval, '--checkpoint-interval');   // a bad value stops here, exit 2
        const abs = path.resolve(dir);
        if (!fs.statSync(abs).isDirectory()) throw new Error(`${abs} is not a directory`);
        kernelFlags(opts.mountOptions);   // a bad flag is a usage error here, not in the detached server
        const run = readRun(abs);
        if (run && alive(run.pid) && findMount(abs)) throw Object.assign(new Error(`${abs} is already served by pram (pid ${run.pid}, arena ${run.arena})`), { code: 'EBUSY' });
        if (opts.foreground) await runServer(abs, opts);
        else await startDaemon(abs, opts);
      } catch (e) {
        fail(e);
      }
    });
}

/** Start the server detached and wait for its "ready" line on fd 3. */
async function startDaemon(dir: string, opts: MountOpts): Promise<void> {
  fs.mkdirSync(runDir(), { recursive: true });
  const logPath = runPath(dir, 'log');
  const logFd = fs.openSync(logPath, 'a');
  const args = [process.argv[1]!, 'mount', dir, '--foreground', '--ready-fd', '3', '--arena', opts.arena, '--verify', opts.verify];
  if (opts.size) args.push('--size', opts.size);
  if (opts.debug) args.push('--debug');
  if (opts.allowOther) args.push('--allow-other');
  args.push('--checkpoint-interval', opts.checkpointInterval);
  args.push('--writeback', opts.writeback);
  args.push('--io-uring', opts.ioUring);
  if (opts.mountOptions) args.push('--mount-options', opts.mountOptions);
  const child = spawn(process.execPath, args, {
    detached: true, cwd: '/', stdio: ['ignore', logFd, logFd, 'pipe'],
    // Each waiting /dev/fuse read holds a pool thread; leave room for the rest.
    env: { ...process.env, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? '8' },
  });
  fs.closeSync(logFd);
  const pipe = child.stdio[3] as NodeJS.ReadableStream;
  const said = await new Promise<string>((resolve) => {
    let text = '';
    const timer = setTimeout(() => resolve(`error: no answer from the server within ${READY_WAIT_MS_MAX / 1000} s (log: ${logPath})`), READY_WAIT_MS_MAX);
    pipe.on('data', (d: Buffer) => { text += d.toString(); });
    pipe.on('end', () => { clearTimeout(timer); resolve(text.trim()); });
    child.on('exit', (code) => { clearTimeout(timer); setTimeout(() => resolve(text.trim() || `error: the server exited (${code}) before it was ready; see ${logPath}`), 50); });
  });
  const lines = said.split('\n');
  const ready = lines.find((l) => l.startsWith('ready'));
  for (const l of lines) if (l.startsWith('note: ')) process.stdout.write(`pram: ${l.slice(6)}\n`);
  const transport = lines.find((l) => l.startsWith('transport: '))?.slice(11);
  if (opts.debug && transport) process.stdout.write(`pram: requests by ${transport}\n`);
  if (!ready) {
    const err = lines.find((l) => l.startsWith('error: '))?.slice(7) ?? (said || `the server did not start; see ${logPath}`);
    throw new Error(err);
  }
  child.unref();
  (pipe as unknown as { destroy(): void }).destroy();
  process.stdout.write(`pram: mounted ${opts.arena} on ${dir} (server pid ${child.pid}, log ${logPath})\n`);
  process.exit(EXIT.ok);
}

/** --mount-options as a list of kernel flags; anything else is a usage error naming it. */
export function kernelFlags(list: string | undefined): string[] {
  const flags = (list ?? '').split(',').filter((f) => f !== '');
  const bad = flags.find((f) => !KERNEL_FLAGS.has(f));
  if (bad !== undefined) throw usageError(`--mount-options: '${bad}' is not a kernel mount flag (known: ${[...KERNEL_FLAGS].join(', ')})`);
  return flags;
}

/** Serve in this process until the mount goes away; save on the way out. */
async function runServer(dir: string, opts: MountOpts): Promise<void> {
  const readyFd = opts.readyFd !== undefined ? Number(opts.readyFd) : null;
  const say = (line: string) => { if (readyFd !== null) try { fs.writeSync(readyFd, line + '\n'); } catch { /* parent gone */ } };
  const log = (line: string) => process.stderr.write(line + '\n');
  try {
    const sizeBytes = opts.size ? parseSize(opts.size, '--size') : undefined;
    const intervalMs = parseDuration(opts.checkpointInterval, '--checkpoint-interval');
    if (opts.arena.startsWith('luo:') && sizeBytes !== undefined) throw usageError(`${opts.arena} comes from the previous kernel: it has its size already (leave out --size)`);
    // The one opener: a luo: arena's session is restored there and finished once the image is loaded.
    const opened: OpenedVolume = openVolume({
      arena: opts.arena, create: sizeBytes !== undefined ? { sizeBytes } : undefined, verify: opts.verify, clock: wallClock(), log,
      owner: { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 },
    });
    const { volume, arena } = opened;
    const { created } = arena;
    const luoName = arena.name.kind === 'path' ? undefined : arena.name.name;
    if (arena.name.kind === 'luo') log(`pram: LUO session pram:${luoName} finished; ${opts.arena} is an ordinary memfd of this server now`);
    let server: FuseServer;
    try {
      server = await serve({
        dir, volume, clock: wallClock(), allowOther: opts.allowOther, writeback: opts.writeback, log, trace: opts.debug ? log : undefined,
        checkpointIntervalMs: intervalMs, ioUring: opts.ioUring,
        fsname: arenaId(opts.arena), flags: kernelFlags(opts.mountOptions),
      });
    } catch (e) {
      volume.unmount();
      throw e;
    }
    let control: LuoControlServer | null = null;
    if (luoName !== undefined) {
      try {
        control = await serveLuoControl({ name: luoName, arena: arena.mem, save: () => volume.sync(), mountDir: dir, log });
      } catch (e) {
        await server.unmount({ lazy: true });
        volume.unmount();
        throw e;
      }
      log(`pram: LUO control socket ${control.socketPath} (pram kexec --luo preserves ${opts.arena} through it)`);
    }
    for (const loss of volume.losses) say(`note: lost: ${loss.path ?? '?'}: ${loss.what}`);
    if (created) say(`note: created arena ${opts.arena} (${formatSize(volume.mem.pageCount * volume.mem.pageSize)})`);
    if (server.mounted.fallback) {
      say(`note: mounted as fuse, not fuseblk (${server.mounted.fallback.split('\n')[0]}): sync(2) and syncfs(2) do not reach pram; ` +
        `fsync files or directories${intervalMs > 0 ? `, or rely on the ${opts.checkpointInterval} checkpoint interval` : ''}`);
    }
    writeRun({
      pid: process.pid, dir, arena: arenaId(opts.arena), log: readyFd !== null ? runPath(dir, 'log') : null, startedMs: Date.now(),
      syncfs: server.mounted.kind === 'fuseblk', checkpointIntervalMs: intervalMs, transport: server.transport,
    });
    installSignals(server, volume, dir, log);
    log(`pram: serving ${opts.arena} on ${dir} (pid ${process.pid}; ${server.mounted.kind}, sync(2)/syncfs(2) ${server.mounted.kind === 'fuseblk' ? 'checkpoint' : 'do not reach the server'}; ` +
      `checkpoint interval ${intervalMs > 0 ? `${intervalMs} ms` : 'off'}; requests by ${server.transport})`);
    say(`transport: ${server.transport}`);
    say('ready');
    if (readyFd !== null) fs.closeSync(readyFd);
    // Under systemd (Type=notify): a memfd arena is in the FD store already (src/mem/fdstore.ts).
    try { notify(`READY=1\nSTATUS=serving ${opts.arena} on ${dir}`); } catch (e) { log(`pram: ${(e as Error).message}`); }
    const end = await server.ended.catch((e: Error) => { log(`pram: /dev/fuse failed: ${e.message}`); return 'unmounted'; });
    const served = server.served();
    if (opts.debug) log(`pram: served ${served.uring} requests by io_uring, ${served.dev} by /dev/fuse`);
    control?.close();
    const r = volume.unmount();
    writeSaveReport(dir, { pid: process.pid, errno: r, final: true });
    removeRun(dir, process.pid);
    if (r < 0) {
      log(`pram: final save of ${opts.arena} failed: ${errnoName(r)}; the previous checkpoint is intact`);
      process.exit(EXIT.error);
    }
    log(`pram: ${end}; saved ${opts.arena}`);
    process.exit(EXIT.ok);
  } catch (e) {
    const err = e as Error & { code?: string };
    say(`error: ${err.code && !err.message.includes(err.code) ? err.code + ': ' : ''}${err.message.split('\n')[0]}`);
    throw e;
  }
}

/** SIGTERM/SIGINT: unmount (the kernel flushes cached writes to us first), then the loop ends and we save. */
function installSignals(server: FuseServer, volume: { sync(): number }, dir: string, log: (l: string) => void): void {
  let asked = false;
  const stop = async (sig: string) => {
    if (asked) return;
    asked = true;
    log(`pram: ${sig}: unmounting ${dir}`);
    try { notify(`STOPPING=1\nSTATUS=${sig}: unmounting ${dir}, then a final checkpoint`); } catch { /* the manager is going away */ }
    const r = await server.unmount();
    if (r.ok) return;
    // Busy: save what we have now, then detach; the kernel lets go when the last user does.
    log(`pram: umount ${dir}: ${r.message}; saving now and detaching lazily`);
    const s = volume.sync();
    if (s < 0) log(`pram: save failed: ${errnoName(s)}`);
    const l = await server.unmount({ lazy: true });
    if (!l.ok) log(`pram: umount -l ${dir}: ${l.message}`);
  };
  // pram umount asks for a checkpoint before it unmounts: a save that cannot be made leaves the mount up.
  process.on(SAVE_SIGNAL, () => writeSaveReport(dir, { pid: process.pid, errno: volume.sync(), final: false }));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

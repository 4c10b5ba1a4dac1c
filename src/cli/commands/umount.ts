// pram umount DIR — save and unmount a mount made by `pram mount`, returning
// when the save is done: umount(8) makes the kernel flush its cached writes to
// the server and end the connection; the server then checkpoints and exits,
// and we wait for that exit. A mount whose server died is detached all the
// same (umount -l), with a word on what was lost: nothing that was synced.
import type { Command } from 'commander';
import { EXIT, fail } from '../util.js';
import { findMount, isPramMount, kernelUnmount } from '../../fuse/kmount.js';
import { alive, readRun, removeRun } from '../runfile.js';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { errnoName } from '../../format/errno.js';
import { SAVE_SIGNAL, clearSaveReport, readSaveReport, type SaveReport } from '../save-report.js';

/** How long to wait for the server's final save (a large arena checksums every dirty page). */
export const SAVE_WAIT_MS_MAX = 10 * 60_000;
const POLL_MS = 50;

export function register(program: Command): void {
  program.command('umount')
    .description('save and unmount a pram mount; returns when the save is done')
    .addHelpText('after', `
Examples:
  $ pram umount /mnt/pram
  $ pram umount --lazy /mnt/pram     # files still open: detach now, save when the last one closes

A memfd:NAME or luo:NAME arena ends with its server; to carry it into a new
kernel, run pram kexec --luo instead of unmounting.
`)
    .argument('<dir>', 'mount point')
    .option('--lazy', 'detach even when files are still open (the save happens when the last user lets go)')
    .action(async (dir: string, opts: { lazy?: boolean }) => {
      try {
        process.exit(await umount(path.resolve(dir), opts));
      } catch (e) {
        fail(e);
      }
    });
}

/**
 * Flush the kernel's cached writes to the server (syncfs), then ask the server
 * for a checkpoint and wait for its report. A save that fails throws: the
 * mount stays up, nothing acknowledged is given up.
 */
async function saveFirst(dir: string, pid: number, arena: string): Promise<void> {
  // On fuseblk the syncfs is itself a checkpoint and fails as the save below would: the report names why.
  spawnSync('sync', ['-f', dir], { stdio: 'ignore' });
  clearSaveReport(dir);
  process.kill(pid, SAVE_SIGNAL);
  const deadline = Date.now() + SAVE_WAIT_MS_MAX;
  let rep: SaveReport | null;
  while (!(rep = readSaveReport(dir, pid))) {
    if (!alive(pid)) throw new Error(`server ${pid} exited while saving ${arena}; ${dir} was not unmounted by pram`);
    if (Date.now() > deadline) throw new Error(`server ${pid} did not save ${arena} within ${SAVE_WAIT_MS_MAX / 1000} s; ${dir} stays mounted`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  if (rep.errno < 0) {
    throw Object.assign(new Error(`cannot save ${arena} (${errnoName(rep.errno)}); ${dir} stays mounted: free some space in it and try again (umount -l gives up what was written since the last checkpoint)`), { code: errnoName(rep.errno) });
  }
}

async function umount(dir: string, opts: { lazy?: boolean }): Promise<number> {
  const run = readRun(dir);
  const mounted = findMount(dir);
  if (run && alive(run.pid)) {
    const durable = !/^(memfd|luo):/.test(run.arena);
    if (mounted && durable) await saveFirst(dir, run.pid, run.arena);
    if (mounted) {
      if (durable) clearSaveReport(dir);
      const r = await kernelUnmount(dir, { lazy: opts.lazy });
      if (!r.ok) throw Object.assign(new Error(`umount ${dir}: ${r.message} (files open? close them, or use --lazy)`), { code: 'EBUSY' });
    } else {
      process.kill(run.pid, 'SIGTERM');   // not mounted but alive: mid-start or mid-exit; let it finish
    }
    const deadline = Date.now() + SAVE_WAIT_MS_MAX;
    while (alive(run.pid)) {
      if (Date.now() > deadline) throw new Error(`server ${run.pid} did not finish saving within ${SAVE_WAIT_MS_MAX / 1000} s; it is still running`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    if (/^(memfd|luo):/.test(run.arena)) {
      // Nothing else holds the memfd: only `pram kexec --luo` carries it further.
      process.stdout.write(`pram: unmounted ${dir}; memfd arena ${run.arena} ended with its server\n`);
    } else {
      const rep = readSaveReport(dir, run.pid);
      if (!rep || rep.errno < 0) {
        throw Object.assign(new Error(`unmounted ${dir}, but the final save of ${run.arena} ${rep ? `failed (${errnoName(rep.errno)})` : 'was not reported'}: ` +
          'it holds the checkpoint umount made just before (writes flushed at unmount may be missing)'), { code: rep ? errnoName(rep.errno) : 'EIO' });
      }
      process.stdout.write(`pram: saved ${run.arena} and unmounted ${dir}\n`);
    }
    return EXIT.ok;
  }
  if (!mounted) {
    if (run) removeRun(dir, run.pid);
    throw Object.assign(new Error(`${dir} is not mounted`), { code: 'EINVAL' });
  }
  if (!isPramMount(mounted)) {
    throw Object.assign(new Error(`${dir} is a ${mounted.fsType} mount of ${mounted.source}, not pram's`), { code: 'EINVAL' });
  }
  // The server is gone: the kernel already aborted the connection; detach the corpse.
  const r = await kernelUnmount(dir, { lazy: true });
  if (!r.ok) throw new Error(`umount -l ${dir}: ${r.message}`);
  if (run) removeRun(dir, run.pid);
  const arena = run?.arena ?? 'the arena';
  process.stdout.write(
    `pram: the server${run ? ` (pid ${run.pid})` : ''} of ${dir} had died; cleared the mount.\n` +
    `pram: ${arena} holds its last checkpoint intact: ${checkpointWords(run)}. ` +
    `What was written after it is lost. Mount again to get it back.\n`);
  return EXIT.ok;
}

/** What saved checkpoints on that mount, as far as its run file says (older run files say less). */
function checkpointWords(run: ReturnType<typeof readRun>): string {
  const what = ['fsync/fdatasync of a file or directory'];
  if (run?.syncfs) what.push('sync/syncfs');
  if (run?.checkpointIntervalMs) what.push(`${run.checkpointIntervalMs} ms interval checkpoint`);
  const last = what.length > 1 ? `${what.slice(0, -1).join(', ')} or ${what.at(-1)}` : what[0];
  return `the one saved by the last ${last} before the crash` +
    (run?.syncfs === false ? ' (sync and syncfs did not reach this mount: it was fuse, not fuseblk)' : '');
}

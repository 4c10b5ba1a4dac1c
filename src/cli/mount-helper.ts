// mount.fuse.pram: what util-linux mount(8) runs for `mount -t fuse.pram ARENA
// DIR` and for an /etc/fstab line of type fuse.pram. mount(8) calls
// /sbin/mount.fuse.pram SPEC DIR [-sfnv] [-o OPTIONS] [-N NS] [-t TYPE]; this
// turns the call into `pram mount DIR --arena SPEC ...` and exits with mount(8)'s
// codes (0 mounted, 1 bad usage, 32 mount failure). umount.fuse.pram, which
// umount(8) runs, is `pram umount` (it returns once the server has saved).
// Installing both where mount(8) looks is `pram install-mount-helper`'s job.
import * as path from 'node:path';
import { KERNEL_FLAGS, findMount, isPramMount } from '../fuse/kmount.js';
import { alive, readRun } from './runfile.js';

export const HELPER_NAME = 'mount.fuse.pram';
export const UMOUNT_HELPER_NAME = 'umount.fuse.pram';
/** umount(8) looks a helper up by the mounted type, which is fuseblk.pram where fuseblk works. */
export const UMOUNT_HELPER_NAMES = [UMOUNT_HELPER_NAME, 'umount.fuseblk.pram'] as const;
/** mount(8)'s exit codes for a helper. */
export const MOUNT_EXIT = { ok: 0, usage: 1, failure: 32 } as const;

/** Options fstab and libmount carry that are mount(8)'s or systemd's business, not the file system's. */
const USERSPACE = /^(defaults|auto|noauto|nofail|_netdev|user|users|nouser|owner|group|comment=.*|x-.*)$/;

export interface HelperCall {
  /** `pram mount` arguments (after `mount`). */
  args: string[];
  /** -f: fake, do everything but mount. */
  fake: boolean;
  verbose: boolean;
}

/** Parse a helper command line; throws an Error (for exit 1) naming what is wrong. */
export function parseHelperArgs(argv: readonly string[]): HelperCall {
  const pos: string[] = [];
  const opts: string[] = [];
  let sloppy = false, fake = false, verbose = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-o') { const v = argv[++i]; if (v === undefined) throw new Error('-o needs a value'); opts.push(...v.split(',')); }
    else if (a.startsWith('-o') && a.length > 2) opts.push(...a.slice(2).split(','));
    else if (a === '-t' || a === '-N') { if (argv[++i] === undefined) throw new Error(`${a} needs a value`); }
    else if (/^-[sfnv]+$/.test(a)) { sloppy ||= a.includes('s'); fake ||= a.includes('f'); verbose ||= a.includes('v'); }
    else if (a.startsWith('-')) throw new Error(`unknown flag ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) throw new Error(`usage: ${HELPER_NAME} ARENA DIR [-sfnv] [-o OPTIONS]`);
  const [spec, dir] = pos as [string, string];
  const args = [dir, '--arena', spec];
  const flags: string[] = [];
  for (const o of opts) {
    if (o === '' || USERSPACE.test(o)) continue;
    const [key, value] = splitOption(o);
    if (key === 'allow_other' && value === undefined) args.push('--allow-other');
    else if (key === 'debug' && value === undefined) args.push('--debug');
    else if ((key === 'size' || key === 'verify') && value) args.push(`--${key}`, value);
    else if (KERNEL_FLAGS.has(o)) flags.push(o);
    else if (!sloppy) throw new Error(`unknown option '${o}' (pram's: size=SIZE, verify=full|lazy, allow_other, debug; kernel flags: ${[...KERNEL_FLAGS].join(', ')})`);
  }
  if (flags.length > 0) args.push('--mount-options', flags.join(','));
  return { args, fake, verbose };
}

function splitOption(o: string): [string, string | undefined] {
  const eq = o.indexOf('=');
  return eq < 0 ? [o, undefined] : [o.slice(0, eq), o.slice(eq + 1)];
}

/** umount(8)'s helper call, DIR [-flnrv] [-N NS] [-t TYPE], as `pram umount` arguments. */
export function parseUmountHelperArgs(argv: readonly string[]): string[] {
  const pos: string[] = [];
  let lazy = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-t' || a === '-N') { if (argv[++i] === undefined) throw new Error(`${a} needs a value`); }
    else if (/^-[flnrv]+$/.test(a)) lazy ||= a.includes('l');
    else if (a.startsWith('-')) throw new Error(`unknown flag ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 1) throw new Error(`usage: ${UMOUNT_HELPER_NAME} DIR [-flnrv]`);
  return lazy ? [pos[0]!, '--lazy'] : [pos[0]!];
}

/**
 * True when pram already serves `spec` on `dir`. A fuseblk mount's source is
 * its loop device, so `mount -a` cannot match it to the fstab line and runs
 * the helper again: that is success, as mount(8) treats a mounted line.
 */
export function alreadyServed(spec: string, dir: string): boolean {
  const abs = path.resolve(dir);
  const m = findMount(abs);
  const run = readRun(abs);
  if (!m || !isPramMount(m) || !run || !alive(run.pid)) return false;
  return run.arena === spec || (!/^(memfd|luo):/.test(spec) && path.resolve(run.arena) === path.resolve(spec));
}

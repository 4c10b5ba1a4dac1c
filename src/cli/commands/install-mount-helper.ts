// pram install-mount-helper — put mount.fuse.pram and umount.fuse.pram where
// util-linux mount(8) and umount(8) look for helpers (/sbin, then /sbin/fs.d
// and /sbin/fs), so that `mount -t fuse.pram ARENA DIR`, fstab lines of type
// fuse.pram and `umount DIR` work as for any file system. npm installs bin/
// somewhere on PATH, never in /sbin: this writes a short script there naming
// this node and this package's helper by absolute path (at boot, mount units
// run with a short PATH). Units are install-units' job.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { fail } from '../util.js';
import { HELPER_NAME, UMOUNT_HELPER_NAME, UMOUNT_HELPER_NAMES } from '../mount-helper.js';

export const HELPER_DIR = '/sbin';
const MARK = '# installed by pram install-mount-helper';

export function register(program: Command): void {
  program.command('install-mount-helper')
    .description(`install ${HELPER_NAME} and ${UMOUNT_HELPER_NAME} for mount(8): mount -t fuse.pram ARENA DIR, and fstab lines`)
    .addHelpText('after', `
Examples:
  $ pram install-mount-helper      # as root: /sbin/mount.fuse.pram, /sbin/umount.fuse.pram
  $ mount -t fuse.pram -o size=1G,allow_other /dev/shm/pram.arena /mnt/pram
  $ umount /mnt/pram               # returns once the server has saved (pram umount)
  $ pram install-mount-helper --remove
  # /etc/fstab:
  /dev/shm/pram.arena  /mnt/pram  fuse.pram  size=1G,allow_other,nofail  0 0

Options in -o and fstab: size=SIZE, verify=full|lazy, allow_other, debug, and
kernel flags (ro, nosuid, nodev, noexec, noatime, ...).
`)
    .option('--dir <dir>', 'where mount(8) looks for helpers', HELPER_DIR)
    .option('--remove', 'remove the helpers (only ones this command wrote)')
    .action((opts: { dir: string; remove?: boolean }) => {
      try {
        const helpers: [string, string][] = [[HELPER_NAME, HELPER_NAME], ...UMOUNT_HELPER_NAMES.map((n): [string, string] => [n, UMOUNT_HELPER_NAME])];
        for (const [name, script] of helpers) {
          const target = path.join(opts.dir, name);
          process.stdout.write(opts.remove ? removeHelper(target) : installHelper(target, script));
        }
      } catch (e) {
        fail(e);
      }
    });
}

/** The script mount(8) runs: this node and this package's bin/NAME.mjs. */
export function helperScript(name: string): string {
  const helper = fileURLToPath(new URL(`../../../bin/${name}.mjs`, import.meta.url));
  if (!fs.existsSync(helper)) throw new Error(`${helper} is missing from the package`);
  return `#!/bin/sh\n${MARK}\nexec '${process.execPath}' '${helper}' "$@"\n`;
}

function installHelper(target: string, name: string): string {
  const old = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : null;
  if (old !== null && !old.includes(MARK)) throw Object.assign(new Error(`${target} exists and was not written by pram; not replacing it`), { code: 'EEXIST' });
  fs.writeFileSync(`${target}.tmp`, helperScript(name), { mode: 0o755 });
  fs.renameSync(`${target}.tmp`, target);
  return `pram: installed ${target}\n`;
}

function removeHelper(target: string): string {
  if (!fs.existsSync(target)) return `pram: ${target} is not installed\n`;
  if (!fs.readFileSync(target, 'utf8').includes(MARK)) throw Object.assign(new Error(`${target} was not written by pram; not removing it`), { code: 'EEXIST' });
  fs.unlinkSync(target);
  return `pram: removed ${target}\n`;
}

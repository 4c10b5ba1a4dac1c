// pram get SRC DEST — copy a file or tree out of the arena onto the host.
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_ARENA, getTree, withMount, type CopyCount } from '../../api/index.js';
import { fail, formatSize } from '../util.js';

export function register(program: Command): void {
  program.command('get')
    .description('copy a file or directory tree out of the arena')
    .addHelpText('after', '\nExamples:\n  $ pram get /data ./restored\n  $ pram get /data/config.json .\n')
    .argument('<src>', 'path in the arena')
    .argument('<dest>', 'host path (an existing directory receives SRC by its name)')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (src: string, dest: string, opts: { arena: string; cmdline?: string }) => {
      try {
        const count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 };
        const target = fs.existsSync(dest) && fs.statSync(dest).isDirectory() ? nodePath.join(dest, nodePath.posix.basename(src) || 'root') : dest;
        await withMount({ arena: opts.arena, cmdline: opts.cmdline, readOnly: true }, (pfs) => getTree(pfs, src, target, count), { save: false });
        process.stdout.write(`got ${count.files} files, ${count.dirs} directories, ${count.links} symlinks, ${formatSize(count.bytes)}\n`);
      } catch (e) {
        fail(e);
      }
    });
}

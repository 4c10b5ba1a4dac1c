// pram put SRC... DEST — copy host files and trees into the arena, keeping
// modes, owners, times and symlinks (like cp -a).
import * as nodePath from 'node:path';
import type { Command } from 'commander';
import { DEFAULT_ARENA, putTree, withMount, type CopyCount } from '../../api/index.js';
import { fail, formatSize } from '../util.js';

export function register(program: Command): void {
  program.command('put')
    .description('copy host files or directory trees into the arena')
    .addHelpText('after', '\nExamples:\n  $ pram put ./data /data\n  $ pram put a.txt b.txt /inbox\n')
    .argument('<paths...>', 'SRC... DEST (DEST: an existing pram directory, or the new name for one SRC)')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (paths: string[], opts: { arena: string; cmdline?: string }) => {
      try {
        if (paths.length < 2) throw Object.assign(new Error('put needs SRC... DEST'), { exitCode: 2 });
        const dest = paths.pop()!;
        const count: CopyCount = { files: 0, dirs: 0, links: 0, bytes: 0 };
        await withMount({ arena: opts.arena, cmdline: opts.cmdline }, async (pfs) => {
          const intoDir = await pfs.stat(dest).then((s) => s.isDirectory(), () => false);
          if (paths.length > 1 && !intoDir) throw Object.assign(new Error(`${dest}: not a directory in the arena (needed for several sources)`), { code: 'ENOTDIR' });
          for (const src of paths) {
            const target = intoDir ? `${dest.replace(/\/+$/, '')}/${nodePath.basename(nodePath.resolve(src))}` : dest;
            await putTree(pfs, src, target, count);
          }
        });
        process.stdout.write(`put ${count.files} files, ${count.dirs} directories, ${count.links} symlinks, ${formatSize(count.bytes)}\n`);
      } catch (e) {
        fail(e);
      }
    });
}

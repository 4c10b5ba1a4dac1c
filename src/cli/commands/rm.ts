// pram rm [-r] PATH — remove a file (or with -r a tree) from the arena.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount } from '../../api/index.js';
import { fail } from '../util.js';

export function register(program: Command): void {
  program.command('rm')
    .description('remove a file, or a directory tree with -r')
    .addHelpText('after', '\nExamples:\n  $ pram rm /data/old.json\n  $ pram rm -r /data\n')
    .argument('<path>', 'path in the arena')
    .option('-r, --recursive', 'remove directories and their contents')
    .option('-f, --force', 'no error when the path does not exist')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (path: string, opts: { arena: string; cmdline?: string; recursive?: boolean; force?: boolean }) => {
      try {
        await withMount({ arena: opts.arena, cmdline: opts.cmdline }, (pfs) => pfs.rm(path, { recursive: opts.recursive, force: opts.force }));
      } catch (e) {
        fail(e);
      }
    });
}

// pram mkdir [-p] PATH — make a directory in the arena.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount } from '../../api/index.js';
import { fail } from '../util.js';

export function register(program: Command): void {
  program.command('mkdir')
    .description('make a directory (with -p: and its parents, no error if it exists)')
    .addHelpText('after', '\nExamples:\n  $ pram mkdir /data\n  $ pram mkdir -p /a/b/c\n')
    .argument('<path>', 'path in the arena')
    .option('-p, --parents', 'make parent directories as needed')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (path: string, opts: { arena: string; cmdline?: string; parents?: boolean }) => {
      try {
        await withMount({ arena: opts.arena, cmdline: opts.cmdline }, async (pfs) => { await pfs.mkdir(path, { recursive: opts.parents }); });
      } catch (e) {
        fail(e);
      }
    });
}

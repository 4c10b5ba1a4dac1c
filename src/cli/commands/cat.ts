// pram cat PATH — a file's bytes to stdout.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount } from '../../api/index.js';
import { fail } from '../util.js';

export function register(program: Command): void {
  program.command('cat')
    .description('print a file of the arena')
    .addHelpText('after', '\nExamples:\n  $ pram cat /data/config.json\n')
    .argument('<path>', 'path in the arena')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (path: string, opts: { arena: string; cmdline?: string }) => {
      try {
        // Zero-copy: stdout is written from views over the arena's pages, released before the unmount.
        await withMount({ arena: opts.arena, cmdline: opts.cmdline, readOnly: true }, async (pfs) => {
          using v = await pfs.view(path);
          for (const b of v.buffers) await new Promise<void>((resolve, reject) => process.stdout.write(b, (e) => (e ? reject(e) : resolve())));
        }, { save: false });
      } catch (e) {
        fail(e);
      }
    });
}

// pram save --format v1 — write the saved (unmounted) arena's image as a pure
// v1 chain, the RFC's format, into free pages of the arena, and print
// `pram=<head pfn>` for an RFC-style loader. The arena's own checkpoint is not
// touched. The work is open/emit.ts's; this file parses and prints.
import { Option, type Command } from 'commander';
import { DEFAULT_ARENA } from '../../open/arena.js';
import { emitV1 } from '../../open/emit.js';
import { fail, printJson } from '../util.js';

export function register(program: Command): void {
  program.command('save')
    .description("write the arena's image as a v1 chain (the RFC's format) into its free pages and print pram=<head pfn>")
    .addOption(new Option('--format <format>', 'chain format to write').choices(['v1']).makeOptionMandatory())
    .option('--arena <path>', 'the saved (unmounted) arena', DEFAULT_ARENA)
    .option('--cmdline <params>', 'boot parameters (pram_banned=: data there is copied); default PRAM_CMDLINE, then /proc/cmdline')
    .option('--json', 'one JSON object: head pfn, files, entries, pages')
    .addHelpText('after', `
The image must be one v1 can hold: regular files in the root directory, no hard
links, xattrs that fit the META page's tail; a damaged image is refused too. The
chain shares the image's data pages: it is valid until the arena is next written.

Examples:
  $ pram save --format v1 --arena /dev/pmem0
  $ pram save --format v1 --json
`)
    .action((opts: { format: 'v1'; arena: string; cmdline?: string; json?: boolean }) => {
      try {
        const r = emitV1({ arena: opts.arena, cmdline: opts.cmdline });
        if (opts.json) printJson({ format: opts.format, ...r });
        else process.stdout.write(`pram=${r.headPfn.toString(16)}\n`);
      } catch (e) {
        fail(e);
      }
    });
}

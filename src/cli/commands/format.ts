// pram format — write a fresh, empty arena (a file, or a device like /dev/pmem0).
import type { Command } from 'commander';
import { DEFAULT_ARENA, formatArena } from '../../api/index.js';
import { fail, formatSize, parseSize } from '../util.js';

export function register(program: Command): void {
  program.command('format')
    .description('create (or with --force replace) an empty arena')
    .addHelpText('after', '\nExamples:\n  $ pram format --size 1G\n  $ pram format --arena /dev/shm/big.arena --size 4G --page-size 8192 --force\n  $ pram format --arena /dev/pmem0\n')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--size <size>', 'arena size, e.g. 256M or 4G (a device: default its whole size)')
    .option('--page-size <bytes>', 'page size, a power of two >= 1024', '4096')
    .option('--extents', 'save contiguous runs as extents (not loadable by the RFC loader)')
    .option('--force', 'replace an existing arena')
    .action((opts: { arena: string; size?: string; pageSize: string; extents?: boolean; force?: boolean }) => {
      try {
        const sizeBytes = opts.size === undefined ? undefined : parseSize(opts.size, '--size');
        const pageSize = parseSize(opts.pageSize, '--page-size');
        const { mem } = formatArena(opts.arena, { sizeBytes, pageSize, extents: opts.extents, force: opts.force });
        const line = `formatted ${opts.arena}: ${formatSize(mem.pageCount * mem.pageSize)}, ${mem.pageCount} pages of ${mem.pageSize} bytes${opts.extents ? ', extents' : ''}`;
        mem.sync();
        mem.close();
        process.stdout.write(line + '\n');
      } catch (e) {
        fail(e);
      }
    });
}

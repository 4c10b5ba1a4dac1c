// pram info — what an arena holds: geometry, the committed checkpoint (head
// pfn, generation), pages by use, files by type, banned regions.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount } from '../../api/index.js';
import { fail, formatSize } from '../util.js';
import { S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG, S_IFSOCK } from '../../format/mode.js';

const KIND: Record<number, string> = { [S_IFREG]: 'regular', [S_IFDIR]: 'directory', [S_IFLNK]: 'symlink', [S_IFIFO]: 'fifo', [S_IFCHR]: 'char', [S_IFBLK]: 'block', [S_IFSOCK]: 'socket' };

export function register(program: Command): void {
  program.command('info')
    .description('show the geometry and contents of an arena')
    .addHelpText('after', '\nExamples:\n  $ pram info\n  $ pram info --json --arena /dev/shm/pram.arena\n')
    .option('--json', 'one JSON object')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (opts: { arena: string; cmdline?: string; json?: boolean }) => {
      try {
        const info = await withMount({ arena: opts.arena, cmdline: opts.cmdline, verify: 'lazy', readOnly: true }, async (pfs) => {
          const vol = pfs.volume;
          const st = vol.pram!.stats();
          const files: Record<string, number> = {};
          let bytes = 0;
          for (const n of vol.images()) {
            const k = KIND[n.mode & S_IFMT] ?? 'other';
            files[k] = (files[k] ?? 0) + 1;
            if (k === 'regular') bytes += n.size;
          }
          const fsStat = vol.statfs();
          return {
            arena: opts.arena, pageSize: vol.mem.pageSize, pageCount: vol.mem.pageCount, sizeBytes: vol.mem.pageSize * vol.mem.pageCount,
            headPfn: st.headPfn, generation: st.generation,
            pages: { data: st.dataPages, meta: st.metaPages, link: st.linkPages, copied: st.copiedPages, free: fsStat.bfree },
            files, fileBytes: bytes,
            banned: (vol.banned?.regions() ?? []).map((r) => ({ start: r.start, end: r.end, pages: r.end - r.start + 1 })),
            losses: vol.losses.length,
          };
        }, { save: false });
        if (opts.json) { process.stdout.write(JSON.stringify(info) + '\n'); return; }
        const hex = (n: number) => `0x${n.toString(16)}`;
        const out = [
          `arena       ${info.arena}`,
          `geometry    ${formatSize(info.sizeBytes)}: ${info.pageCount} pages of ${info.pageSize} bytes`,
          `checkpoint  head pfn ${hex(info.headPfn)}, generation ${info.generation}`,
          `pages       data ${info.pages.data}, meta ${info.pages.meta}, link ${info.pages.link}, copied ${info.pages.copied}, free ${info.pages.free}`,
          `files       ${Object.entries(info.files).map(([k, v]) => `${v} ${k}`).join(', ') || 'none'} (${formatSize(info.fileBytes)} in regular files)`,
          `banned      ${info.banned.length === 0 ? 'none' : info.banned.map((r) => `${hex(r.start)}-${hex(r.end)} (${r.pages} pages)`).join(', ')}`,
        ];
        if (info.losses > 0) out.push(`damaged     ${info.losses} losses at load: run pram check`);
        process.stdout.write(out.join('\n') + '\n');
      } catch (e) {
        fail(e);
      }
    });
}

// pram info — what an arena holds: geometry, the committed checkpoint (head
// pfn, generation), pages by use, files by type, banned regions. An arena a
// `pram mount` serves cannot be opened beside it: info then says where it is
// mounted, by which server, how requests reach it, and the mount's statfs.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount } from '../../api/index.js';
import * as fs from 'node:fs';
import { fail, formatSize } from '../util.js';
import { runsOf } from '../runfile.js';
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
        if ((e as { code?: string }).code === 'EBUSY' && mountedInfo(opts.arena, opts.json === true)) return;
        fail(e);
      }
    });
}

/** Prints the mounts serving `arena` (true), or nothing when no live server has it (false: the EBUSY stands). */
function mountedInfo(arena: string, json: boolean): boolean {
  const runs = runsOf(arena);
  if (runs.length === 0) return false;
  const mounts = runs.map((r) => {
    let df: { sizeBytes: number; usedBytes: number; files: number } | null = null;
    try {
      const st = fs.statfsSync(r.dir);
      df = { sizeBytes: st.blocks * st.bsize, usedBytes: (st.blocks - st.bfree) * st.bsize, files: st.files - st.ffree };
    } catch { /* the directory is not reachable from here: the run file's facts alone */ }
    return { dir: r.dir, pid: r.pid, startedMs: r.startedMs, transport: r.transport ?? null, checkpointIntervalMs: r.checkpointIntervalMs ?? null, ...(df ? { df } : {}) };
  });
  if (json) { process.stdout.write(JSON.stringify({ arena, mounted: mounts }) + '\n'); return true; }
  const out = [`arena       ${arena}`];
  for (const m of mounts) {
    const how = [m.transport ? `requests by ${m.transport}` : null, m.checkpointIntervalMs === null ? null : `checkpoint interval ${m.checkpointIntervalMs > 0 ? `${m.checkpointIntervalMs} ms` : 'off'}`].filter(Boolean).join('; ');
    out.push(`mounted     on ${m.dir} by server pid ${m.pid} since ${new Date(m.startedMs).toISOString()}${how ? ` (${how})` : ''}`);
    if (m.df) out.push(`in use      ${formatSize(m.df.usedBytes)} of ${formatSize(m.df.sizeBytes)}, ${m.df.files} files (statfs of ${m.dir}; contents: ls, df there)`);
  }
  process.stdout.write(out.join('\n') + '\n');
  return true;
}

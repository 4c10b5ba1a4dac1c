// pram check — verify everything in an arena: the chain, every page's
// checksum, every file read end to end; report each loss by path. Writes
// nothing. Exit 0 when whole, 3 when damaged and partly salvaged.
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount, type Loss, type PramFs } from '../../api/index.js';
import { EXIT, fail } from '../util.js';
import { progressWanted, publishProgress } from '../../format/progress.js';

const CHUNK_BYTES = 8 << 20;

type Count = { files: number; bytes: number; total: number };

async function readAll(pfs: PramFs, dir: string, losses: Loss[], count: Count): Promise<void> {
  for (const d of await pfs.readdir(dir, { withFileTypes: true })) {
    const path = dir === '/' ? `/${d.name}` : `${dir}/${d.name}`;
    if (d.isDirectory()) { await readAll(pfs, path, losses, count); continue; }
    if (d.isSymbolicLink()) {
      try { await pfs.readlink(path); } catch (e) { losses.push({ path, pfn: null, what: `symlink target unreadable: ${(e as Error).message}` }); }
      continue;
    }
    if (!d.isFile()) continue;
    count.files++;
    const h = await pfs.open(path, 'r');
    try {
      const size = (await h.stat()).size as number;
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      for (let pos = 0; pos < size;) {
        try {
          const { bytesRead } = await h.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          count.bytes += bytesRead;
          if (count.total) publishProgress('check', count.bytes, count.total);
        } catch (e) {
          if ((e as { code?: string }).code !== 'EIO') throw e;
          // Skip the damaged page and go on: report the rest of the file's damage too.
          const ps = pfs.volume.mem.pageSize;
          const next = (Math.floor(pos / ps) + 1) * ps;
          if (!losses.some((l) => l.path === path && l.range && l.range.start <= pos && pos < l.range.end)) {
            losses.push({ path, pfn: null, what: `bytes ${pos}-${next - 1} unreadable (EIO)`, range: { start: pos, end: next } });
          }
          pos = next;
        }
      }
    } finally {
      await h.close();
    }
  }
}

export function register(program: Command): void {
  program.command('check')
    .description('verify every page and file of an arena and report what is damaged (writes nothing)')
    .addHelpText('after', '\nExamples:\n  $ pram check\n  $ pram check --json --arena /dev/pmem0\n')
    .option('--json', 'one JSON object')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (opts: { arena: string; cmdline?: string; json?: boolean }) => {
      try {
        const count: Count = { files: 0, bytes: 0, total: 0 };
        const losses = await withMount({ arena: opts.arena, cmdline: opts.cmdline, verify: 'full', readOnly: true }, async (pfs) => {
          const found: Loss[] = [...pfs.losses];
          if (progressWanted()) {   // the bar's total: every data page in use (an estimate: holes are not read)
            const st = pfs.volume.statfs();
            count.total = (st.blocks - st.bfree) * st.bsize;
          }
          try {
            await readAll(pfs, '/', found, count);
          } finally {
            if (count.total) publishProgress('check', count.total, count.total);
          }
          for (const l of pfs.volume.pram?.stats().losses ?? []) if (!found.includes(l)) found.push(l);
          return found;
        }, { save: false });
        const damaged = losses.length > 0;
        if (opts.json) {
          process.stdout.write(JSON.stringify({ arena: opts.arena, ok: !damaged, files: count.files, bytes: count.bytes, losses }) + '\n');
        } else {
          for (const l of losses) process.stdout.write(`LOST ${l.path ?? '(unknown path)'}: ${l.what}${l.pfn !== null ? ` [pfn 0x${l.pfn.toString(16)}]` : ''}\n`);
          process.stdout.write(damaged
            ? `${opts.arena}: damaged: ${losses.length} losses; ${count.files} files readable in part or whole\n`
            : `${opts.arena}: ok: ${count.files} files, ${count.bytes} bytes verified\n`);
        }
        process.exitCode = damaged ? EXIT.salvaged : EXIT.ok;
      } catch (e) {
        fail(e);
      }
    });
}

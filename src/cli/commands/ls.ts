// pram ls [-l] [PATH] — list a directory of the arena (or describe one file).
import type { Command } from 'commander';
import { DEFAULT_ARENA, withMount, type PramFs, type Stats } from '../../api/index.js';
import { fail } from '../util.js';

interface Row { name: string; type: string; mode: number; nlink: number; uid: number; gid: number; size: number; mtimeMs: number; ino: number; target?: string }

const TYPE: [(s: Stats) => boolean, string, string][] = [
  [(s) => s.isDirectory(), 'directory', 'd'], [(s) => s.isSymbolicLink(), 'symlink', 'l'], [(s) => s.isFIFO(), 'fifo', 'p'],
  [(s) => s.isCharacterDevice(), 'char', 'c'], [(s) => s.isBlockDevice(), 'block', 'b'], [(s) => s.isSocket(), 'socket', 's'],
  [(s) => s.isFile(), 'file', '-'],
];

function modeString(s: Stats): string {
  const t = TYPE.find(([f]) => f(s))?.[2] ?? '?';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (s.mode & (0o400 >> i) ? c : '-')).join('');
  return t + bits;
}

async function row(pfs: PramFs, path: string, name: string): Promise<Row> {
  const s = (await pfs.lstat(path)) as Stats;
  const r: Row = { name, type: TYPE.find(([f]) => f(s))?.[1] ?? 'unknown', mode: s.mode, nlink: s.nlink, uid: s.uid, gid: s.gid, size: s.size, mtimeMs: s.mtimeMs, ino: s.ino };
  if (s.isSymbolicLink()) r.target = await pfs.readlink(path);
  return r;
}

export function register(program: Command): void {
  program.command('ls')
    .description('list a directory of the arena')
    .addHelpText('after', '\nExamples:\n  $ pram ls\n  $ pram ls -l /data\n  $ pram ls --json /data\n')
    .argument('[path]', 'path in the arena', '/')
    .option('-l', 'long listing: mode, links, owner, size, time')
    .option('--json', 'one JSON array of entries')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .option('--cmdline <params>', "boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline")
    .action(async (path: string, opts: { arena: string; cmdline?: string; l?: boolean; json?: boolean }) => {
      try {
        const rows = await withMount({ arena: opts.arena, cmdline: opts.cmdline, readOnly: true }, async (pfs) => {
          const st = (await pfs.lstat(path)) as Stats;
          if (!st.isDirectory()) return [await row(pfs, path, path)];
          const names = ((await pfs.readdir(path)) as string[]).sort();
          const base = path.endsWith('/') ? path : `${path}/`;
          return Promise.all(names.map((n) => row(pfs, base + n, n)));
        }, { save: false });
        if (opts.json) { process.stdout.write(JSON.stringify(rows) + '\n'); return; }
        for (const r of rows) {
          if (!opts.l) { process.stdout.write(r.name + '\n'); continue; }
          const s = { mode: r.mode, isDirectory: () => r.type === 'directory', isSymbolicLink: () => r.type === 'symlink', isFIFO: () => r.type === 'fifo', isCharacterDevice: () => r.type === 'char', isBlockDevice: () => r.type === 'block', isSocket: () => r.type === 'socket', isFile: () => r.type === 'file' } as Stats;
          const when = new Date(r.mtimeMs).toISOString().replace('T', ' ').slice(0, 19);
          process.stdout.write(`${modeString(s)} ${String(r.nlink).padStart(3)} ${String(r.uid).padStart(5)} ${String(r.gid).padStart(5)} ${String(r.size).padStart(12)} ${when} ${r.name}${r.target !== undefined ? ` -> ${r.target}` : ''}\n`);
        }
      } catch (e) {
        fail(e);
      }
    });
}

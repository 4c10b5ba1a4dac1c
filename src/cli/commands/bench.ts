// pram bench — runs the side-by-side benchmark of issues 6 and 15 (bench/run.js:
// pram against ramfs, tmpfs, node:fs, fio on tmpfs and a reload from disk). The measuring
// lives in bench/, which ships with the repository, not the npm package;
// this command only finds it and passes the options through.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT, fail } from '../util.js';

export function register(program: Command): void {
  program.command('bench')
    .description('benchmark pram against tmpfs, ramfs and a reload from disk (needs root; writes bench/results/)')
    .option('--quick', 'smaller sizes, written to bench/results/quick/ (never over a full run)')
    .option('--only <parts>', 'comma-separated subset: dd,lib,persist,ready,meta,fio')
    .option('--big', 'also 8 and 12 GiB arenas (full run)')
    .option('--reps <n>', 'repetitions per figure (at least 3)')
    .option('--out <dir>', 'where to write latest.md, latest.json and the charts')
    .option('--json', 'print the raw figures (latest.json) on stdout; the table goes to stderr')
    .addHelpText('after', `
Examples:
  $ pram bench --quick                 # every figure, smaller sizes, into bench/results/quick/
  $ pram bench --big                   # the full run with 8 and 12 GiB arenas
  $ pram bench --only dd,ready         # just the dd and time-to-ready rows
  $ pram bench --quick --json | jq .   # the raw figures
`)
    .action((opts: { quick?: boolean; only?: string; big?: boolean; reps?: string; out?: string; json?: boolean }) => {
      try {
        // dist/cli/commands/bench.js -> <repository>/bench/run.js
        const run = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'run.js');
        if (!existsSync(run)) throw new Error(`${run} is missing: pram bench runs from a checkout of the repository`);
        const args = [run];
        if (opts.quick) args.push('--quick');
        if (opts.only) args.push('--only', opts.only);
        if (opts.big) args.push('--big');
        if (opts.reps) args.push('--reps', opts.reps);
        if (opts.out) args.push('--out', opts.out);
        // With --json the human table goes to stderr so stdout holds only JSON.
        const r = spawnSync(process.execPath, args, { stdio: ['inherit', opts.json ? 2 : 'inherit', 'inherit'] });
        if (r.status === 0 && opts.json) {
          const out = opts.out ?? join(dirname(run), opts.quick ? 'results/quick' : 'results');
          process.stdout.write(readFileSync(join(out, 'latest.json'), 'utf8'));
        }
        process.exit(r.status ?? EXIT.error);
      } catch (e) {
        fail(e);
      }
    });
}

// pram bench — runs the side-by-side benchmark of issue 6 (bench/run.js:
// pram against ramfs, tmpfs, node:fs and a reload from disk). The measuring
// lives in bench/, which ships with the repository, not the npm package;
// this command only finds it and passes the options through.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT, fail } from '../util.js';

export function register(program: Command): void {
  program.command('bench')
    .description('benchmark pram against tmpfs, ramfs and a reload from disk (needs root; writes bench/results/)')
    .option('--quick', 'smaller sizes, under 3 minutes')
    .option('--only <parts>', 'comma-separated subset: dd,lib,persist,ready,meta')
    .option('--reps <n>', 'repetitions per figure (at least 3)')
    .option('--out <dir>', 'where to write latest.md, latest.json and the charts')
    .action((opts: { quick?: boolean; only?: string; reps?: string; out?: string }) => {
      try {
        // dist/cli/commands/bench.js -> <repository>/bench/run.js
        const run = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'run.js');
        if (!existsSync(run)) throw new Error(`${run} is missing: pram bench runs from a checkout of the repository`);
        const args = [run];
        if (opts.quick) args.push('--quick');
        if (opts.only) args.push('--only', opts.only);
        if (opts.reps) args.push('--reps', opts.reps);
        if (opts.out) args.push('--out', opts.out);
        const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
        process.exit(r.status ?? EXIT.error);
      } catch (e) {
        fail(e);
      }
    });
}

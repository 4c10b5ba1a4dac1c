// pram demo — the main job: write a working set, restart, get it back.
import type { Command } from 'commander';

export function register(program: Command): void {
  program.command('demo')
    .description('write a working set into an arena, restart, and time getting it back against a disk reload')
    .action(() => { throw new Error('demo: not built yet'); });
}

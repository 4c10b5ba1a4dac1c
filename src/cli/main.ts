// The `pram` command. Each subcommand lives in its own file under commands/
// and registers itself on the program; this file only wires them together and
// turns failures into one line on stderr and a documented exit code.
import { Command, CommanderError } from 'commander';
import { EXIT, fail } from './util.js';
import { commands } from './commands/index.js';
import { showProgress } from './progress.js';

const program = new Command('pram')
  .description('pram: a persistent RAM file system — files that stay in memory across restarts and kexec')
  .version('0.1.0')
  .exitOverride()
  // Usage errors are one line like every other error: `pram: unknown option '--x' (see pram ls --help)`.
  .configureOutput({ outputError: (text, write) => write(`pram: ${usageLine(text)}\n`) });

function usageLine(text: string): string {
  const line = text.replace(/^error: /, '').split('\n')[0]!.trim();
  const cmd = process.argv.slice(2).find((a) => !a.startsWith('-') && program.commands.some((c) => c.name() === a));
  return `${line} (see pram${cmd ? ` ${cmd}` : ''} --help)`;
}

for (const register of commands) register(program);

program.addHelpText('after', `
Exit status: ${EXIT.ok} ok, ${EXIT.error} error, ${EXIT.usage} usage, ${EXIT.salvaged} image damaged and partly salvaged.
Arena: --arena PATH (default /dev/shm/pram.arena), memfd:NAME, luo:NAME.`);

// Long operations publish progress; a bar is drawn only when stderr is a terminal.
showProgress();

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.exitCode === 0) process.exit(0);
    process.exit(EXIT.usage);
  }
  fail(err);
}

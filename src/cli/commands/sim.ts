// pram sim — the RFC's four-step scenario on the simulated machine: boot with
// pram_banned=, mount, write dump files, unmount, kexec with pram= appended,
// mount, verify byte for byte, remove, unmount. Prints the console and a
// summary; exit 0 only when every file verified. `--map DIR` draws each boot's
// memory at its unmount (cli/map/boots.ts). The work is cli/scenario.ts's.
import type { Command } from 'commander';
import { kexecRangeOf, runScenario, type ScenarioReport } from '../scenario.js';
import { bootMapWriter } from '../map/boots.js';
import { EXIT, formatSize, parseSize, usageError } from '../util.js';

interface SimFlags {
  seed?: string; ram: string; files: string; cycles: string; append?: string; ban: boolean; json?: boolean; bigFile: string;
  memMin: string; memMax: string; map?: string;
}


export function register(program: Command): void {
  program.command('sim')
    .description("run the RFC's kexec scenario on a simulated machine and verify every file after each kexec")
    .option('--seed <n>', 'seed deciding everything (default: from the clock, printed as SEED=)')
    .option('--ram <size>', 'RAM of the machine', '512M')
    .option('--files <n>', 'dump files per cycle (the first is the large one)', '4')
    .option('--cycles <n>', 'kexec this many times in a row, verifying after each', '1')
    .option('--big-file <size>', 'size of the large dump file', '64M')
    .option('--mem-min <size>', 'kexec --mem-min: lowest address of the next kernel (banned with pram_banned=)', '0')
    .option('--mem-max <size>', 'kexec --mem-max: end of the next kernel\'s range (banned with pram_banned=)', '128M')
    .option('--append <params>', 'extra boot parameters')
    .option('--no-ban', 'turn the banned-region mechanism off (shows what it prevents)')
    .option('--map <dir>', 'draw the physical memory at each boot\'s unmount: DIR/boot-N.svg')
    .option('--json', 'print the report as JSON')
    .addHelpText('after', `
Examples:
  $ pram sim --seed 1                              # one kexec, 512 MiB machine, a 64 MiB dump file
  $ pram sim --seed 7 --cycles 20                  # twenty kexecs in a row, verified after each
  $ pram sim --seed 5 --no-ban --ram 256M --big-file 16M   # no banned regions: the image collides
  $ pram sim --seed 3 --cycles 2 --map maps/       # maps/boot-1.svg .. boot-3.svg
  $ pram sim --seed 1 --json | jq .ok

The console log comes first (SEED= and the derived options on its first lines,
then each boot prefixed [N]), then a summary. Exit status: 0 when every file
verified, 1 otherwise, 2 for a usage error.`)
    .action((flags: SimFlags) => {
      const seed = flags.seed !== undefined ? Number(flags.seed) : Date.now() % 1_000_000_007;
      const files = Number(flags.files), cycles = Number(flags.cycles);
      for (const [name, v] of [['--seed', seed], ['--files', files], ['--cycles', cycles]] as const) {
        if (!Number.isSafeInteger(v) || v < (name === '--seed' ? 0 : 1)) {
          throw usageError(`${name}: expected a whole number${name === '--seed' ? '' : ' >= 1'}`);
        }
      }
      const ramBytes = parseSize(flags.ram, '--ram');
      const bigFileBytes = parseSize(flags.bigFile, '--big-file');
      const memMinBytes = parseSize(flags.memMin, '--mem-min'), memMaxBytes = parseSize(flags.memMax, '--mem-max');
      if (memMaxBytes <= memMinBytes) throw usageError(`--mem-max (${flags.memMax}) must be above --mem-min (${flags.memMin})`);
      if (memMaxBytes > ramBytes) throw usageError(`--mem-max (${flags.memMax}) is beyond the RAM (${flags.ram})`);
      const range = { memMinBytes, memMaxBytes };
      const onUnmount = flags.map ? bootMapWriter({ dir: flags.map, kexecRange: kexecRangeOf(range) }) : undefined;
      const report = runScenario({ seed, ramBytes, files, cycles, append: flags.append, noBan: !flags.ban, bigFileBytes, ...range, onUnmount });
      if (flags.json) process.stdout.write(JSON.stringify(toJson(report), null, 2) + '\n');
      else process.stdout.write(report.machine.console.join('\n') + '\n\n' + summary(report).join('\n') + '\n');
      process.exitCode = report.ok ? EXIT.ok : EXIT.error;
    });
}

function summary(r: ScenarioReport): string[] {
  const lines = [`SEED=${r.seed}: ${r.ok ? 'OK' : 'FAILED'} — ${r.verified} of ${r.written} files verified over ${r.cycles.length} kexec cycles`];
  for (const c of r.cycles) {
    const bad = c.files.filter((f) => !f.ok);
    lines.push(`  cycle ${c.cycle} (boot ${c.boot}): reservation ${c.reservation}, ${c.files.length - bad.length}/${c.files.length} files ok` +
      (c.overwritten.length || c.busy.length ? `, collisions: ${c.overwritten.length} pages overwritten by kexec, ${c.busy.length} busy` : '') +
      (c.losses.length ? `, ${c.losses.length} losses` : ''));
    for (const f of bad) lines.push(`    /${f.name} (${formatSize(f.size)}): ${f.why}`);
    for (const l of c.losses.slice(0, 5)) lines.push(`    loss: ${l.what}`);
  }
  if (r.maps.length) lines.push(`  maps: ${r.maps.join(', ')}`);
  if (r.error) lines.push(`  stopped: ${r.error}`);
  return lines;
}

function toJson(r: ScenarioReport) {
  return { seed: r.seed, ok: r.ok, written: r.written, verified: r.verified, error: r.error ?? null,
    cycles: r.cycles.map((c) => ({ ...c, overwritten: c.overwritten.length, busy: c.busy.length })),
    maps: r.maps, console: r.machine.console };
}

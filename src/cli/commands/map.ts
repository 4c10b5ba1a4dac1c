// pram map — draw the physical memory of an arena: free pages, the header,
// link and meta pages, data pages by file, banned regions. The arena is
// booted and loaded like a mount, read, and closed without a checkpoint:
// drawing never writes to the arena. Rendering is cli/map/'s.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Command, Option } from 'commander';
import { DEFAULT_ARENA } from '../../open/arena.js';
import { openVolume } from '../../open/volume.js';
import { EXIT, fail, formatSize, printJson, usageError } from '../util.js';
import { drawMap, type MapSummary } from '../map/render.js';
import { volumeMapInput } from '../map/source.js';

interface MapFlags { out: string; arena: string; format?: 'svg' | 'html'; cmdline?: string; json?: boolean }

export function register(program: Command): void {
  program.command('map')
    .description('draw the physical memory of an arena as SVG or HTML: free, header, link, meta and data pages by file, banned regions')
    .requiredOption('--out <file>', 'picture to write: FILE.svg, or FILE.html (a self-contained page with hover details)')
    .option('--arena <path>', 'arena file or device', DEFAULT_ARENA)
    .addOption(new Option('--format <kind>', 'picture format (default: from the --out extension)').choices(['svg', 'html']))
    .option('--cmdline <params>', 'boot parameters (pram=, pram_banned=); default PRAM_CMDLINE, then /proc/cmdline')
    .option('--json', 'also print what the picture counts, as JSON')
    .addHelpText('after', `
Examples:
  $ pram map --out mem.svg                         # the default arena, ${DEFAULT_ARENA}
  $ pram map --arena /dev/shm/db.arena --out mem.html
  $ pram map --out mem.svg --cmdline 'pram_banned=0-64M' --json

A large memory is drawn by aggregation: each cell is a power-of-two run of pfns,
coloured by what owns them (mixed cells show bands). Banned regions are hatched
in red. Reading the arena never writes to it.
Simulated machine: pram sim --map DIR writes one picture per boot.`)
    .action((flags: MapFlags) => {
      const format = flags.format ?? (/\.html?$/i.test(flags.out) ? 'html' : /\.svg$/i.test(flags.out) ? 'svg' : null);
      if (!format) throw usageError(`--out ${flags.out}: name a .svg or .html file, or give --format`);
      const dir = path.dirname(path.resolve(flags.out));
      if (!fs.existsSync(dir)) fail(Object.assign(new Error(`${flags.out}: directory ${dir} does not exist`), { code: 'ENOENT' }));
      const warn = (line: string) => process.stderr.write(`${line}\n`);
      // Opened read-only: a damaged image is drawn as found (nothing zero-filled), closed without a checkpoint.
      const { volume: vol } = openVolume({ arena: flags.arena, cmdline: flags.cmdline, verify: 'lazy', readOnly: true, warn });
      let picture: string, summary: MapSummary;
      try {
        const input = volumeMapInput(vol, `pram arena ${flags.arena}`);
        ({ text: picture, summary } = drawMap(input, { format }));
        for (const l of vol.losses) warn(`pram: ${flags.arena}: ${l.path ?? (l.pfn !== null ? `pfn 0x${l.pfn.toString(16)}` : 'image')}: ${l.what}`);
        if (vol.losses.length) process.exitCode = EXIT.salvaged;
      } finally {
        vol.detach(); // no checkpoint: a map only reads
      }
      try {
        fs.writeFileSync(flags.out, picture);
      } catch (e) {
        fail(Object.assign(new Error(`${flags.out}: ${(e as Error).message}`), { code: (e as { code?: string }).code }));
      }
      if (flags.json) printJson({ out: flags.out, format, ...summary });
      else {
        const used = summary.classes.filter((c) => c.kind !== 'free' && c.kind !== 'banned-free' && c.kind !== 'hole').reduce((n, c) => n + c.pages, 0);
        process.stdout.write(`${flags.out}: ${summary.pageCount} pages (${formatSize(summary.pageCount * summary.pageSize)}), ` +
          `${used} in use, ${summary.bannedPages} banned, ${summary.cells} cells of ${summary.pagesPerCell} page${summary.pagesPerCell > 1 ? 's' : ''}\n`);
      }
    });
}

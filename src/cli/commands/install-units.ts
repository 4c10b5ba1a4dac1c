// pram install-units — write the systemd units shipped in units/ (pram-mount@.service,
// pram-example.service) into /etc/systemd/system or --dir, with this installation's
// paths filled in (@NODE@: this node, @PRAM@: bin/pram.js, @PRAM_ROOT@: the package).
// An existing file is left alone unless --force; the files written are listed, with
// the systemctl lines that come next. Nothing is enabled or started.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT, fail } from '../util.js';

export const UNITS_DIR = '/etc/systemd/system';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');

/** The unit files shipped with the package. */
export function shippedUnits(root = ROOT): string[] {
  return fs.readdirSync(path.join(root, 'units')).filter((f) => f.endsWith('.service')).sort();
}

/** A unit's text with this installation's paths in place of @NODE@, @PRAM@ and @PRAM_ROOT@. */
export function fillUnit(text: string, paths: { node: string; root: string }): string {
  return text.replaceAll('@NODE@', paths.node).replaceAll('@PRAM@', path.join(paths.root, 'bin', 'pram.js')).replaceAll('@PRAM_ROOT@', paths.root);
}

export function installUnits(dir: string, opts: { force?: boolean; root?: string; node?: string } = {}): string[] {
  const root = opts.root ?? ROOT;
  if (!fs.statSync(dir, { throwIfNoEntry: false })?.isDirectory()) {
    throw Object.assign(new Error(`${dir} is not a directory`), { code: 'ENOTDIR' });
  }
  const written: string[] = [];
  for (const name of shippedUnits(root)) {
    const to = path.join(dir, name);
    if (fs.existsSync(to) && !opts.force) throw Object.assign(new Error(`${to} exists; give --force to replace it`), { code: 'EEXIST' });
    const text = fillUnit(fs.readFileSync(path.join(root, 'units', name), 'utf8'), { node: opts.node ?? process.execPath, root });
    fs.writeFileSync(to, text, { mode: 0o644 });
    written.push(to);
  }
  return written;
}

export function register(program: Command): void {
  program.command('install-units')
    .description('write pram\'s systemd units (pram-mount@.service, pram-example.service) with this installation\'s paths')
    .option('--dir <dir>', 'where to write them', UNITS_DIR)
    .option('--force', 'replace files that exist')
    .addHelpText('after', `
Examples:
  $ pram install-units                       # into ${UNITS_DIR}
  $ systemctl daemon-reload && systemctl enable --now pram-mount@data   # memfd:data on /mnt/pram/data
  $ pram install-units --dir ./units-here    # look first
`)
    .action((opts: { dir: string; force?: boolean }) => {
      try {
        for (const f of installUnits(path.resolve(opts.dir), opts)) process.stdout.write(`pram: wrote ${f}\n`);
        process.stdout.write('pram: next: systemctl daemon-reload; systemctl enable --now pram-mount@NAME (memfd:NAME on /mnt/pram/NAME)\n');
        process.exit(EXIT.ok);
      } catch (e) {
        fail(e);
      }
    });
}

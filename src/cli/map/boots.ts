// `pram sim --map DIR`: one picture per boot of the simulated machine,
// written as DIR/boot-N.svg (or .html) when that boot's volume is unmounted —
// the moment the saved image, the boot's reservations and the kexec target
// range are all in memory at once. The scenario calls the returned function;
// what is drawn is source.ts's bootMapInput, how is render.ts's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Volume } from '../../fs/volume.js';
import type { Machine } from '../../machine/machine.js';
import { renderMap } from './render.js';
import { bootMapInput } from './source.js';

export interface BootMapOptions {
  dir: string;
  format?: 'svg' | 'html';
  /** The kexec range (--mem-min/--mem-max), outlined on every picture. */
  kexecRange?: { startBytes: number; endBytes: number };
}

/** A hook for the scenario: call it after each unmount; returns the file written. */
export function bootMapWriter(opts: BootMapOptions): (machine: Machine, vol: Volume | null) => string {
  fs.mkdirSync(opts.dir, { recursive: true });
  const format = opts.format ?? 'svg';
  return (machine, vol) => {
    const file = path.join(opts.dir, `boot-${machine.boots}.${format}`);
    fs.writeFileSync(file, renderMap(bootMapInput(machine, vol, { kexecRange: opts.kexecRange }), { format }));
    return file;
  };
}

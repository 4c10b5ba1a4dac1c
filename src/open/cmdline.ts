// The boot command line of an arena mount: the caller's, else PRAM_CMDLINE,
// else the host's /proc/cmdline. Values from the option and PRAM_CMDLINE are
// arena-relative (byte offsets into the arena). The host's command line is the
// kernel's: its pram= may be stale, and its pram_banned= names physical
// addresses, which mean something only for an arena that is physical memory
// (a device such as /dev/pmem0, shifted by the device's physical base), and
// nothing for a file in /dev/shm or a memfd (docs/ARCHITECTURE.md).
import * as fs from 'node:fs';
import { basename } from 'node:path';
import { cmdlineWords, parseBanned, parseBootParams, withPramPfn } from '../boot/params.js';
import type { ArenaKind } from '../mem/arena.js';
import type { Handoff } from '../pram/handoff.js';

export interface CmdlineSource {
  /** The arena's kind and path (/proc/cmdline's pram_banned= depends on them). */
  kind: ArenaKind;
  path: string;
  handoff: Handoff;
  pageSize: number;
}

/** The physical start of a device arena (/sys/class/block/NAME/device/resource), or null. */
export function devicePhysBase(path: string): bigint | null {
  try {
    const text = fs.readFileSync(`/sys/class/block/${basename(path)}/device/resource`, 'utf8').trim();
    return /^0x[0-9a-f]+$/i.test(text) ? BigInt(text) : null;
  } catch {
    return null;
  }
}

/**
 * The boot command line: opt, else PRAM_CMDLINE, else /proc/cmdline. A
 * /proc/cmdline `pram=` that disagrees with the header's newest valid
 * checkpoint is stale (the arena has checkpointed since that boot): dropped,
 * with a warning naming both values. Its `pram_banned=` is translated to the
 * arena (see above) or dropped with a warning.
 */
export function bootCmdline(opt: string | undefined, src: CmdlineSource, warn: (line: string) => void,
  readProc: () => string = () => fs.readFileSync('/proc/cmdline', 'utf8'),
  physBase: (path: string) => bigint | null = devicePhysBase): string {
  if (opt !== undefined) return opt;
  const env = process.env['PRAM_CMDLINE'];
  if (env !== undefined) return env;
  let proc = '';
  try { proc = readProc().trim(); } catch { return ''; }
  proc = hostBanned(proc, src, warn, physBase);
  const pfn = parseBootParams(proc, src.pageSize, () => {}).pramPfn;
  const head = src.handoff.read()?.headPfn ?? 0;
  if (pfn !== null && pfn !== head) {
    warn(`pram: ignoring pram=0x${pfn.toString(16)} from /proc/cmdline: the arena header's newest checkpoint starts at pfn 0x${head.toString(16)} (the command line is stale)`);
    return withPramPfn(proc, null);
  }
  return proc;
}

/** /proc/cmdline's pram_banned= words, from physical addresses to the arena's offsets (or dropped). */
function hostBanned(proc: string, src: CmdlineSource, warn: (line: string) => void, physBase: (path: string) => bigint | null): string {
  const words = cmdlineWords(proc);
  if (!words.some((w) => w.startsWith('pram_banned='))) return proc;
  const device = src.kind === 'blockdev' || src.kind === 'chardev';
  const base = device ? physBase(src.path) : null;
  if (base === null) {
    warn(device
      ? `pram: ignoring pram_banned= from /proc/cmdline: the physical base of ${src.path} is unknown (give --cmdline or PRAM_CMDLINE with offsets into the arena)`
      : `pram: ignoring pram_banned= from /proc/cmdline: it names physical addresses, and ${src.path} is a ${src.kind}, not physical memory (give --cmdline or PRAM_CMDLINE to ban arena offsets)`);
    return words.filter((w) => !w.startsWith('pram_banned=')).join(' ');
  }
  return words.map((w) => {
    if (!w.startsWith('pram_banned=')) return w;
    const ranges = parseBanned(w.slice(12), 1, () => {}) ?? [];
    const shifted = ranges.map((r) => ({ start: BigInt(r.start), end: BigInt(r.end) + 1n }))
      .filter((r) => r.end > base)
      .map((r) => `0x${(r.start > base ? r.start - base : 0n).toString(16)}-0x${(r.end - base).toString(16)}`);
    return shifted.length ? `pram_banned=${shifted.join(',')}` : '';
  }).filter(Boolean).join(' ');
}

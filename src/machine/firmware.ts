// The simulated firmware memory map (e820-like): which physical ranges are
// usable RAM and which are holes. Fixed for the life of the machine — a kexec
// does not change the firmware — so it is built once, from the machine's seed.
// Booting a kernel on top of it is kernel.ts's job.

import type { Prng } from './prng.js';

export interface FirmwareOptions {
  ramBytes: number;
  pageSize: number;
  /** The PC's legacy hole 640 KiB..1 MiB (VGA, option ROMs, BIOS). */
  legacyHole: boolean;
  /** Size of one MMIO hole placed (seeded) in the upper half of RAM; 0 for none. */
  mmioHoleBytes: number;
}

export interface E820Entry { startBytes: number; endBytes: number /*exclusive*/; type: 'usable' | 'reserved' }

export interface FirmwareMap {
  entries: E820Entry[];
  /** Holes in pfns, inclusive, sorted: what SimRam reports as absent. */
  holes: { start: number; end: number }[];
}

const KiB = 1024, MiB = 1024 * KiB;

export function firmwareMap(opts: FirmwareOptions, prng: Prng): FirmwareMap {
  const { ramBytes, pageSize } = opts;
  const holes: { startBytes: number; endBytes: number }[] = [];
  if (opts.legacyHole && ramBytes > 1 * MiB) holes.push({ startBytes: 640 * KiB, endBytes: 1 * MiB });
  if (opts.mmioHoleBytes > 0) {
    // Aligned to 2 MiB somewhere in the upper half, never reaching the last page.
    const align = 2 * MiB;
    const lo = Math.ceil(ramBytes / 2 / align), hi = Math.floor((ramBytes - opts.mmioHoleBytes - align) / align);
    if (hi >= lo) {
      const startBytes = prng.range(lo, hi) * align;
      holes.push({ startBytes, endBytes: startBytes + opts.mmioHoleBytes });
    }
  }
  const entries: E820Entry[] = [];
  let at = 0;
  for (const h of holes) {
    if (h.startBytes > at) entries.push({ startBytes: at, endBytes: h.startBytes, type: 'usable' });
    entries.push({ startBytes: h.startBytes, endBytes: h.endBytes, type: 'reserved' });
    at = h.endBytes;
  }
  if (at < ramBytes) entries.push({ startBytes: at, endBytes: ramBytes, type: 'usable' });
  return {
    entries,
    holes: holes.map((h) => ({
      start: Math.floor(h.startBytes / pageSize),
      end: Math.ceil(h.endBytes / pageSize) - 1,
    })),
  };
}

/** The boot log's view of the map, like Linux's "BIOS-e820:" lines. */
export function e820Lines(map: FirmwareMap): string[] {
  return map.entries.map((e) =>
    `BIOS-e820: [mem 0x${hex16(e.startBytes)}-0x${hex16(e.endBytes - 1)}] ${e.type}`);
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, '0');
}

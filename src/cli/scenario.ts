// The RFC's four-step usage scenario on the simulated machine, as data in and
// a report out (cli/commands/sim.ts prints it; tests assert on it):
//   1. boot with pram_banned= covering the kexec range;
//   2. mount pram, write dump files (one of at least 64 MiB), unmount;
//   3. kexec with pram=$(cat /sys/kernel/pram) appended and --mem-min/--mem-max;
//   4. mount, verify every file byte for byte, remove them, unmount.
// Repeated for `cycles` kexecs on one machine. File content comes from per-file
// seeds, so a 64 MiB file is regenerated for checking, never kept twice.

import { Owner } from '../boot/frames.js';
import { errnoName } from '../format/errno.js';
import type { Loss } from '../pram/image.js';
import { Volume, type Attr } from '../fs/volume.js';
import { Machine, type MachineOptions } from '../machine/machine.js';
import { Prng } from '../machine/prng.js';
import { S_IFREG } from '../format/mode.js';

const MiB = 1 << 20;
const CHUNK = 1 * MiB; // a multiple of 4: chunked Prng.fill gives the same stream as one fill

export interface ScenarioOptions {
  seed: number;
  ramBytes?: number;
  files?: number;                 // dump files per cycle (>= 1)
  cycles?: number;                // kexecs in a row
  append?: string;                // extra boot parameters
  noBan?: boolean;
  bigFileBytes?: number;          // the large dump file (default 64 MiB)
  smallFileBytesMax?: number;     // the others: 0..this many bytes
  memMinBytes?: number;           // the kexec range, banned on the command line
  memMaxBytes?: number;
  machine?: Partial<MachineOptions>;
  /** Called after each boot's unmount, before the kexec (pram sim --map draws the memory here); a returned string is kept in `maps`. */
  onUnmount?: (machine: Machine, vol: Volume) => string | void;
}

export interface FileCheck { name: string; size: number; ok: boolean; why?: string }

export interface CycleReport {
  cycle: number;          // 1-based: the kexec that preceded this check
  boot: number;
  files: FileCheck[];
  losses: Loss[];
  /** Saved pram pages (at unmount) that kexec -e overwrote / the next boot reserved before pram (image, initrd, early allocations). */
  overwritten: number[];
  busy: number[];
  reservation: 'ok' | 'dropped' | 'none';
}

export interface ScenarioReport {
  seed: number;
  ok: boolean;
  cycles: CycleReport[];
  written: number;        // files written in all
  verified: number;       // files that verified byte for byte
  machine: Machine;
  /** What onUnmount returned, per boot (the pictures pram sim --map wrote). */
  maps: string[];
  error?: string;
}

interface Planned { name: string; size: number; seed: number }

export function runScenario(opts: ScenarioOptions): ScenarioReport {
  const root = new Prng(opts.seed);
  const { startBytes: memMin, endBytes: memMax } = kexecRangeOf(opts);
  const cmdline = ['console=ttyS0 root=/dev/vda ro', `pram_banned=${bytes(memMin)}-${bytes(memMax)}`, opts.append ?? '']
    .filter((w) => w).join(' ');
  const machine = new Machine({ ...opts.machine, seed: opts.seed, cmdline,
    ...(opts.ramBytes ? { ramBytes: opts.ramBytes } : {}), ...(opts.noBan ? { noBan: true } : {}) });
  const files = Math.max(1, opts.files ?? 4), cycles = Math.max(1, opts.cycles ?? 1);
  const contentPrng = root.fork(); // file plans do not shift the machine's draws
  let clockNs = 1374841774n * 1_000_000_000n; // the RFC's date
  const clock = () => (clockNs += 1_000_000n);
  const report: ScenarioReport = { seed: opts.seed, ok: true, cycles: [], written: 0, verified: 0, machine, maps: [] };
  const unmounted = (vol: Volume) => { const out = opts.onUnmount?.(machine, vol); if (typeof out === 'string') report.maps.push(out); };
  const fail = (error: string) => { report.ok = false; report.error = error; machine.log(`sim: ${error}`); return report; };

  let planned: Planned[] = [];
  for (let cycle = 0; cycle <= cycles; cycle++) {
    const vol = mountOnMachine(machine, clock);
    if (typeof vol === 'string') return fail(vol);
    if (cycle > 0) {
      const last = report.cycles[report.cycles.length - 1]!;
      last.losses = [...vol.losses];
      const reserved = machine.kernel.reserved;
      last.reservation = reserved.error < 0 ? 'dropped' : reserved.headPfn !== 0 ? 'ok' : 'none';
      for (const f of planned) {
        const check = verify(vol, f);
        last.files.push(check);
        if (check.ok) report.verified++; else report.ok = false;
        machine.log(`sim: verify /${f.name} (${f.size} bytes): ${check.ok ? 'ok' : check.why}`);
        const r = vol.unlink(1, f.name);
        if (r < 0 && check.why !== 'missing') return fail(`rm /${f.name}: ${errnoName(r)}`);
      }
    }
    if (cycle === cycles) {
      const r = vol.unmount();
      if (r < 0) return fail(`umount: ${errnoName(r)}`);
      unmounted(vol);
      break;
    }
    planned = plan(contentPrng, cycle, files, opts.bigFileBytes ?? 64 * MiB, opts.smallFileBytesMax ?? 1 * MiB);
    for (const f of planned) {
      const w = write(vol, f);
      if (w) return fail(w);
      report.written++;
    }
    machine.log(`sim: wrote ${planned.length} files, ${planned.reduce((n, f) => n + f.size, 0)} bytes`);
    const r = vol.unmount();
    if (r < 0) return fail(`umount: ${errnoName(r)}`);
    unmounted(vol);
    const saved = savedPages(machine);
    const k = machine.kexecWithPram(memMin, memMax);
    if (k < 0) return fail(`kexec: ${errnoName(k)}`);
    const overwritten: number[] = [];
    for (const s of machine.lastOverwrite) for (let p = s.start; p < s.start + s.pages; p++) if (saved.has(p)) overwritten.push(p);
    // Busy: under the new boot's early reservations (pram's own reservation of its chain is not).
    const busy: number[] = [];
    const { frames, memblock } = machine.kernel;
    for (const p of saved) if (frames.owner[p] === Owner.Reserved && memblock.isReserved(p)) busy.push(p);
    report.cycles.push({ cycle: cycle + 1, boot: machine.boots, files: [], losses: [], overwritten, busy, reservation: 'none' });
    if (overwritten.length || busy.length) {
      machine.log(`sim: collision: ${overwritten.length} saved pages overwritten by kexec, ${busy.length} under the new boot's reservations`);
    }
  }
  return report;
}

/** The kexec range of a scenario (--mem-min/--mem-max), banned on its command line. */
export function kexecRangeOf(opts: Pick<ScenarioOptions, 'memMinBytes' | 'memMaxBytes'>): { startBytes: number; endBytes: number } {
  return { startBytes: opts.memMinBytes ?? 0, endBytes: opts.memMaxBytes ?? 128 * MiB };
}

/**
 * mount -t pram: loads the chain this boot reserved at early boot, with the
 * kernel's page allocator. Once per boot (the machine's takeBooted()).
 */
export function mountOnMachine(machine: Machine, clock?: () => bigint): Volume | string {
  const booted = machine.takeBooted();
  if (!booted) return 'mount: pram was already mounted on this boot (kexec to mount the saved image)';
  try {
    return Volume.mount({
      mem: machine.ram, handoff: machine.handoff, booted, keepMemOpen: true,
      clock, log: (line) => machine.log(line),
    });
  } catch (err) {
    return `mount: ${(err as Error).message}`;
  }
}

/** criu-like dump names; the first file is the big one (process memory). */
function plan(prng: Prng, cycle: number, count: number, bigBytes: number, smallMax: number): Planned[] {
  const out: Planned[] = [];
  for (let i = 0; i < count; i++) {
    const name = i === 0 ? `pages-${cycle + 1}.img` : `${['core', 'mm', 'fdinfo', 'pstree', 'files'][i % 5]}-${cycle + 1}-${i}.img`;
    out.push({ name, size: i === 0 ? bigBytes : prng.below(smallMax + 1), seed: prng.next() });
  }
  return out;
}

function write(vol: Volume, f: Planned): string | null {
  const attr = vol.mknod(1, f.name, S_IFREG | 0o600, 0, 0, 0);
  if (typeof attr === 'number') return `create /${f.name}: ${errnoName(attr)}`;
  const prng = new Prng(f.seed);
  const buf = Buffer.alloc(CHUNK);
  for (let off = 0; off < f.size; off += CHUNK) {
    const n = Math.min(CHUNK, f.size - off);
    prng.fill(buf);
    const w = vol.write(attr.ino, off, buf.subarray(0, n));
    if (w !== n) return `write /${f.name} at ${off}: ${w < 0 ? errnoName(w) : `short (${w} of ${n})`}`;
  }
  return null;
}

function verify(vol: Volume, f: Planned): FileCheck {
  const attr = vol.lookup(1, f.name);
  if (typeof attr === 'number') return { name: f.name, size: f.size, ok: false, why: 'missing' };
  // lookup counts like a kernel lookup: forget it, or the unlinked file (and its pages) would live on.
  try {
    return compare(vol, f, attr);
  } finally {
    vol.forget(attr.ino, 1);
  }
}

function compare(vol: Volume, f: Planned, attr: Attr): FileCheck {
  if (attr.size !== f.size) return { name: f.name, size: f.size, ok: false, why: `size ${attr.size}, expected ${f.size}` };
  const prng = new Prng(f.seed);
  const want = Buffer.alloc(CHUNK);
  for (let off = 0; off < f.size; off += CHUNK) {
    const n = Math.min(CHUNK, f.size - off);
    prng.fill(want);
    const got = vol.read(attr.ino, off, n);
    if (typeof got === 'number') return { name: f.name, size: f.size, ok: false, why: `read at ${off}: ${errnoName(got)}` };
    if (got.length !== n || !got.equals(want.subarray(0, n))) {
      let at = 0;
      while (at < Math.min(n, got.length) && got[at] === want[at]) at++;
      return { name: f.name, size: f.size, ok: false, why: `content differs at byte ${off + at}` };
    }
  }
  return { name: f.name, size: f.size, ok: true };
}

/** pfns holding the saved image after unmount (link, meta and data pages). */
function savedPages(machine: Machine): Set<number> {
  const { owner } = machine.kernel.frames;
  const out = new Set<number>();
  for (let p = 0; p < owner.length; p++) {
    const o = owner[p];
    if (o === Owner.Link || o === Owner.Meta || o === Owner.Data) out.add(p);
  }
  return out;
}

function bytes(n: number): string {
  return n !== 0 && n % MiB === 0 ? `${n / MiB}M` : String(n);
}

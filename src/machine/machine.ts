// The simulated machine: RAM (one SimRam), a firmware memory map, a kernel
// that boots on it, kexec, a console and a tiny sysfs. One seed decides
// everything; the machine prints `SEED=` and the options it derived first.
// The file system on it is fs/'s Volume (see cli/scenario.ts); this file only
// models what happens to physical memory.
//
// ## Fault model (what can hurt pram's pages)
//
// - RAM survives kexec: no page changes unless listed here. Cold boots do not exist.
// - Firmware map: fixed per machine — the legacy hole 640 KiB..1 MiB
//   (`legacyHole`) and one MMIO hole of `mmioHoleBytes` at a seeded 2 MiB-aligned
//   place in the upper half of RAM. Pages there are absent (never pram's).
// - Every boot, before pram's chain is reserved (RFC: pram_reserve() follows
//   initmem_init() in setup_arch), memblock reserves, in this order:
//     1. low memory, the first 1 MiB (x86 keeps it: BIOS data, trampoline);
//     2. the kernel image and the initrd where the bootloader (first boot:
//        kernel at `kernelLoadBytes`, initrd top-down from the top of RAM) or
//        kexec (later boots) put them;
//     3. `earlyAllocsMin..earlyAllocsMax` early allocations of 1..`earlyAllocPagesMax`
//        pages (skewed small), bottom-up from a seeded offset in a window of
//        `earlyWindowBytes` above the kernel image's end (Linux's early
//        allocations sit near the kernel); with `strayAllocProbability` one lands
//        top-down from a random place anywhere in RAM instead.
//     4. injected faults: `injectEarlyReservation()` ranges (tests aim one at a saved page).
//   A saved pram page among these is *busy*: Pram.reserve rolls back and drops
//   the image. With the ban on, every one of these reservations is banned, so
//   pram (which never stores data in banned pages) keeps out of the places the
//   next boot will reserve again.
// - Then pram's chain is reserved from `pram=` (Pram.reserve, the RFC's
//   pram_reserve() in setup_arch), through the same memblock: a saved page under
//   any reservation above is busy, and the whole image is rolled back and dropped
//   (/sys/kernel/pram then reads 0). Only after that does the page allocator take
//   every unreserved page, and the running kernel allocates
//   `runtimeAllocsMin..runtimeAllocsMax` runs of 1..`runtimeAllocPagesMax` pages
//   at seeded places anywhere free and writes them. Reserving first is what keeps
//   these off the saved image. A later `mount` loads the reserved chain (once per
//   boot: `takeBooted()`).
// - `kexec --load` places the next kernel's segments (kernel image, initrd,
//   purgatory, boot params) in [--mem-min, --mem-max): kernel image at one of
//   the first `kexecJitterSlots` 2 MiB-aligned holes that fit, the rest top-down,
//   the initrd lowered by up to `initrdJitterBytes`. `kexec -e` overwrites
//   exactly those pages. The new kernel reserves its image and initrd (a saved
//   page there is also busy); purgatory and boot-params pages are free again, so
//   a saved page there is only *corrupted* (its checksum fails at load).
// - `noBan`: pram_banned= is ignored and reservations are not banned; pram's
//   pages then land where the next kernel is loaded or allocates.

import { withPramPfn } from '../boot/params.js';
import { ENOMEM, EINVAL } from '../format/errno.js';
import { SimRam } from '../mem/simram.js';
import type { PageAllocator } from '../boot/allocator.js';
import type { Memblock } from '../boot/memblock.js';
import type { ReserveResult } from '../pram/types.js';
import { e820Lines, firmwareMap, type FirmwareMap } from './firmware.js';
import { bootKernel, range, type EarlyBootOptions, type KernelState, type Segment } from './kernel.js';
import { copySegments, placeSegments } from './kexec.js';
import { Prng } from './prng.js';

const MiB = 1 << 20;

export interface MachineOptions extends EarlyBootOptions {
  seed: number;
  ramBytes: number;
  pageSize: number;
  /** The first boot's command line. */
  cmdline: string;
  legacyHole: boolean;
  mmioHoleBytes: number;
  kernelImageBytes: number;
  initrdBytes: number;
  kernelLoadBytes: number;
  kernelAlignBytes: number;
  kexecJitterSlots: number;
  initrdJitterBytes: number;
}

export const MACHINE_DEFAULTS: Omit<MachineOptions, 'seed'> = {
  ramBytes: 512 * MiB,
  pageSize: 4096,
  cmdline: 'console=ttyS0 root=/dev/vda ro pram_banned=0-128M',
  legacyHole: true,
  mmioHoleBytes: 16 * MiB,
  kernelImageBytes: 12 * MiB,
  initrdBytes: 16 * MiB,
  kernelLoadBytes: 16 * MiB,
  kernelAlignBytes: 2 * MiB,
  kexecJitterSlots: 4,
  initrdJitterBytes: 4 * MiB,
  bannedCapacity: 34,
  noBan: false,
  earlyAllocsMin: 12,
  earlyAllocsMax: 32,
  earlyAllocPagesMax: 256,
  earlyWindowBytes: 16 * MiB,
  strayAllocProbability: 0,
  runtimeAllocsMin: 32,
  runtimeAllocsMax: 128,
  runtimeAllocPagesMax: 32,
};

/** Where the chain head is published (structurally pram/'s Handoff): /sys/kernel/pram. */
export interface MachineHandoff {
  read(): { headPfn: number; generation: number } | null;
  commit(headPfn: number, generation: number): void;
}

/** What this boot's early boot left for the mount (fs/ VolumeOptions.booted). */
export interface BootedMemory { memblock: Memblock; allocator: PageAllocator; reserved: ReserveResult }

export interface KexecLoad { cmdline: string; memMinBytes?: number; memMaxBytes?: number }

export class Machine {
  readonly options: MachineOptions;
  readonly prng: Prng;
  readonly ram: SimRam;
  readonly firmware: FirmwareMap;
  readonly console: string[] = [];
  kernel!: KernelState;
  boots = 0;
  /** What kexec -e overwrote at the last kexec (empty before the first). */
  lastOverwrite: Segment[] = [];
  private loaded: { cmdline: string; segments: Segment[] } | null = null;
  private mountedThisBoot = false;
  private injected: Segment[] = [];
  private exported = 0;        // /sys/kernel/pram of the running kernel
  private generation = 0;      // beside the pfn only inside one kernel's life
  private readonly kernelImage: Buffer;
  private readonly initrd: Buffer;

  constructor(opts: Partial<MachineOptions> & { seed: number }) {
    this.options = { ...MACHINE_DEFAULTS, ...opts };
    const o = this.options;
    this.prng = new Prng(o.seed);
    this.log(`SEED=${o.seed}`);
    this.firmware = firmwareMap({ ramBytes: o.ramBytes, pageSize: o.pageSize, legacyHole: o.legacyHole, mmioHoleBytes: o.mmioHoleBytes }, this.prng);
    this.log(`options: ram=${o.ramBytes / MiB}M page=${o.pageSize} kernel=${o.kernelImageBytes / MiB}M initrd=${o.initrdBytes / MiB}M ` +
      `early=${o.earlyAllocsMin}..${o.earlyAllocsMax}x<=${o.earlyAllocPagesMax}p window=${o.earlyWindowBytes / MiB}M ` +
      `stray=${o.strayAllocProbability} runtime=${o.runtimeAllocsMin}..${o.runtimeAllocsMax}x<=${o.runtimeAllocPagesMax}p kexec-slots=${o.kexecJitterSlots} ban=${o.noBan ? 'off' : 'on'} ` +
      `holes=${this.firmware.holes.map((h) => `${h.start.toString(16)}-${h.end.toString(16)}`).join(',') || 'none'}`);
    this.ram = new SimRam({ pageSize: o.pageSize, pageCount: Math.floor(o.ramBytes / o.pageSize), holes: this.firmware.holes });
    // The same vmlinuz and initrd files are kexec'd every time: seeded once.
    this.kernelImage = this.prng.bytes(o.kernelImageBytes);
    this.initrd = this.prng.bytes(o.initrdBytes);
    this.bootFirst();
  }

  /** The console: every boot's log, prefixed with the boot number. */
  log(line: string): void {
    this.console.push(this.boots > 0 ? `[${this.boots}] ${line}` : line);
  }

  /** A tiny sysfs/procfs: /sys/kernel/pram (hex head pfn) and /proc/cmdline. */
  readFile(path: string): string | number {
    if (path === '/sys/kernel/pram') return this.exported.toString(16);
    if (path === '/proc/cmdline') return this.kernel.cmdline;
    return -EINVAL;
  }

  /** /sys/kernel/pram as a pram Handoff: the image this kernel reserved; save publishes here. */
  readonly handoff: MachineHandoff = {
    read: () => (this.exported ? { headPfn: this.exported, generation: this.generation } : null),
    commit: (headPfn: number, generation: number) => { this.exported = headPfn; this.generation = generation; },
  };

  /**
   * The early boot's memory for this boot's mount: memblock, the allocator and
   * the chain reserved at early boot. Once per boot (a second mount would need
   * the chain saved at unmount reserved again, which only the next boot does); null after.
   */
  takeBooted(): BootedMemory | null {
    if (this.mountedThisBoot) return null;
    this.mountedThisBoot = true;
    const k = this.kernel;
    return { memblock: k.memblock, allocator: k.allocator, reserved: k.reserved };
  }

  /** Fault injection: the next boot's early boot also reserves [start, start+pages). */
  injectEarlyReservation(start: number, pages: number, what = 'injected early allocation'): void {
    this.injected.push({ what, start, pages });
  }

  /** kexec --load: place the segments in [memMin, memMax); 0, or -ENOMEM (logged) when they do not fit. */
  kexecLoad(req: KexecLoad): number {
    const o = this.options, page = o.pageSize;
    const placed = placeSegments(this.ram, this.sizes(), {
      memMinPfn: Math.ceil((req.memMinBytes ?? 0) / page),
      memMaxPfn: Math.floor((req.memMaxBytes ?? o.ramBytes) / page),
      kernelAlignPages: Math.max(1, Math.floor(o.kernelAlignBytes / page)),
      jitterSlots: o.kexecJitterSlots,
      initrdJitterPages: Math.floor(o.initrdJitterBytes / page),
    }, this.prng);
    if (typeof placed === 'string') { this.log(`kexec: ${placed}`); return -ENOMEM; }
    this.loaded = { cmdline: req.cmdline, segments: placed };
    for (const s of placed) this.log(`kexec: ${s.what} at ${range(s.start, s.pages, page)}`);
    return 0;
  }

  /** kexec -e: overwrite the loaded segments' pages, boot the new kernel on the rest of RAM as it is. */
  kexecExec(): number {
    if (!this.loaded) { this.log('kexec: no kernel loaded'); return -EINVAL; }
    const { cmdline, segments } = this.loaded;
    this.loaded = null;
    this.log('kexec: Starting new kernel');
    const pages = copySegments(this.ram, segments, (s) => this.content(s, cmdline));
    this.lastOverwrite = segments;
    this.boot(cmdline, segments, pages);
    return 0;
  }

  /** The RFC's step 3 in one call: load with pram=$(cat /sys/kernel/pram) appended, then execute. */
  kexecWithPram(memMinBytes: number, memMaxBytes: number, extra = ''): number {
    const head = parseInt(String(this.readFile('/sys/kernel/pram')), 16);
    const cmdline = withPramPfn(`${this.kernel.cmdline} ${extra}`, head || null);
    const r = this.kexecLoad({ cmdline, memMinBytes, memMaxBytes });
    return r < 0 ? r : this.kexecExec();
  }

  private sizes() {
    const page = this.options.pageSize;
    return {
      kernelPages: Math.ceil(this.options.kernelImageBytes / page),
      initrdPages: Math.ceil(this.options.initrdBytes / page),
      purgatoryPages: Math.ceil((64 << 10) / page),
      bootParamsPages: 1,
    };
  }

  private content(s: Segment, cmdline: string): Uint8Array {
    if (s.what === 'kernel image') return this.kernelImage;
    if (s.what === 'initrd') return this.initrd;
    if (s.what === 'boot params') return Buffer.from(cmdline + '\0');
    return this.prng.bytes(s.pages * this.options.pageSize);
  }

  /** Power-on: the bootloader puts the kernel at its load address and the initrd at the top of RAM. */
  private bootFirst(): void {
    const o = this.options, page = o.pageSize, sizes = this.sizes();
    const align = Math.max(1, Math.floor(o.kernelAlignBytes / page));
    const placed = placeSegments(this.ram, { ...sizes, purgatoryPages: 0, bootParamsPages: 0 }, {
      memMinPfn: Math.floor(o.kernelLoadBytes / page), memMaxPfn: this.ram.pageCount,
      kernelAlignPages: align, jitterSlots: 1, initrdJitterPages: 0,
    }, this.prng);
    if (typeof placed === 'string') throw new RangeError(`machine too small: ${placed}`);
    copySegments(this.ram, placed, (s) => this.content(s, o.cmdline));
    this.boot(o.cmdline, placed, 0);
  }

  private boot(cmdline: string, segments: Segment[], overwritten: number): void {
    this.boots++;
    this.exported = 0;
    this.generation = 0;
    this.log(`Linux version pram-sim (boot ${this.boots})${overwritten ? `, kexec overwrote ${overwritten} pages` : ''}`);
    for (const line of e820Lines(this.firmware)) this.log(line);
    this.kernel = bootKernel({
      boot: this.boots, mem: this.ram, cmdline, segments, prng: this.prng, opts: this.options,
      log: (line) => this.log(line), injected: this.injected,
    });
    this.injected = [];
    this.mountedThisBoot = false;
    // RFC: /sys/kernel/pram shows the reserved image (pram=), 0 once it was dropped, until saved anew.
    this.exported = this.kernel.reserved.headPfn;
  }
}

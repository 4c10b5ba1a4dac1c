// kexec on the simulated machine: `kexec --load` places the next kernel's
// segments (kernel image, initrd, purgatory, boot parameters) inside
// [--mem-min, --mem-max) like kexec-tools' locate_hole — kernel image
// bottom-up at 2 MiB alignment, the rest top-down — with a seeded choice among
// the first few holes that fit. Placement looks only at the firmware map, not
// at what the running kernel uses: `kexec -e` then copies the segments over
// whatever is there. Nothing else of RAM is touched.

import type { PhysMem } from '../mem/physmem.js';
import type { Segment } from './kernel.js';
import type { Prng } from './prng.js';

export interface KexecSizes {
  kernelPages: number;
  initrdPages: number;
  purgatoryPages: number;
  bootParamsPages: number;
}

export interface PlaceOptions {
  memMinPfn: number;          // inclusive
  memMaxPfn: number;          // exclusive
  kernelAlignPages: number;
  /** The kernel image goes into one of the first `jitterSlots` aligned holes that fit. */
  jitterSlots: number;
  /** The initrd's top-down placement is lowered by up to this many pages. */
  initrdJitterPages: number;
}

/** The segments' places, or a message saying what did not fit. */
export function placeSegments(mem: PhysMem, sizes: KexecSizes, opts: PlaceOptions, prng: Prng): Segment[] | string {
  const lo = Math.max(0, opts.memMinPfn), hi = Math.min(mem.pageCount, opts.memMaxPfn);
  const taken: Segment[] = [];
  const fits = (start: number, pages: number): boolean => {
    if (start < lo || start + pages > hi) return false;
    for (const s of taken) if (start < s.start + s.pages && s.start < start + pages) return false;
    for (let p = start; p < start + pages; p++) if (!mem.present(p)) return false;
    return true;
  };

  // Kernel image: bottom-up, aligned, one of the first few candidates.
  const align = Math.max(1, opts.kernelAlignPages);
  const candidates: number[] = [];
  for (let p = Math.ceil(Math.max(lo, 1) / align) * align; p + sizes.kernelPages <= hi && candidates.length < opts.jitterSlots; p += align) {
    if (fits(p, sizes.kernelPages)) candidates.push(p);
  }
  if (candidates.length === 0) return `cannot place the kernel image (${sizes.kernelPages} pages) in ${describe(lo, hi)}`;
  taken.push({ what: 'kernel image', start: candidates[prng.below(candidates.length)]!, pages: sizes.kernelPages });

  // The rest: top-down below mem-max, the initrd lowered by a seeded amount.
  const topDown = (what: string, pages: number, jitter: number): string | null => {
    if (pages === 0) return null;
    let p = hi - pages - (jitter > 0 ? prng.below(jitter + 1) : 0);
    for (; p >= lo; p--) if (fits(p, pages)) { taken.push({ what, start: p, pages }); return null; }
    // The jitter may have pushed it below every hole: retry from the top.
    for (p = hi - pages; p >= lo; p--) if (fits(p, pages)) { taken.push({ what, start: p, pages }); return null; }
    return `cannot place the ${what} (${pages} pages) in ${describe(lo, hi)}`;
  };
  return topDown('initrd', sizes.initrdPages, opts.initrdJitterPages)
    ?? topDown('purgatory', sizes.purgatoryPages, 0)
    ?? topDown('boot params', sizes.bootParamsPages, 0)
    ?? taken;
}

/** kexec -e: copy each segment's bytes over its pages. Exactly these pages change. */
export function copySegments(mem: PhysMem, segments: Segment[], content: (s: Segment) => Uint8Array): number {
  let pages = 0;
  for (const s of segments) {
    const bytes = content(s);
    for (let i = 0; i < s.pages; i++) {
      const page = mem.page(s.start + i);
      const from = i * mem.pageSize;
      page.fill(0);
      if (from < bytes.length) page.set(bytes.subarray(from, Math.min(bytes.length, from + mem.pageSize)));
      pages++;
    }
  }
  return pages;
}

function describe(lo: number, hi: number): string {
  return `pfns ${lo.toString(16)}-${(hi - 1).toString(16)}`;
}

// Load on mount: turn the reserved chain into NodeImage[] without copying a
// data page. Pages are verified against their entry's checksum (all of them,
// or with 'lazy' only link and meta pages; data pages then verify on first
// read, see pram.ts). Everything that cannot be restored is reported in
// `losses` exactly: which file, which page, which byte range. In RFC mode the
// first failure stops the load (files loaded so far stay); in salvage mode
// only the damaged piece is lost. Tree repair (names, parents) is tree.ts's.

import type { PhysMem } from '../mem/physmem.js';
import { PageFlag, type PageFrames } from '../boot/frames.js';
import { EINVAL } from '../format/errno.js';
import { crc32c } from '../format/crc.js';
import { DecodeError } from '../format/reader.js';
import { decodeFileImage } from '../format/decode.js';
import { EntryType, ENTRY_LRU, ENTRY_TYPE_MASK } from '../format/v1.js';
import { decodeNamePage, decodeXattrPage, entryPages, type ExtraName, type MetaTail } from '../format/v2.js';
import type { Loss, NodeImage, PageMap } from './image.js';
import { EntryFault, type Log, type ReserveResult } from './types.js';
import { faultText, hexPfn } from './reserve.js';

const S_IFMT = 0o170000, S_IFREG = 0o100000;

/** A node while it is being loaded. */
export interface NodeBuild {
  node: NodeImage;
  tail: MetaTail | null;
  metaPfn: number;
  dataSeen: number;          // data pages found (adopted or damaged)
  xattrParts: Uint8Array[];
  path: string;              // filled in by tree.ts
}

/** A run saved as one EXTENT entry: its checksum covers all its pages. */
export interface Run { count: number; csum: number }

export interface LoadState {
  builds: NodeBuild[];
  extraNames: ExtraName[];
  losses: Loss[];
  chainPages: number[];      // loaded-chain pages no node adopted: freed after the next commit
  runs: Map<number, Run>;    // extents of the loaded chain, by first pfn
  runHead: Int32Array;       // pfn -> first pfn of its run + 1, 0 if none
  pathOf: Map<Loss, NodeBuild>; // losses whose path is final only after tree.ts
}

export interface LoadContext {
  mem: PhysMem;
  frames: PageFrames;
  verify: 'full' | 'lazy';
  log: Log;
  newPageMap: () => PageMap;
  runs: Map<number, Run>;
  runHead: Int32Array;
}

export function runCsum(mem: PhysMem, pfn: number, count: number): number {
  const run = mem.run(pfn, count);
  if (run) return crc32c(run);
  let c = 0;
  for (let q = pfn; q < pfn + count; q++) c = crc32c(mem.page(q), c);
  return c;
}

export function readEntries(r: ReserveResult, ctx: LoadContext): LoadState {
  const { mem, frames } = ctx;
  const st: LoadState = { builds: [], extraNames: [], losses: [], chainPages: [...r.links], runs: ctx.runs, runHead: ctx.runHead, pathOf: new Map() };
  const e = r.entries;
  let cur: NodeBuild | null = null;
  let curLost = false;        // the current node's meta page was lost: its data pages go too
  let stopped = false;
  const lose = (l: Loss) => st.losses.push(l);
  const fail = (pfn: number, what: string, b: NodeBuild | null = null): void => {
    const l: Loss = { path: b?.path ?? null, pfn, what };
    lose(l);
    if (b) st.pathOf.set(l, b);
    if (!r.salvage) {
      ctx.log(`PRAM: pfn:${hexPfn(pfn)} corrupted`);
      ctx.log(`PRAM: Failed to load FS tree: ${-EINVAL}`);
      stopped = true;
    }
  };

  for (let i = 0; i < e.length; i++) {
    const flags = e.flags[i]!, pfn = e.pfn[i]!, index = e.index[i]!, csum = e.csum[i]!;
    if (e.fault[i] !== EntryFault.None) {
      // Not reserved (reserve logged it): say which file loses what.
      const t = flags & ENTRY_TYPE_MASK, n = entryPages(flags), ps = mem.pageSize;
      const why = faultText(e.fault[i]! as EntryFault);
      const shown = pfn ? `pfn:${hexPfn(pfn)}` : 'a pfn outside memory';
      if ((t === EntryType.Data || t === EntryType.Extent) && cur && !curLost) {
        cur.dataSeen += n;
        const range = { start: index * ps, end: (index + n) * ps };
        const l: Loss = { path: cur.path, pfn: pfn || null, range, what: `data page${n > 1 ? 's' : ''} ${index} (bytes ${range.start}-${range.end - 1}) lost: entry names ${shown}: ${why}` };
        lose(l); st.pathOf.set(l, cur);
      } else if (t === EntryType.Meta || t === EntryType.Node) {
        cur = null; curLost = true;
        lose({ path: null, pfn: pfn || null, what: `meta page ${shown} lost (${why}): the file it describes is lost with its data` });
      } else if (!(cur === null && curLost)) {
        lose({ path: cur?.path ?? null, pfn: pfn || null, what: `entry of type ${t} naming ${shown} lost: ${why}` });
      }
      if (!r.salvage) stopped = true;
      continue;
    }
    const count = entryPages(flags);
    if (stopped) { for (let q = pfn; q < pfn + count; q++) st.chainPages.push(q); continue; }
    const type = flags & ENTRY_TYPE_MASK;
    const own = () => { for (let q = pfn; q < pfn + count; q++) st.chainPages.push(q); };

    if (type === EntryType.Meta || type === EntryType.Node || type === EntryType.Name || type === EntryType.Xattr) {
      own();
      const page = mem.page(pfn);
      const actual = crc32c(page);
      if (actual !== csum) {
        const what = `${typeName(type)} page pfn:${hexPfn(pfn)} failed crc32c (saved 0x${hex(csum)}, computed 0x${hex(actual)})`;
        if (type === EntryType.Meta || type === EntryType.Node) { cur = null; curLost = true; fail(pfn, `${what}: the file it describes is lost with its data`); }
        else fail(pfn, what, cur);
        continue;
      }
      if (type === EntryType.Name) {
        const n = decodeNamePage(page);
        if (n instanceof DecodeError) fail(pfn, `NAME page pfn:${hexPfn(pfn)}: ${n.message}`);
        else st.extraNames.push(n);
        continue;
      }
      if (type === EntryType.Xattr) {
        const part = decodeXattrPage(page);
        if (!cur || curLost) fail(pfn, `XATTR page pfn:${hexPfn(pfn)} follows no file`);
        else if (part instanceof DecodeError) fail(pfn, `XATTR page pfn:${hexPfn(pfn)}: ${part.message}`, cur);
        else if (index !== cur.xattrParts.length) fail(pfn, `XATTR page pfn:${hexPfn(pfn)} out of order (index ${index})`, cur);
        else cur.xattrParts.push(Uint8Array.from(part));
        continue;
      }
      const img = decodeFileImage(page);
      cur = null; curLost = true;
      if (img instanceof DecodeError) { fail(pfn, `meta page pfn:${hexPfn(pfn)}: ${img.message}`); continue; }
      if (type === EntryType.Meta && (img.mode & S_IFMT) !== S_IFREG) { fail(pfn, `META page pfn:${hexPfn(pfn)} '${img.name}': mode 0${img.mode.toString(8)} is not a regular file`); continue; }
      if (type === EntryType.Node && !img.tail) { fail(pfn, `NODE page pfn:${hexPfn(pfn)} '${img.name}' has no valid tail`); continue; }
      const isRoot = img.tail?.ino === 1;
      if ((img.name === '') !== isRoot) { fail(pfn, `meta page pfn:${hexPfn(pfn)}: ${isRoot ? 'root has a name' : 'empty name'}`); continue; }
      const t = img.tail;
      const node: NodeImage = {
        ino: t?.ino ?? 0, mode: img.mode, uid: t?.uid ?? 0, gid: t?.gid ?? 0, rdev: t?.rdev ?? 0, size: img.size,
        atimeNs: t?.atimeNs ?? 0n, mtimeNs: t?.mtimeNs ?? 0n, ctimeNs: t?.ctimeNs ?? 0n,
        names: isRoot ? [] : [{ parent: t?.parent ?? 1, name: img.name }],
        xattrs: [], pages: ctx.newPageMap(),
      };
      cur = { node, tail: t, metaPfn: pfn, dataSeen: 0, xattrParts: t?.xattrInline ? [Uint8Array.from(t.xattrInline)] : [], path: img.name };
      curLost = false;
      st.builds.push(cur);
      continue;
    }

    if (type !== EntryType.Data && type !== EntryType.Extent) {
      own();
      fail(pfn, `entry of unknown type ${type} (flags 0x${hex(flags)}) names pfn:${hexPfn(pfn)}`, cur);
      continue;
    }
    if (!cur) {
      own();
      if (!curLost) fail(pfn, `data page pfn:${hexPfn(pfn)} (index ${index}) follows no file`);
      continue;
    }
    const b = cur;
    cur.dataSeen += count;
    const ps = mem.pageSize;
    const range = { start: index * ps, end: (index + count) * ps };
    const pagesMax = Math.ceil(b.node.size / ps);
    let dup = false;
    for (let k = 0; k < count && !dup; k++) dup = b.node.pages.get(index + k) !== 0;
    if (index + count > pagesMax || dup) {
      own();
      fail(pfn, `data page pfn:${hexPfn(pfn)}${count > 1 ? `+${count}` : ''} index ${index}: ` +
        (dup ? 'index already present' : `beyond the file size ${b.node.size}`), b);
      continue;
    }
    // Adopt: the page now belongs to the node and to the committed checkpoint.
    let flagsOut: number = PageFlag.Frozen | (flags & ENTRY_LRU ? PageFlag.Lru : 0);
    if (count > 1) {
      st.runs.set(pfn, { count, csum });
      for (let q = pfn; q < pfn + count; q++) st.runHead[q] = pfn + 1;
      flagsOut |= PageFlag.Dirty; // no per-page checksum is known for pages of a run
    }
    if (ctx.verify === 'lazy') {
      flagsOut |= PageFlag.Unverified;
      if (count === 1) frames.csum[pfn] = csum;
    } else {
      const actual = count === 1 ? crc32c(mem.page(pfn)) : runCsum(mem, pfn, count);
      if (count === 1) frames.csum[pfn] = actual;
      if (actual !== csum) {
        flagsOut |= PageFlag.Bad;
        if (count === 1) frames.csum[pfn] = csum; // keep the saved value: the damage stays detectable
        const l: Loss = { path: b.path, pfn, range, what: `data page${count > 1 ? 's' : ''} ${index}${count > 1 ? `-${index + count - 1}` : ''} ` +
          `(bytes ${range.start}-${range.end - 1}) failed crc32c (saved 0x${hex(csum)}, computed 0x${hex(actual)})` };
        lose(l);
        st.pathOf.set(l, b);
        if (!r.salvage) {
          ctx.log(`PRAM: pfn:${hexPfn(pfn)} corrupted`);
          ctx.log(`PRAM: Failed to load FS tree: ${-EINVAL}`);
          stopped = true;
          own();
          continue;
        }
      }
    }
    for (let k = 0; k < count; k++) {
      frames.flags[pfn + k] = flagsOut;
      b.node.pages.set(index + k, pfn + k);
    }
  }
  return st;
}

function typeName(t: number): string {
  return t === EntryType.Meta ? 'META' : t === EntryType.Node ? 'NODE' : t === EntryType.Name ? 'NAME' : 'XATTR';
}

export function hex(v: number): string { return v.toString(16).padStart(8, '0'); }

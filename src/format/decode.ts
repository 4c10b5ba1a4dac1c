// Decoding of untrusted link and file image pages into plain values. Each
// failure is a value (DecodeError or a LinkFault) with a precise message; the
// engine decides whether it drops the image (RFC) or salvages around it.

import { ByteReader, DecodeError, decoding } from './reader.js';
import { LinkPageView, NAME_MAX, PRAM_MAGIC, linkLenMax } from './v1.js';
import { MetaTail, decodeTail, decodeTailFast } from './v2.js';

const SAFE_HI = 0x200000;   // a u64 whose high word is below this fits a JS number exactly

export interface FileImage {
  size: number;
  mode: number;
  name: string;        // '' only when name_len is 0 (the root directory's NODE page)
  tail: MetaTail | null;
}

/**
 * Hot (one call per file at mount): plain reads, no reader objects. Anything
 * unusual falls back to the bounded reader below, which names the exact fault.
 */
export function decodeFileImage(page: Buffer): FileImage | DecodeError {
  if (page.length >= 16 + NAME_MAX) {
    const lo = page.readUInt32LE(0), hi = page.readUInt32LE(4);
    const nameLen = page.readUInt32LE(12);
    if (hi < SAFE_HI && nameLen <= NAME_MAX && plainName(page, nameLen)) {
      const tail = decodeTailFast(page);
      if (tail !== undefined) {
        const name = nameLen === 0 ? '' : page.toString('utf8', 16, 16 + nameLen);
        if (name !== '.' && name !== '..') return { size: lo + hi * 4294967296, mode: page.readUInt32LE(8), name, tail };
      }
    }
  }
  return decodeFileImageChecked(page);
}

/** Name bytes without NUL or '/' (emptiness and '.'/'..' are the caller's). */
function plainName(page: Buffer, len: number): boolean {
  for (let i = 16; i < 16 + len; i++) { const c = page[i]!; if (c === 0 || c === 0x2f) return false; }
  return true;
}

function decodeFileImageChecked(page: Buffer): FileImage | DecodeError {
  const head = decoding(() => {
    const r = new ByteReader(page);
    const size = r.u64('meta.size');
    const mode = r.u32('meta.mode');
    const nameLen = r.u32('meta.name_len');
    if (nameLen > NAME_MAX) throw new DecodeError('malformed', 'meta.name_len', 12, `${nameLen} > ${NAME_MAX}`);
    const name = nameLen === 0 ? '' : r.name(nameLen, NAME_MAX, 'meta.name');
    return { size, mode, name };
  });
  if (head instanceof DecodeError) return head;
  const tail = decodeTail(page);
  if (tail instanceof DecodeError) return tail;
  return { ...head, tail };
}

export type LinkFault =
  | { kind: 'magic'; saved: number }
  | { kind: 'csum'; saved: number; computed: number }
  | { kind: 'len'; len: number; max: number };

export interface LinkHeader {
  len: number;
  next: bigint;       // link_pfn, 0 = end (bigint: a hostile value may exceed 2^53)
  skip: number;       // v2 pad: low 32 bits of the link page after next, 0 = none
}

/** Check a link page as the RFC does (magic, csum), plus len <= max. */
export function decodeLinkHeader(page: Buffer): LinkHeader | LinkFault {
  const link = new LinkPageView(page);
  if (link.magic !== PRAM_MAGIC) return { kind: 'magic', saved: link.magic };
  const computed = link.computeCsum();
  if (link.csum !== computed) return { kind: 'csum', saved: link.csum, computed };
  const max = linkLenMax(page.length);
  if (link.len > max) return { kind: 'len', len: link.len, max };
  return { len: link.len, next: link.linkPfnBig, skip: link.pad };
}

export function linkFaultText(f: LinkFault): string {
  switch (f.kind) {
    case 'magic': return `bad magic 0x${f.saved.toString(16).padStart(8, '0')} (expected 0x${PRAM_MAGIC.toString(16)})`;
    case 'csum': return `link csum saved 0x${f.saved.toString(16).padStart(8, '0')} computed 0x${f.computed.toString(16).padStart(8, '0')}`;
    case 'len': return `len ${f.len} over the maximum ${f.max}`;
  }
}

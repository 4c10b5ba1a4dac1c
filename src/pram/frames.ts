// The records of a buffer (a group's, a tail's, the index's) framed and their crcs checked in one native call
// (native/records.c): a mount frames a tail of 10^4 records and groups of up to 10^5 in a fresh process, where a JS loop
// per record ran cold and then had V8 compile it on a background thread (10-15 ms of TurboFan on a 2-core machine,
// competing with the mount). groups.ts and tailread.ts decode or classify what this frames.

import { recordFrames } from '../mem/native.js';

/**
 * The records of b framed, their places in `offs`, and every crc checked: how many, or null when a header, a length,
 * the generation (`logId`, when given: a group's records carry the log id) or a crc does not check. A SPAN's framed crc
 * covers bytes 4..55, continued over any padding after its page crcs; its page crcs have a crc of their own
 * (spanCrcsDamage when it differs): both checked here.
 */
export function framesChecked(b: Buffer, logId: number | null): number | null {
  const id = logId === null ? -1 : logId >>> 0;
  let n = recordFrames(b, id, offs);
  if (n < -1) {                                             // framed, but more records than offs holds: again with room
    let room = offs.length * 2;
    while (room < -2 - n) room *= 2;
    offs = new Uint32Array(room);
    n = recordFrames(b, id, offs);
  }
  return n < 0 ? null : n;
}

/** A huge group's or tail's scratch is not kept (4 bytes a record). */
export function shrinkScratch(): void {
  if (offs.length > KEPT_RECORDS) offs = new Uint32Array(1024);
}

/**
 * Record offsets (framesChecked's answer: offs[0..n), valid until its next call; exported live, read-only to importers):
 * kept across groups up to 64 Ki records.
 */
export let offs = new Uint32Array(1024);
const KEPT_RECORDS = 1 << 16;

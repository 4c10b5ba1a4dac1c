// A protocol core past INIT over a VolumeDouble, for the byte-array tests of
// the session (session.test.ts) and of its opcodes (sessionops.test.ts).
// Used by *.test.ts only.
import assert from 'node:assert/strict';
import { FuseSession } from './session.js';
import { VolumeDouble } from './volume-double.js';
import { Bytes, parseReply, request } from './testbytes.js';
import { Op } from './wire.js';

// The kernel's numbers, written out rather than taken from format/errno.ts: a wrong value there must fail here.
export const ENOENT = 2, EIO = 5, EEXIST = 17, EINVAL = 22, ERANGE = 34, ENAMETOOLONG = 36, ENOSYS = 38, EOPNOTSUPP = 95;
export const NOW = 1_800_000_000_000_000_000n;

/** fuse_init_in as a kernel of 7.`minor` writes it, offering `flags`. */
export function initIn(flags: number, minor = 45): Bytes {
  return new Bytes()
    .u32(7)          // major
    .u32(minor)      // minor
    .u32(1 << 17)    // max_readahead
    .u32(flags)      // flags
    .u32(0)          // flags2
    .zeros(44);      // unused[11]
}

/** A session that has answered an INIT offering every flag. */
export function session(): { s: FuseSession; v: VolumeDouble } {
  const v = new VolumeDouble();
  const s = new FuseSession({ volume: v, clock: () => NOW, validity: { entrySec: 1, attrSec: 1 }, log: () => {} });
  const r = parseReply(s.handle(request({ opcode: Op.INIT, unique: 1, nodeid: 0 }, initIn(0xffffffff))));
  assert.equal(r.error, 0);
  return { s, v };
}

/** One request to `s`, its reply parsed. */
export function call(s: FuseSession, opcode: number, nodeid: number, body: Bytes = new Bytes(), unique = 7) {
  return parseReply(s.handle(request({ opcode, unique, nodeid }, body)));
}

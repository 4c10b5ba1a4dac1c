// The cost of a first touch (issue 14, fdcopy): bytes moved into and out of
// arena pages this process has not mapped yet, by memcpy through the mapping,
// by pwrite/pread on the arena's fd, and by memcpy after MADV_POPULATE_WRITE.
// Each method gets pages no mapping of this process has touched (the arena is
// reopened, so mapped afresh, before each). Not part of `npm run bench`: the
// figures that motivated the fd data path. Usage:
//   node bench/lib/firsttouch.mjs [MiB=256] [arena=/dev/shm/pram-firsttouch.arena]
import * as fs from 'node:fs';
import { Arena } from '../../dist/mem/arena.js';
import * as native from '../../dist/mem/native.js';
import { crc32c } from '../../dist/format/crc.js';
import { crc32cFile } from '../../dist/format/crc.js';

const MIB = 1 << 20;
const mib = Number(process.argv[2] ?? 256);
const file = process.argv[3] ?? '/dev/shm/pram-firsttouch.arena';
const bytes = mib * MIB;
const PS = 4096;
const src = Buffer.alloc(MIB, 0x5a);
const dst = Buffer.alloc(MIB);

fs.rmSync(file, { force: true });
Arena.create(file, { sizeBytes: bytes + PS, pageSize: PS, prefault: false }).close();

/** ms of fn(arena, pfn of MiB k) over every MiB, on a freshly mapped arena. */
function timed(name, fn, before) {
  const a = Arena.open(file, { pageSize: PS });
  try {
    let t0 = performance.now();
    if (before) before(a);
    const pre = performance.now() - t0;
    t0 = performance.now();
    for (let k = 0; k < mib; k++) fn(a, 1 + k * (MIB / PS));
    const ms = performance.now() - t0;
    const line = `${name.padEnd(46)} ${ms.toFixed(0).padStart(6)} ms ${(bytes / 1e6 / ((ms + pre) / 1000)).toFixed(0).padStart(6)} MB/s` + (before ? `  (of which populate ${pre.toFixed(0)} ms)` : '');
    console.log(line);
    return ms + pre;
  } finally { a.close(); }
}

console.log(`${mib} MiB in 1 MiB steps, arena ${file}, pages not mapped by this process before each row`);
timed('write: memcpy through the mapping', (a, pfn) => { src.copy(a.run(pfn, MIB / PS)); });
timed('write: pwrite on the arena fd', (a, pfn) => { fs.writeSync(a.fd, src, 0, MIB, pfn * PS); });
timed('write: MADV_POPULATE_WRITE, then memcpy', (a, pfn) => { src.copy(a.run(pfn, MIB / PS)); },
  (a) => native.madvise(a.run(1, bytes / PS), 0, bytes, native.constants.MADV_POPULATE_WRITE));
timed('write: memcpy again (mapping already touched)', (a, pfn) => { src.copy(a.run(pfn, MIB / PS)); },
  (a) => { const r = a.run(1, bytes / PS); for (let i = 0; i < r.length; i += PS) r[i] = r[i]; });
timed('read: memcpy out of the mapping', (a, pfn) => { a.run(pfn, MIB / PS).copy(dst); });
timed('read: pread on the arena fd', (a, pfn) => { fs.readSync(a.fd, dst, 0, MIB, pfn * PS); });
timed('crc32c: through the mapping', (a, pfn) => { crc32c(a.run(pfn, MIB / PS)); });
const off = new Float64Array(256), len = new Uint32Array(256).fill(PS);
timed('crc32c: crc32cFile (pread, 4 KiB pages)', (a, pfn) => { for (let i = 0; i < 256; i++) off[i] = (pfn + i) * PS; crc32cFile(a.fd, off, len, { threads: 1 }); });
fs.rmSync(file, { force: true });

// The FUSE server's CPU per request at the protocol core: requests built as the
// kernel writes them go through FuseSession.handle() over a real Volume (an arena
// on /dev/shm), with no /dev/fuse: µs per request by kind, the kernel's part (the
// read(2)/writev(2) of /dev/fuse, the client) left out. The request mix of each
// phase is what the kernel sends for bench/lib/metaops.c and fio's 4 KiB random
// reads and writes (seen with `pram mount --debug`).
// usage: node bench/fuse-core.mjs [--files N] [--ios N] [--arena PATH] [--json]
import * as fs from 'node:fs';
import { parseArgs } from 'node:util';
import { openVolume } from '../dist/open/volume.js';
import { wallClock } from '../dist/open/clock.js';
import { FuseSession } from '../dist/fuse/session.js';
import { WritebackPolicy } from '../dist/fuse/writeback.js';

const { values: o } = parseArgs({ options: {
  files: { type: 'string', default: '20000' }, ios: { type: 'string', default: '50000' },
  arena: { type: 'string', default: '/dev/shm/pram-fuse-core.pram' }, json: { type: 'boolean', default: false },
} });
const FILES = Number(o.files), IOS = Number(o.ios), FILE_BYTES = 64 << 20;
const Op = { LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, UNLINK: 10, READ: 15, WRITE: 16, RELEASE: 18, INIT: 26, CREATE: 35 };
const FATTR_CTIME = 1 << 10, FUSE_WRITE_CACHE = 1;

let unique = 2n;
/** fuse_in_header + body. */
function req(opcode, nodeid, body = Buffer.alloc(0)) {
  const b = Buffer.alloc(40 + body.length);
  b.writeUInt32LE(b.length, 0); b.writeUInt32LE(opcode, 4); b.writeBigUInt64LE(unique += 2n, 8);
  b.writeBigUInt64LE(BigInt(nodeid), 16); b.writeUInt32LE(0, 24); b.writeUInt32LE(0, 28); b.writeUInt32LE(4242, 32);
  body.copy(b, 40);
  return b;
}
const name = (s) => Buffer.from(s + '\0');
const u32s = (...v) => { const b = Buffer.alloc(v.length * 4); v.forEach((x, i) => b.writeUInt32LE(x, i * 4)); return b; };
const rw = (off, size, flags = 0) => { const b = Buffer.alloc(40); b.writeBigUInt64LE(BigInt(off), 8); b.writeUInt32LE(size, 16); b.writeUInt32LE(flags, 20); return b; };

fs.rmSync(o.arena, { force: true });
const { volume } = openVolume({ arena: o.arena, create: { sizeBytes: 512 << 20 }, clock: wallClock(), owner: { uid: 0, gid: 0 } });
const session = new FuseSession({ volume, clock: wallClock(), log: (l) => process.stderr.write(l + '\n'), writeback: new WritebackPolicy('headroom') });
const init = Buffer.alloc(64); init.writeUInt32LE(7, 0); init.writeUInt32LE(38, 4); init.writeUInt32LE(1 << 17, 8); init.writeUInt32LE(0xffffffff, 12);
session.handle(req(Op.INIT, 0, init)); session.replySent();

// Per request kind: the wall time of each handle() (the median: a shared machine preempts a few of them).
const ns = new Map();
/** Requests arrive in one reused buffer, as the /dev/fuse loop reads them. */
const inbuf = Buffer.allocUnsafe(1 << 20);
function send(kind, msg) {
  msg.copy(inbuf);
  const t0 = process.hrtime.bigint();
  const reply = session.handle(inbuf.subarray(0, msg.length));
  session.replySent();
  const dt = Number(process.hrtime.bigint() - t0);
  let e = ns.get(kind);
  if (!e) ns.set(kind, e = []);
  e.push(dt);
  return reply;
}
/** The node id of an entry reply (header and payload in one chunk or two). */
const nodeOf = (reply) => Number(Buffer.concat(reply).readBigUInt64LE(16));
/** A phase's CPU time (user + system of this process, µs): less sensitive to other work than its wall time. */
const phase = (label, fn) => { const c0 = process.cpuUsage(); fn(); const c = process.cpuUsage(c0); return [label, c.user + c.system]; };
const median = (a) => { const s = Float64Array.from(a).sort(); return s[s.length >> 1]; };

const dirReply = volume.mkdir(1, 'meta', 0o40755, 0, 0);
const dir = dirReply.ino;
const names = Array.from({ length: FILES }, (_, i) => name(`m${i}`));
const createIn = (n) => Buffer.concat([u32s(0o100301, 0o644, 0o22, 0), n]);   // flags O_CREAT|O_EXCL|O_WRONLY, mode, umask, open_flags
const inos = new Array(FILES);
const phases = [];
// Warm-up (cold code is not what a long-running server pays): a tenth of the work, then the figures reset.
for (const warm of [true, false]) {
  const n = warm ? Math.ceil(FILES / 10) : FILES;
  ns.clear();
  phases.length = 0;
  // Requests made before the phases time them (inode numbers are known once created; RELEASE names one just made).
  const getattrDir = Array.from({ length: n }, () => req(Op.GETATTR, dir, Buffer.alloc(16)));
  const lookups = Array.from({ length: 3 * n }, (_, i) => req(Op.LOOKUP, dir, names[i % n]));
  const creates = Array.from({ length: n }, (_, i) => req(Op.CREATE, dir, createIn(names[i])));
  phases.push(phase('create', () => {
    for (let i = 0; i < n; i++) {
      send('GETATTR', getattrDir[i]);
      send('LOOKUP (negative)', lookups[i]);
      inos[i] = nodeOf(send('CREATE', creates[i]));
      send('RELEASE', req(Op.RELEASE, inos[i], Buffer.alloc(24)));
    }
  }));
  const unlinks = Array.from({ length: n }, (_, i) => req(Op.UNLINK, dir, names[i]));
  const set = Buffer.alloc(88); set.writeUInt32LE(FATTR_CTIME, 0); set.writeBigInt64LE(1_800_000_000n, 48);
  const setattrs = Array.from({ length: n }, (_, i) => req(Op.SETATTR, inos[i], set));
  const forgets = Array.from({ length: n }, (_, i) => req(Op.FORGET, inos[i], Buffer.from(new BigUint64Array([3n]).buffer)));
  phases.push(phase('stat', () => { for (let i = 0; i < n; i++) send('LOOKUP', lookups[n + i]); }));
  phases.push(phase('unlink', () => {
    for (let i = 0; i < n; i++) {
      send('LOOKUP', lookups[2 * n + i]);
      send('UNLINK', unlinks[i]);
      send('SETATTR (ctime)', setattrs[i]);
      send('GETATTR', getattrDir[i]);
      send('FORGET', forgets[i]);
    }
  }));
}

// A 64 MiB file, then random 4 KiB reads and writes (reads of what was written, as fio lays out first).
const f = volume.mknod(1, 'data', 0o100644, 0, 0, 0);
const chunk = Buffer.alloc(1 << 20, 0x5a);
for (let off = 0; off < FILE_BYTES; off += chunk.length) volume.write(f.ino, off, chunk);
let seed = 12345;
const rnd = () => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed; };
const pages = FILE_BYTES / 4096;
const data4k = Buffer.alloc(4096, 0xa5);
const reads = Array.from({ length: IOS }, () => req(Op.READ, f.ino, rw((rnd() % pages) * 4096, 4096)));
const writes = Array.from({ length: IOS }, () => req(Op.WRITE, f.ino, Buffer.concat([rw((rnd() % pages) * 4096, 4096, FUSE_WRITE_CACHE), data4k])));
for (const warm of [true, false]) {
  const n = warm ? Math.ceil(IOS / 10) : IOS;
  ns.delete('READ 4K'); ns.delete('WRITE 4K');
  const r = phase('randread 4K', () => { for (let i = 0; i < n; i++) send('READ 4K', reads[i]); });
  const w = phase('randwrite 4K', () => { for (let i = 0; i < n; i++) send('WRITE 4K', writes[i]); });
  if (!warm) phases.push(r, w);
}
volume.unmount();
fs.rmSync(o.arena, { force: true });

const perOp = Object.fromEntries([...ns].map(([k, a]) => [k, { us: median(a) / 1e3, meanUs: a.reduce((x, y) => x + y, 0) / a.length / 1e3, n: a.length }]));
const per = Object.fromEntries(phases.map(([k, us]) => [k, us / (k.includes('4K') ? IOS : FILES)]));
if (o.json) process.stdout.write(JSON.stringify({ files: FILES, ios: IOS, perOp, perPhase: per }) + '\n');
else {
  for (const [k, v] of Object.entries(perOp)) process.stdout.write(`${k.padEnd(18)} ${v.us.toFixed(2).padStart(7)} µs median, ${v.meanUs.toFixed(2).padStart(7)} mean (n=${v.n})\n`);
  for (const [k, v] of Object.entries(per)) process.stdout.write(`phase ${k.padEnd(12)} ${v.toFixed(2).padStart(7)} µs CPU per ${k.includes('4K') ? 'I/O' : 'file'}\n`);
}

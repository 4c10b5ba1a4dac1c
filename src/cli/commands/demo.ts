// pram demo — the main job: process A writes a working set (many small files,
// a few large ones, seeded content) into an arena and exits. Fresh processes
// then get it back: pram mounted with deferred ('lazy') and with full
// verification, and — beside them — the same bytes read from an ordinary file
// on disk with the page cache dropped, and from a file on tmpfs. Each phase is
// a child process of this one (`--phase`), so nothing survives between them
// but the arena and the files. Every file is checked against a manifest
// (sha256, outside the timed regions). Everything is removed at the end
// unless --keep. The arena uses extents (the fast path, see docs/FORMAT.md).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Option, type Command } from 'commander';
import { mount } from '../../api/index.js';
import { Prng } from '../../machine/prng.js';
import { EXIT, fail, formatSize, parseSize } from '../util.js';

interface DemoOpts { size: string; seed: string; arena?: string; keep?: boolean; phase?: Phase; file?: string; verify?: 'full' | 'lazy'; json?: boolean; v1?: boolean }
type Phase = 'write' | 'ready' | 'files' | 'read';
interface Planned { path: string; size: number; seed: number }
type Result = Record<string, number | boolean | string>;

const POOL_BYTES = 4 << 20;
const LARGE_COUNT = 3;
const TMPFS_MAGIC = 0x01021994;

/** The working set: a quarter in small files (1-32 KiB, 64 per directory), the rest in LARGE_COUNT large files. */
function plan(totalBytes: number, seed: number): Planned[] {
  const prng = new Prng(seed);
  const out: Planned[] = [];
  let small = Math.floor(totalBytes / 4);
  for (let i = 0; small > 0; i++) {
    const size = Math.min(small, prng.range(1024, 32 * 1024));
    out.push({ path: `/demo/small/d${String(Math.floor(i / 64)).padStart(3, '0')}/f${String(i).padStart(5, '0')}`, size, seed: prng.next() });
    small -= size;
  }
  const large = Math.floor((totalBytes - Math.floor(totalBytes / 4)) / LARGE_COUNT);
  for (let i = 0; i < LARGE_COUNT; i++) out.push({ path: `/demo/large/big${i}.bin`, size: large, seed: prng.next() });
  return out;
}

/** Seeded content: slices of one random pool, stamped every 4 KiB with the file's seed and position so no two pages repeat. */
function content(pool: Buffer, f: Planned): Buffer {
  const b = Buffer.allocUnsafe(f.size);
  let pos = 0;
  let at = f.seed % (POOL_BYTES - 4096);
  while (pos < f.size) {
    const n = Math.min(f.size - pos, POOL_BYTES - at);
    pool.copy(b, pos, at, at + n);
    pos += n;
    at = 0;
  }
  for (let p = 0; p + 8 <= f.size; p += 4096) { b.writeUInt32LE(f.seed, p); b.writeUInt32LE(p / 4096, p + 4); }
  return b;
}

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const poolFor = (seed: number) => new Prng(seed ^ 0x5eed).bytes(POOL_BYTES);

/** Process A: the working set into a new arena, with a manifest of every file's sha256. */
async function phaseWrite(arena: string, total: number, seed: number, extents: boolean): Promise<Result> {
  const files = plan(total, seed);
  const pool = poolFor(seed);
  const t0 = performance.now();
  const pfs = await mount({ arena, create: { sizeBytes: arenaSize(total) }, extents, cmdline: '' });
  const manifest: Record<string, string> = {};
  const dirs = new Set<string>();
  let bytes = 0;
  for (const f of files) {
    const dir = nodePath.posix.dirname(f.path);
    if (!dirs.has(dir)) { await pfs.mkdir(dir, { recursive: true }); dirs.add(dir); }
    const data = content(pool, f);
    await pfs.writeFile(f.path, data);
    manifest[f.path] = sha(data);
    bytes += data.length;
  }
  await pfs.writeFile('/demo/manifest.json', JSON.stringify(manifest));
  await pfs.unmount();
  return { files: files.length, bytes, writeMs: performance.now() - t0 };
}

/** A fresh process gets the arena back: mount (ready), then every file read and checked. */
async function phaseReady(arena: string, verify: 'full' | 'lazy'): Promise<Result> {
  const t0 = performance.now();
  const pfs = await mount({ arena, verify, cmdline: '' });
  const mountMs = performance.now() - t0;
  const manifest = JSON.parse(await pfs.readFile('/demo/manifest.json', 'utf8')) as Record<string, string>;
  let bad = 0, bytes = 0, readMs = 0;
  for (const [p, want] of Object.entries(manifest)) {
    const t = performance.now();
    const data = await pfs.readFile(p);
    readMs += performance.now() - t;
    bytes += data.length;
    if (sha(data) !== want) bad++;
  }
  const losses = pfs.losses.length;
  await pfs.unmount({ save: false });
  return { mountMs, readMs, files: Object.keys(manifest).length, bytes, bad, losses };
}

/** The same bytes as one ordinary file on disk and one on tmpfs, written and synced. */
function phaseFiles(disk: string, tmp: string, total: number, seed: number): Result {
  const files = plan(total, seed);
  const pool = poolFor(seed);
  const fds = [fs.openSync(disk, 'w', 0o600), fs.openSync(tmp, 'w', 0o600)];
  for (const f of files) { const d = content(pool, f); for (const fd of fds) fs.writeSync(fd, d); }
  for (const fd of fds) { fs.fsyncSync(fd); fs.closeSync(fd); }
  let cold = false;
  try { spawnSync('sync'); fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n'); cold = true; } catch { /* not root: the disk read may hit the page cache */ }
  let tmpfsDisk = false;
  try { tmpfsDisk = fs.statfsSync(nodePath.dirname(disk)).type === TMPFS_MAGIC; } catch { /* unknown: assume a disk */ }
  return { cold, tmpfsDisk };
}

/** A fresh process reads a file back whole (time to ready: the bytes are in memory), then checks it. */
function phaseRead(file: string, total: number, seed: number): Result {
  const t0 = performance.now();
  const all = fs.readFileSync(file);
  const readMs = performance.now() - t0;
  let pos = 0, bad = 0;
  const pool = poolFor(seed);
  for (const f of plan(total, seed)) { if (sha(all.subarray(pos, pos + f.size)) !== sha(content(pool, f))) bad++; pos += f.size; }
  return { readMs, bytes: all.length, bad };
}

function arenaSize(total: number): number {
  return Math.ceil((total * 1.25 + (64 << 20)) / (1 << 20)) * (1 << 20);
}

function child(args: string[]): Result {
  const r = spawnSync(process.execPath, [process.argv[1]!, 'demo', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`demo phase ${args.join(' ')} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Result;
}

/** The working set, shrunk (with a note) when the arena's file system cannot hold it: Docker's /dev/shm is 64 MiB. */
function fitSize(asked: number, arena: string, say: (line: string) => void): number {
  let free: number;
  try { const st = fs.statfsSync(nodePath.dirname(arena)); free = st.bavail * st.bsize; } catch { return asked; }
  let total = asked;
  // The arena and the tmpfs copy share /dev/shm.
  while (arenaSize(total) + total > free && total > (8 << 20)) total = Math.floor(total / 2 / (1 << 20)) * (1 << 20);
  if (total !== asked) say(`pram demo: ${nodePath.dirname(arena)} has ${formatSize(free)} free: working set shrunk from ${formatSize(asked)} to ${formatSize(total)}\n`);
  return total;
}

function run(opts: DemoOpts): void {
  const asked = parseSize(opts.size, '--size');
  const seed = Number(opts.seed);
  const arena = opts.arena ?? `/dev/shm/pram-demo-${process.pid}.arena`;
  // The demo formats its arena and removes it at the end: never someone's existing one.
  if (opts.arena && fs.existsSync(opts.arena)) throw Object.assign(new Error(`${opts.arena} exists; the demo makes (and removes) its own arena: give a new path`), { code: 'EEXIST' });
  const disk = `/var/tmp/pram-demo-${process.pid}.bin`;
  const tmp = `/dev/shm/pram-demo-${process.pid}.bin`;
  const say = (line: string) => { if (!opts.json) process.stdout.write(line); };
  const total = fitSize(asked, arena, say);
  const size = String(total);
  if (opts.v1) process.env['PRAM_FORMAT'] = '2';   // the v1 layout is a chain: the children write chains, not a v3 log
  const format = opts.v1 ? 'v1 (RFC-readable layout)' : process.env['PRAM_FORMAT'] === '2' ? 'v2 with extents' : 'v3 (record log) with extents';
  say(`pram demo: working set ${formatSize(total)} (seed ${seed}), arena ${arena}, format ${format}\n`);
  try {
    const w = child(['--phase', 'write', '--arena', arena, '--size', size, '--seed', opts.seed, ...(opts.v1 ? ['--v1'] : [])]);
    say(`1. process A wrote ${w.files} files (${formatSize(w.bytes as number)}) into pram in ${ms(w.writeMs)} and exited\n`);
    const l = child(['--phase', 'ready', '--arena', arena, '--verify', 'lazy']);
    const r = child(['--phase', 'ready', '--arena', arena, '--verify', 'full']);
    const verdict = (x: Result) => (x.bad === 0 && x.losses === 0 ? 'every file identical' : `${x.bad} files differ, ${x.losses} losses`);
    say(`2. process B mounted it in ${ms(l.mountMs)} (lazy: link and meta pages checked now, each data page's crc32c on its first read); ${verdict(l)}\n`);
    say(`3. process C mounted it in ${ms(r.mountMs)} (full: every byte's crc32c checked before the mount returns); ${verdict(r)}\n`);
    const f = child(['--phase', 'files', '--file', disk, '--arena', tmp, '--size', size, '--seed', opts.seed]);
    const d = child(['--phase', 'read', '--file', disk, '--size', size, '--seed', opts.seed]);
    const t = child(['--phase', 'read', '--file', tmp, '--size', size, '--seed', opts.seed]);
    const diskNote = `${f.tmpfsDisk ? 'NOTE: /var/tmp is tmpfs here, not a disk' : 'disk'}, ${f.cold ? 'page cache dropped' : 'page cache NOT dropped (not root): a warm read'}`;
    say(`4. process D read the same bytes from ${disk} (${diskNote}); process E from ${tmp} (tmpfs)\n\n`);

    const cols = ['pram lazy', 'pram full', 'tmpfs file', 'disk file'];
    const row = (what: string, v: string[]) => `   ${what.padEnd(34)}${v.map((x) => x.padStart(12)).join('')}\n`;
    say(row('', cols));
    say(row('time to ready (every file usable)', [ms(l.mountMs), ms(r.mountMs), ms(t.readMs), ms(d.readMs)]));
    say(row('bytes checked before ready', ['meta only', 'all', 'none', 'none']));
    say(row('then reading every byte', [ms(l.readMs), ms(r.readMs), '(in memory)', '(in memory)']));
    say(row('disk time / this time to ready', [ratio(d.readMs, l.mountMs), ratio(d.readMs, r.mountMs), ratio(d.readMs, t.readMs), '1.0x']));
    say(`\n   pram gives the data back where it lies: mounting reads metadata only (lazy) or checksums every byte (full),\n` +
      `   and copies nothing. The files are read into this process's memory, without any check.\n`);
    if (opts.json) process.stdout.write(JSON.stringify({ arena, sizeBytes: total, seed, format, write: w, lazy: l, full: r, disk: { path: disk, ...f, ...d }, tmpfs: { path: tmp, ...t } }) + '\n');
    if (r.bad !== 0 || r.losses !== 0 || l.bad !== 0 || l.losses !== 0 || d.bad !== 0 || t.bad !== 0) {
      process.exitCode = EXIT.error;
      process.stderr.write('pram demo: verification FAILED\n');
    }
  } finally {
    if (!opts.keep) for (const p of [arena, disk, tmp]) fs.rmSync(p, { force: true });
  }
}

function ms(v: unknown): string {
  const n = v as number;
  return n < 10 ? `${n.toFixed(1)} ms` : `${n.toFixed(0)} ms`;
}

function ratio(a: unknown, b: unknown): string {
  const r = (a as number) / (b as number);
  return `${r < 10 ? r.toFixed(1) : r.toFixed(0)}x`;
}

export function register(program: Command): void {
  program.command('demo')
    .description('write a working set into pram, restart, and time getting it back against a file on disk and on tmpfs')
    .addHelpText('after', '\nExamples:\n  $ pram demo\n  $ pram demo --size 1G --seed 7\n')
    .option('--size <size>', 'working set size', '512M')
    .option('--seed <n>', 'seed of the content', '1')
    .option('--arena <path>', 'arena to use (default: a new file in /dev/shm, removed at the end)')
    .option('--v1', 'save in the v1 layout the RFC loader reads (no extents: slower to mount)')
    .option('--keep', 'keep the arena and the files')
    .option('--json', 'one JSON document with every measurement')
    .addOption(new Option('--phase <phase>').choices(['write', 'ready', 'files', 'read']).hideHelp())
    .addOption(new Option('--file <path>').hideHelp())
    .addOption(new Option('--verify <mode>').choices(['full', 'lazy']).hideHelp())
    .action(async (opts: DemoOpts) => {
      try {
        if (!opts.phase) return run(opts);
        const total = parseSize(opts.size ?? '0', '--size');
        const seed = Number(opts.seed);
        const result = opts.phase === 'write' ? await phaseWrite(opts.arena!, total, seed, !opts.v1)
          : opts.phase === 'ready' ? await phaseReady(opts.arena!, opts.verify ?? 'full')
            : opts.phase === 'files' ? phaseFiles(opts.file!, opts.arena!, total, seed)
              : phaseRead(opts.file!, total, seed);
        process.stdout.write(JSON.stringify(result) + '\n');
      } catch (e) {
        fail(e);
      }
    });
}

// pram demo — the main job: a process writes a working set (many small files,
// a few large ones, seeded content) into an arena and exits; a fresh process
// mounts it, which verifies every page's checksum, and checks every byte
// against a manifest. The time to ready is printed beside the time to reload
// the same bytes from an ordinary file on disk with a cold page cache. The
// phases run as child processes of this one (`--phase`), so nothing survives
// between them but the arena. Everything is removed at the end unless --keep.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import { Option, type Command } from 'commander';
import { mount } from '../../api/index.js';
import { Prng } from '../../machine/prng.js';
import { EXIT, fail, formatSize, parseSize } from '../util.js';

interface DemoOpts { size: string; seed: string; arena?: string; keep?: boolean; phase?: 'write' | 'ready' | 'disk'; disk?: string; verify?: 'full' | 'lazy'; json?: boolean }
interface Planned { path: string; size: number; seed: number }

const POOL_BYTES = 4 << 20;
const LARGE_COUNT = 3;

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

function sha(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function poolFor(seed: number): Buffer {
  return new Prng(seed ^ 0x5eed).bytes(POOL_BYTES);
}

async function phaseWrite(arena: string, total: number, seed: number): Promise<object> {
  const files = plan(total, seed);
  const pool = poolFor(seed);
  const t0 = performance.now();
  const pfs = await mount({ arena, create: { sizeBytes: arenaSize(total), overwrite: true }, cmdline: '' });
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

async function phaseReady(arena: string, verify: 'full' | 'lazy'): Promise<object> {
  const t0 = performance.now();
  const pfs = await mount({ arena, verify, cmdline: '' });
  const mountMs = performance.now() - t0;
  const manifest = JSON.parse(await pfs.readFile('/demo/manifest.json', 'utf8')) as Record<string, string>;
  let bad = 0, bytes = 0;
  for (const [p, want] of Object.entries(manifest)) {
    const data = await pfs.readFile(p);
    bytes += data.length;
    if (sha(data) !== want) bad++;
  }
  const readyMs = performance.now() - t0;
  const losses = pfs.losses.length + (pfs.volume.pram?.stats().losses.length ?? 0);
  await pfs.unmount({ save: false });
  return { mountMs, readyMs, files: Object.keys(manifest).length, bytes, bad, losses };
}

/** The same bytes as one ordinary file: written and synced, caches dropped, read back cold with the same check. */
function phaseDisk(file: string, total: number, seed: number): object {
  const files = plan(total, seed);
  const pool = poolFor(seed);
  const fd = fs.openSync(file, 'w', 0o600);
  const hashes: string[] = [];
  for (const f of files) { const d = content(pool, f); hashes.push(sha(d)); fs.writeSync(fd, d); }
  fs.fsyncSync(fd);
  fs.closeSync(fd);
  let cold = false;
  try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n'); cold = true; } catch { /* not root: the read may hit the page cache */ }
  const t0 = performance.now();
  const all = fs.readFileSync(file);
  const readMs = performance.now() - t0;
  let pos = 0, bad = 0;
  files.forEach((f, i) => { if (sha(all.subarray(pos, pos + f.size)) !== hashes[i]) bad++; pos += f.size; });
  return { readMs, readyMs: performance.now() - t0, bytes: all.length, cold, bad };
}

function arenaSize(total: number): number {
  const raw = Math.ceil((total * 1.2 + (64 << 20)) / (1 << 20)) * (1 << 20);
  return raw;
}

function child(args: string[]): Record<string, number | boolean> {
  const r = spawnSync(process.execPath, [process.argv[1]!, 'demo', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`demo phase ${args.join(' ')} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

function diskPath(): string {
  const repoCache = nodePath.resolve(nodePath.dirname(process.argv[1]!), '..', '.cache');
  try { fs.mkdirSync(repoCache, { recursive: true }); fs.accessSync(repoCache, fs.constants.W_OK); return nodePath.join(repoCache, `demo-${process.pid}.bin`); } catch {
    return `/var/tmp/pram-demo-${process.pid}.bin`;
  }
}

/** The working set, shrunk (with a note) when the arena's file system cannot hold it: Docker's /dev/shm is 64 MiB. */
function fitSize(asked: number, arena: string, say: (line: string) => void): number {
  let free: number;
  try { const st = fs.statfsSync(nodePath.dirname(arena)); free = st.bavail * st.bsize; } catch { return asked; }
  let total = asked;
  while (arenaSize(total) > free && total > (8 << 20)) total = Math.floor(total / 2 / (1 << 20)) * (1 << 20);
  if (total !== asked) say(`pram demo: ${nodePath.dirname(arena)} has ${formatSize(free)} free: working set shrunk from ${formatSize(asked)} to ${formatSize(total)}\n`);
  return total;
}

function run(opts: DemoOpts): void {
  const asked = parseSize(opts.size, '--size');
  const seed = Number(opts.seed);
  const arena = opts.arena ?? `/dev/shm/pram-demo-${process.pid}.arena`;
  // The demo formats its arena and removes it at the end: never someone's existing one.
  if (opts.arena && fs.existsSync(opts.arena)) throw Object.assign(new Error(`${opts.arena} exists; the demo makes (and removes) its own arena: give a new path`), { code: 'EEXIST' });
  const disk = diskPath();
  const say = (line: string) => { if (!opts.json) process.stdout.write(line); };
  const total = fitSize(asked, arena, say);
  const size = String(total);
  const ms = (v: unknown) => `${(v as number).toFixed(0)} ms`;
  const rate = (bytes: unknown, t: unknown) => `${formatSize(((bytes as number) / (t as number)) * 1000)}/s`;
  say(`pram demo: working set ${formatSize(total)} (seed ${seed}), arena ${arena}\n`);
  try {
    const w = child(['--phase', 'write', '--arena', arena, '--size', size, '--seed', opts.seed]);
    say(`1. process A wrote ${w.files} files, ${formatSize(w.bytes as number)} in ${ms(w.writeMs)} (${rate(w.bytes, w.writeMs)}) and exited\n`);
    const l = child(['--phase', 'ready', '--arena', arena, '--verify', 'lazy']);
    const r = child(['--phase', 'ready', '--arena', arena, '--verify', 'full']);
    const verdict = (x: Record<string, unknown>) => (x.bad === 0 && x.losses === 0 ? 'all identical' : `${x.bad} differ, ${x.losses} losses`);
    say(`2. process B mounted it in ${ms(l.mountMs)} (lazy: each page's crc32c checked on its first read) and read every file against the manifest: ${verdict(l)}\n`);
    say(`3. process C mounted it in ${ms(r.mountMs)} (full: every page's crc32c checked at mount) and did the same: ${verdict(r)}\n`);
    const d = child(['--phase', 'disk', '--disk', disk, '--size', size, '--seed', opts.seed]);
    say(`4. the same bytes from a file on disk (${disk}${d.cold ? ', page cache dropped' : ', page cache NOT dropped: not root'})\n\n`);
    const row = (what: string, a: string, b: string, c: string) => `   ${what.padEnd(36)}${a.padStart(11)}${b.padStart(11)}${c.padStart(11)}\n`;
    say(row('', 'pram lazy', 'pram full', 'disk file'));
    say(row('time to ready (data usable)', ms(l.mountMs), ms(r.mountMs), ms(d.readMs)));
    say(row('+ every byte read, sha256 checked', ms(l.readyMs), ms(r.readyMs), ms(d.readyMs)));
    say(`\n   ready: pram (lazy) ${ms(l.mountMs)} vs disk ${ms(d.readMs)}: ${((d.readMs as number) / (l.mountMs as number)).toFixed(1)}x; ` +
      `the disk figure only reads bytes, pram's also checks them (crc32c) and needs no copy.\n`);
    if (opts.json) process.stdout.write(JSON.stringify({ arena, sizeBytes: total, seed, write: w, lazy: l, full: r, disk: { path: disk, ...d } }) + '\n');
    if (r.bad !== 0 || r.losses !== 0 || l.bad !== 0 || l.losses !== 0 || d.bad !== 0) { process.exitCode = EXIT.error; process.stderr.write('pram demo: verification FAILED\n'); }
  } finally {
    if (!opts.keep) { fs.rmSync(arena, { force: true }); fs.rmSync(disk, { force: true }); }
  }
}

export function register(program: Command): void {
  program.command('demo')
    .description('write a working set into an arena, restart, and time getting it back against a disk reload')
    .addHelpText('after', '\nExamples:\n  $ pram demo\n  $ pram demo --size 1G --seed 7\n')
    .option('--size <size>', 'working set size', '256M')
    .option('--seed <n>', 'seed of the content', '1')
    .option('--arena <path>', 'arena to use (default: a new file in /dev/shm, removed at the end)')
    .option('--keep', 'keep the arena and the disk file')
    .option('--json', 'one JSON document with every measurement')
    .addOption(new Option('--phase <phase>').choices(['write', 'ready', 'disk']).hideHelp())
    .addOption(new Option('--disk <path>').hideHelp())
    .addOption(new Option('--verify <mode>').choices(['full', 'lazy']).hideHelp())
    .action(async (opts: DemoOpts) => {
      try {
        if (!opts.phase) return run(opts);
        const total = parseSize(opts.size, '--size');
        const result = opts.phase === 'write' ? await phaseWrite(opts.arena!, total, Number(opts.seed))
          : opts.phase === 'ready' ? await phaseReady(opts.arena!, opts.verify ?? 'full')
            : phaseDisk(opts.disk!, total, Number(opts.seed));
        process.stdout.write(JSON.stringify(result) + '\n');
      } catch (e) {
        fail(e);
      }
    });
}



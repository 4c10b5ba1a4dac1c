// The machine side of the benchmark: what machine this is, dropping the page
// cache, temporary ramfs/tmpfs mounts, running dd and child processes with a
// wall clock, and the pram FUSE mount through the `pram` command. Figures are
// computed by run.js; this file only runs things and reports raw times.
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHILD = path.join(ROOT, 'bench/child.js');
const pramBin = () => path.join(process.env.PRAM_BENCH_ROOT ?? ROOT, 'bin/pram.js');

export function machine() {
  const cpuinfo = safeRead('/proc/cpuinfo');
  const model = /^model name\s*:\s*(.*)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
  return {
    cores: os.cpus().length,
    cpu: model,
    memGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    dd: spawnSync('dd', ['--version'], { encoding: 'utf8' }).stdout?.split('\n')[0] ?? 'dd',
    loadStart: loadavg(),
  };
}

/** 1, 5 and 15 minute load averages: other work on the machine shows here. */
export function loadavg() {
  return safeRead('/proc/loadavg').split(' ').slice(0, 3).join(' ');
}

function safeRead(p) { try { return fs.readFileSync(p, 'utf8'); } catch { return ''; } }

/** sync; echo 3 > drop_caches. Returns false (and why) when not allowed. */
export function dropCaches() {
  spawnSync('sync');
  try { fs.writeFileSync('/proc/sys/vm/drop_caches', '3\n'); return { ok: true }; } catch (e) { return { ok: false, why: e.code ?? e.message }; }
}

/**
 * Page warm-up before a timed write: writes `bytes` to a scratch file in `dir`
 * (default: tmpfs) and deletes it. This machine is a VM whose balloon has free
 * page reporting: pages the guest frees go back to the host a few seconds
 * later, and the next use of them pays a host fault (writes up to 3x slower).
 * Warming right before timing gives every target pages the host has backed,
 * whoever runs first. The warm-up must free pages of the kind the target then
 * takes: tmpfs (and pram's FUSE cache and arena) take movable pages, ramfs
 * unmovable ones (its page cache is GFP_HIGHUSER), which come from other free
 * lists — so a ramfs target is warmed on its own mount.
 */
export function warmPages(bytes, dir = '/dev/shm') {
  const f = path.join(dir, `pram-bench-warm-${process.pid}`);
  const chunk = Buffer.alloc(16 << 20, 1);
  const fd = fs.openSync(f, 'w');
  try { for (let off = 0; off < bytes; off += chunk.length) fs.writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off)); } finally { fs.closeSync(fd); fs.rmSync(f, { force: true }); }
}

/** Runs a command, returns { ms, status, stdout, stderr }. */
export function run(cmd, args, opts = {}) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 16 << 20, ...opts });
  return { ms: performance.now() - t0, status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error: r.error };
}

/** dd with a wall clock around the whole process (it includes close(), where FUSE flushes cached writes). */
export function dd(ifile, ofile, bs, count, extra = []) {
  const args = [`if=${ifile}`, `of=${ofile}`, `bs=${bs}`, ...extra];
  if (count !== undefined) args.push(`count=${count}`);
  const r = run('dd', args);
  if (r.status !== 0) throw new Error(`dd ${args.join(' ')}: ${r.stderr.trim().split('\n').pop()}`);
  return r.ms;
}

/** A fresh ramfs or tmpfs mounted in a temp dir; call .close() to unmount and remove. */
export function tempMount(type, sizeBytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `pram-bench-${type}-`));
  const args = ['-t', type];
  if (type === 'tmpfs') args.push('-o', `size=${sizeBytes}`);
  const r = run('mount', [...args, type, dir]);
  if (r.status !== 0) { fs.rmdirSync(dir); throw new Error(`mount -t ${type}: ${r.stderr.trim()}`); }
  return { dir, close() { run('umount', [dir]); try { fs.rmdirSync(dir); } catch { /* busy */ } } };
}

/** `pram mount DIR --arena A --size S`; close() runs `pram umount DIR` and returns its time (the save). */
export function pramFuseMount(arena, sizeBytes) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-bench-fuse-'));
  try { fs.rmSync(arena, { force: true }); } catch { /* none */ }
  const r = run(process.execPath, [pramBin(), 'mount', dir, '--arena', arena, '--size', String(sizeBytes)]);
  if (r.status !== 0) { fs.rmdirSync(dir); throw new Error(`pram mount: ${(r.stderr || r.stdout).trim().split('\n').pop()}`); }
  return {
    dir,
    /** The server's pid, from the mount's run file (lib: dist/fuse/runfile.js's naming). */
    pid() {
      const runDir = process.env.PRAM_RUN_DIR ?? '/run/pram';
      const name = path.resolve(dir).replace(/^\/+/, '').replace(/[^A-Za-z0-9_./]|^\./g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/\//g, '-');
      try { return JSON.parse(fs.readFileSync(path.join(runDir, `${name}.pid`), 'utf8')).pid; } catch { return null; }
    },
    close() {
      const u = run(process.execPath, [pramBin(), 'umount', dir]);
      if (u.status !== 0) run('umount', ['-l', dir]);
      try { fs.rmdirSync(dir); } catch { /* busy */ }
      try { fs.rmSync(arena, { force: true }); } catch { /* none */ }
      return u.ms;
    },
  };
}

/**
 * Runs bench/child.js OP with JSON args; resolves { result, wallMs, readyMs?, inChildMs? }
 * (readyMs: spawn to the "ready" line; inChildMs: the child's own time from the start of the op to ready).
 */
export function child(op, args, { timeoutMs = 20 * 60_000 } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, [CHILD, op, '--json', JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '', readyMs, inChildMs;
    const timer = setTimeout(() => p.kill('SIGKILL'), timeoutMs);
    p.stdout.on('data', (d) => {
      if (readyMs === undefined && /(^|\n)ready /.test(stdout + d)) readyMs = performance.now() - t0;
      stdout += d;
      const m = /(?:^|\n)ready \S+ (\S+)\n/.exec(stdout);
      if (m) inChildMs = Number(m[1]);
    });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => {
      clearTimeout(timer);
      const wallMs = performance.now() - t0;
      const line = stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
      let result;
      try { result = line ? JSON.parse(line) : undefined; } catch { result = undefined; }
      if (code !== 0 || !result || result.error) {
        reject(new Error(result?.error ?? `child ${op} exited ${code}: ${stderr.trim().split('\n').pop() ?? ''}`));
      } else resolve({ result, wallMs, readyMs, inChildMs });
    });
  });
}

/** Bytes free in /dev/shm (arenas and tmpfs files live there). */
export function shmFreeBytes() {
  const s = fs.statfsSync('/dev/shm');
  return s.bavail * s.bsize;
}

/** `pram info --json --arena A` parsed, or { unavailable }. */
export function pramInfo(arena) {
  const r = run(process.execPath, [pramBin(), 'info', '--json', '--arena', arena]);
  if (r.status !== 0) return { unavailable: (r.stderr || r.stdout).trim().split('\n').pop() || `exit ${r.status}` };
  try { return JSON.parse(r.stdout); } catch { return { unavailable: 'pram info --json printed no JSON' }; }
}

// The run file of a mount: which server process serves which directory from
// which arena, so `pram umount DIR` can ask that process to save and wait for
// it, and can tell a dead server's mount from a live one. One JSON file per
// mount point in /run/pram (PRAM_RUN_DIR overrides, for tests), named after
// the escaped absolute path of the directory.
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface RunRecord {
  pid: number; dir: string; arena: string; log: string | null; startedMs: number;
  /** What saves checkpoints on this mount (for the words after a crash): sync(2)/syncfs(2) reach it (fuseblk), the interval (0: off). */
  syncfs?: boolean; checkpointIntervalMs?: number;
  /** How requests reach the server (pram mount --io-uring): 'io_uring (...)' or '/dev/fuse'. */
  transport?: string;
}

/** An arena as run files and the mount table name it: a path resolved (memfd:NAME and luo:NAME as they are). */
export function arenaId(arena: string): string {
  return /^(memfd|luo):/.test(arena) ? arena : path.resolve(arena);
}

/** The live servers of `arena` (its run files whose process is alive), for `pram info` on a mounted arena. */
export function runsOf(arena: string): RunRecord[] {
  let names: string[];
  try { names = fs.readdirSync(runDir()); } catch { return []; }
  const want = arenaId(arena), out: RunRecord[] = [];
  for (const name of names) {
    if (!name.endsWith('.pid')) continue;
    let rec: RunRecord;
    try { rec = JSON.parse(fs.readFileSync(path.join(runDir(), name), 'utf8')) as RunRecord; } catch { continue; }
    if (typeof rec?.pid === 'number' && rec.pid > 0 && typeof rec.arena === 'string' && arenaId(rec.arena) === want && alive(rec.pid)) out.push(rec);
  }
  return out;
}

export function runDir(): string {
  return process.env.PRAM_RUN_DIR ?? '/run/pram';
}

/** '/mnt/pram x' -> 'mnt-pram\x20x' (systemd-escape style: '/' -> '-', others hex). */
export function escapeDir(dir: string): string {
  const abs = path.resolve(dir).replace(/^\/+/, '') || '-';
  return abs.replace(/[^A-Za-z0-9_./]|^\./g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`).replace(/\//g, '-');
}

export function runPath(dir: string, ext: 'pid' | 'log'): string {
  return path.join(runDir(), `${escapeDir(dir)}.${ext}`);
}

export function writeRun(rec: RunRecord): void {
  fs.mkdirSync(runDir(), { recursive: true, mode: 0o755 });
  const file = runPath(rec.dir, 'pid');
  fs.writeFileSync(file + '.tmp', JSON.stringify(rec) + '\n');
  fs.renameSync(file + '.tmp', file);
}

export function readRun(dir: string): RunRecord | null {
  try {
    const rec = JSON.parse(fs.readFileSync(runPath(dir, 'pid'), 'utf8')) as RunRecord;
    return typeof rec.pid === 'number' && rec.pid > 0 ? rec : null;
  } catch {
    return null;
  }
}

/** Remove the run file, but only if it still names `pid` (a newer server may own it). */
export function removeRun(dir: string, pid: number): void {
  const rec = readRun(dir);
  if (rec && rec.pid === pid) fs.rmSync(runPath(dir, 'pid'), { force: true });
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !isZombie(pid);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function isZombie(pid: number): boolean {
  try {
    return / Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\)/, ''));
  } catch {
    return false;
  }
}

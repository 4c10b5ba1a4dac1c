// Helpers for the FUSE end-to-end tests: run the real `pram` CLI and real
// programs with bounded time, so nothing a test does can hang the suite.
// (No side effects at import: node --test also loads this file.)
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
export const PRAM = path.join(ROOT, 'bin/pram.js');

/** Run a shell command; throws with its stderr on failure or after timeoutMs. */
export function sh(cmd, { timeoutMs = 120_000, env } = {}) {
  return execFileSync('bash', ['-o', 'pipefail', '-c', cmd], {
    encoding: 'utf8', timeout: timeoutMs, maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
}

/** Run the pram CLI; returns { code, out, err } (never throws on a non-zero exit). */
export function pram(args, { timeoutMs = 120_000, env } = {}) {
  const r = spawnSync(process.execPath, [PRAM, ...args], {
    encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  return { code: r.status ?? (r.signal ? 128 : -1), out: r.stdout ?? '', err: (r.stderr ?? '') + (r.error ? String(r.error) : '') };
}

/** The pid of the one server whose run file is in runDir (PRAM_RUN_DIR). */
export function serverPidIn(runDir) {
  const run = fs.readdirSync(runDir).find((f) => f.endsWith('.pid'));
  return JSON.parse(fs.readFileSync(path.join(runDir, run), 'utf8')).pid;
}

/** Alive and not a zombie (the detached server is reparented; its reaper may be slow). */
export function alive(pid) {
  try { process.kill(pid, 0); } catch { return false; }
  try { return !/^\S+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8')); } catch { return false; }
}

export function isMounted(dir) {
  const want = path.resolve(dir);
  return fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === want);
}

/** Last resort in `after`: detach whatever is left, never wait on it. */
export function forceUnmount(dir) {
  if (isMounted(dir)) spawnSync('umount', ['-i', '-l', dir], { timeout: 10_000 });
}

/** The end of a test file's mount: `pram umount` (saves), else detach it; the arena and the scratch directory go. */
export function tearDown({ mnt, arena, tmp, env, timeoutMs = 60_000 }) {
  if (isMounted(mnt)) pram(['umount', mnt], { env, timeoutMs });
  forceUnmount(mnt);
  fs.rmSync(arena, { force: true });
  fs.rmSync(tmp, { recursive: true, force: true });
}

/** A tree with files, symlinks, hard links, empty directories, odd modes and old times (no fifo: diff -r calls fifos a difference). */
export function makeTree(dir) {
  sh(`
    set -e
    mkdir -p '${dir}/a/b/c' '${dir}/empty' '${dir}/a/empty2' '${dir}/sp ace'
    printf 'hello\\n' > '${dir}/a/hello.txt'
    head -c 300000 /dev/urandom > '${dir}/a/b/random.bin'
    head -c 5000 /dev/urandom > '${dir}/sp ace/f i l e'
    : > '${dir}/a/b/c/zero'
    ln '${dir}/a/hello.txt' '${dir}/a/b/hard-hello'
    ln -s ../hello.txt '${dir}/a/b/sym-hello'
    ln -s /nonexistent/target '${dir}/dangling'
    ln -s c '${dir}/a/b/dirlink'
    chmod 0640 '${dir}/a/b/random.bin'
    chmod 0750 '${dir}/a/b/c'
    chmod 4755 '${dir}/a/b/c/zero'
    touch -h -d '2001-02-03 04:05:06.123456789' '${dir}/a/hello.txt' '${dir}/a/b/sym-hello'
    touch -d '1999-12-31 23:59:59.5' '${dir}/empty'
  `);
}

/**
 * name, type, mode, links, size, mtime, owner of every entry. Not compared: atime
 * (reading the source updates it), ctime (cannot be set), and the size of a
 * directory (each file system counts its own). tar keeps whole seconds only.
 */
export function statTree(dir, { ns = true } = {}) {
  return sh(`cd '${dir}' && find . -exec stat -c '%n\t%F\t%a\t%h\t%s\t${ns ? '%.9Y' : '%Y'}\t%u:%g' {} + | sort`)
    .split('\n').map((l) => l.split('\t')).map((f) => (f[1] === 'directory' ? [...f.slice(0, 4), '-', ...f.slice(5)] : f).join(' ')).join('\n');
}

/** renameat2(2) through Python's ctypes: coreutils 9.1 mv cannot ask for RENAME_EXCHANGE. */
export function renameat2(from, to, flags) {
  const py = `import ctypes,os,sys
libc=ctypes.CDLL(None,use_errno=True)
r=libc.renameat2(-100,sys.argv[1].encode(),-100,sys.argv[2].encode(),int(sys.argv[3]))
print(0 if r==0 else -ctypes.get_errno())`;
  return Number(execFileSync('python3', ['-c', py, from, to, String(flags)], { encoding: 'utf8', timeout: 10_000 }).trim());
}

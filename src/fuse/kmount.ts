// Attaching a /dev/fuse connection to a directory and detaching it, through
// util-linux's mount(8)/umount(8) (no libfuse, no fusermount). The child
// `mount` inherits the /dev/fuse descriptor as its fd 3, which the kernel's
// `fd=3` option names. Also: reading /proc/self/mountinfo to see what is mounted.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface KernelMountOptions {
  allowOther?: boolean;
  /** Shown as the source in /proc/mounts. */
  fsname?: string;
  uid?: number;
  gid?: number;
}

export function run(cmd: string, args: string[], opts: { fd?: number; timeoutMs?: number } = {}): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const stdio: ('ignore' | 'pipe' | number)[] = ['ignore', 'ignore', 'pipe'];
    if (opts.fd !== undefined) stdio.push(opts.fd);
    const child = spawn(cmd, args, { stdio, timeout: opts.timeoutMs ?? 30_000 });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    child.on('error', (e) => resolve({ code: 127, stderr: e.message }));
    child.on('close', (code, signal) => resolve({ code: code ?? 128, stderr: stderr.trim() || (signal ? `killed by ${signal}` : '') }));
  });
}

/** Open /dev/fuse. Throws the system error (ENOENT: no fuse module; EACCES: not allowed). */
export function openDevFuse(): number {
  return fs.openSync('/dev/fuse', fs.constants.O_RDWR);
}

/** mount -t fuse -o fd=3,... SOURCE DIR, with `fd` passed as the child's fd 3. */
export async function kernelMount(fd: number, dir: string, opts: KernelMountOptions = {}): Promise<void> {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const gid = opts.gid ?? process.getgid?.() ?? 0;
  const o = [`fd=3`, `rootmode=40000`, `user_id=${uid}`, `group_id=${gid}`, 'default_permissions'];
  if (opts.allowOther) o.push('allow_other');
  const r = await run('mount', ['-t', 'fuse', '-o', o.join(','), opts.fsname ?? 'pram', dir], { fd });
  if (r.code !== 0) throw new Error(`mount ${dir} failed: ${r.stderr || `exit ${r.code}`}`);
}

/** umount(8) DIR; lazy detaches even when busy (for a dead server's mount). */
export async function kernelUnmount(dir: string, opts: { lazy?: boolean } = {}): Promise<{ ok: boolean; message: string }> {
  const r = await run('umount', opts.lazy ? ['-l', dir] : [dir]);
  return { ok: r.code === 0, message: r.stderr };
}

export interface MountInfo { mountPoint: string; fsType: string; source: string }

/** The mount on exactly `dir` (the last one, if stacked), from /proc/self/mountinfo. */
export function findMount(dir: string): MountInfo | null {
  const want = path.resolve(dir);
  let found: MountInfo | null = null;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = unescapeMountinfo(left.split(' ')[4] ?? '');
    const [fsType = '', source = ''] = right.split(' ');
    if (mountPoint === want) found = { mountPoint, fsType, source: unescapeMountinfo(source) };
  }
  return found;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

// Attaching a /dev/fuse connection to a directory and detaching it, through
// util-linux's mount(8)/umount(8) (no libfuse, no fusermount). The child
// `mount` inherits the /dev/fuse descriptor as its fd 3, which the kernel's
// `fd=3` option names. Also: reading /proc/self/mountinfo to see what is mounted.
//
// Why fuseblk: the kernel sends FUSE_SYNCFS — what sync(2), syncfs(2) and
// `sync -f` become — only to connections with fc->sync_fs set: virtiofs and,
// since Linux 6.18, fuseblk; a plain `fuse` mount never hears of a sync. So
// pram mounts as fuseblk over a loop device on an empty placeholder file
// (unlinked at once; the loop is set up with autoclear, so it goes with the
// mount) and falls back to `fuse` when that is refused (no loop module, an
// older kernel without fuseblk, a container). docs/RELIABILITY.md has the table.
//
// Either way the subtype is pram (fuse and fuseblk are FS_HAS_SUBTYPE: mount(2)
// of "fuseblk.pram" is fuseblk, subtype=pram), so /proc/mounts says
// fuseblk.pram or fuse.pram, and `mount -i` keeps mount(8) from running the
// mount.fuse.pram helper (cli/mount-helper.ts), which would start another server.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

/** The subtype /proc/mounts, findmnt -t and umount -t show after fuse or fuseblk. */
export const SUBTYPE = 'pram';
/** The types a pram mount has: fuseblk.pram, or fuse.pram where fuseblk is refused. */
export const FS_TYPES = [`fuseblk.${SUBTYPE}`, `fuse.${SUBTYPE}`] as const;

/** Kernel mount flags `pram mount --mount-options` passes on to mount(8) (the rest are pram's or userspace's). */
export const KERNEL_FLAGS: ReadonlySet<string> = new Set([
  'ro', 'rw', 'nosuid', 'suid', 'nodev', 'dev', 'noexec', 'exec', 'sync', 'async', 'dirsync',
  'noatime', 'atime', 'nodiratime', 'diratime', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime',
]);

export interface KernelMountOptions {
  allowOther?: boolean;
  /** Shown as the source in /proc/mounts for a fuse mount (the arena); a fuseblk mount shows its loop device. */
  fsname?: string;
  /** Members of KERNEL_FLAGS. */
  flags?: readonly string[];
  uid?: number;
  gid?: number;
  /** Try fuseblk (sync(2)/syncfs(2) reach the server) before fuse; default true. */
  block?: boolean;
}

/** fuseblk: the kernel forwards syncfs; fuse: it does not. `fallback` says why fuseblk was not used. */
export interface KernelMounted { kind: 'fuseblk' | 'fuse'; fallback?: string }

/** fuseblk's block size: any power of two from 512 to the page size; 4096 fits every Linux page size. */
const FUSEBLK_BLKSIZE = 4096;
let placeholders = 0;

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

/** mount -i -t fuseblk.pram (or fuse.pram) -o fd=3,... SOURCE DIR, with `fd` passed as the child's fd 3. */
export async function kernelMount(fd: number, dir: string, opts: KernelMountOptions = {}): Promise<KernelMounted> {
  const uid = opts.uid ?? process.getuid?.() ?? 0;
  const gid = opts.gid ?? process.getgid?.() ?? 0;
  const o = [`fd=3`, `rootmode=40000`, `user_id=${uid}`, `group_id=${gid}`, 'default_permissions'];
  if (opts.allowOther) o.push('allow_other');
  for (const f of opts.flags ?? []) {
    if (!KERNEL_FLAGS.has(f)) throw new Error(`mount option '${f}' is not a kernel mount flag pram passes on`);
    o.push(f);
  }
  let fallback: string | undefined;
  if (opts.block !== false) {
    const r = await mountBlock(fd, dir, o);
    if (r === null) return { kind: 'fuseblk' };
    fallback = r;
  }
  const r = await run('mount', ['-i', '-t', `fuse.${SUBTYPE}`, '-o', o.join(','), opts.fsname ?? 'pram', dir], { fd });
  if (r.code !== 0) throw new Error(`mount ${dir} failed: ${r.stderr || `exit ${r.code}`}`);
  return { kind: 'fuse', fallback };
}

/** The fuseblk attempt: null when mounted, else mount(8)'s complaint. */
async function mountBlock(fd: number, dir: string, o: string[]): Promise<string | null> {
  const file = path.join(os.tmpdir(), `${FUSEBLK_PLACEHOLDER}${process.pid}-${placeholders++}`);
  try {
    fs.writeFileSync(file, Buffer.alloc(FUSEBLK_BLKSIZE), { mode: 0o600, flag: 'wx' });
  } catch (e) {
    return `placeholder ${file}: ${(e as Error).message}`;
  }
  try {
    const r = await run('mount', ['-i', '-t', `fuseblk.${SUBTYPE}`, '-o', [...o, `blksize=${FUSEBLK_BLKSIZE}`, 'loop'].join(','), file, dir], { fd });
    return r.code === 0 ? null : r.stderr || `exit ${r.code}`;
  } finally {
    fs.rmSync(file, { force: true });   // the loop device keeps it open; nothing to clean up later
  }
}

/** Basename prefix of the fuseblk placeholder: how a pram fuseblk mount is told from others. */
export const FUSEBLK_PLACEHOLDER = 'pram-fuseblk-';

/** A mount made by kernelMount: fuse.pram (or, made before the subtype, fuse of source "pram"), or fuseblk on a loop over our placeholder. */
export function isPramMount(m: MountInfo): boolean {
  if (m.fsType === `fuse.${SUBTYPE}`) return true;
  const type = m.fsType.replace(/\.pram$/, '');
  if (type === 'fuse') return m.source === 'pram';
  if (type !== 'fuseblk') return false;
  const loop = /^\/dev\/(loop\d+)$/.exec(m.source)?.[1];
  try {
    return loop !== undefined && path.basename(fs.readFileSync(`/sys/block/${loop}/loop/backing_file`, 'utf8').trim()).startsWith(FUSEBLK_PLACEHOLDER);
  } catch {
    return false;
  }
}

/** umount(8) DIR; lazy detaches even when busy (for a dead server's mount). -i: never umount.fuse.pram (that is `pram umount`). */
export async function kernelUnmount(dir: string, opts: { lazy?: boolean } = {}): Promise<{ ok: boolean; message: string }> {
  const r = await run('umount', opts.lazy ? ['-i', '-l', dir] : ['-i', dir]);
  return { ok: r.code === 0, message: r.stderr };
}

export interface MountInfo { mountPoint: string; fsType: string; source: string; /** major:minor (names the bdi in sysfs) */ dev: string }

/** The mount on exactly `dir` (the last one, if stacked), from /proc/self/mountinfo. */
export function findMount(dir: string): MountInfo | null {
  const want = path.resolve(dir);
  let found: MountInfo | null = null;
  for (const line of fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right) continue;
    const mountPoint = unescapeMountinfo(left.split(' ')[4] ?? '');
    const [fsType = '', source = ''] = right.split(' ');
    if (mountPoint === want) found = { mountPoint, fsType, source: unescapeMountinfo(source), dev: left.split(' ')[2] ?? '' };
  }
  return found;
}

function unescapeMountinfo(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

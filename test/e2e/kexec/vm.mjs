// Host side of the kexec end-to-end test: the Debian packages it needs, the
// initramfs it boots, and a QEMU run whose serial console is streamed to a log
// file and read line by line. What happens inside the guest is left to init.sh
// (initramfs), guest.sh (PID 1 on the host's tree over 9p) and guest.mjs.
//
// Why this shape: this machine's KVM does not boot stock kernels, so the guest
// runs under TCG; the initramfs holds only busybox, the 9p modules and a small
// /init, and everything else (node, the checkout, util-linux, kexec-tools,
// criu, the kernel and the initramfs itself for the next kexec) is read from
// the host's root, shared read-only over 9p. A small initramfs keeps every
// kexec fast.

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync, copyFileSync, chmodSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = join(HERE, '..', '..', '..');

/** Debian packages the test needs on the host (the guest sees them over 9p). */
export const DEBS = ['qemu-system-x86', 'linux-image-amd64', 'kexec-tools', 'busybox-static', 'cpio', 'criu', 'gcc', 'libc6-dev', 'kmod', 'util-linux'];

/** Installs what is missing; throws (never skips) when it cannot. */
export function ensureDebs(debs = DEBS) {
  const missing = debs.filter((p) => spawnSync('dpkg', ['-s', p], { stdio: 'ignore' }).status !== 0);
  if (missing.length === 0) return [];
  if (process.getuid?.() !== 0) throw new Error(`kexec e2e: Debian packages missing and not root to install them: ${missing.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const run = (args) => {
    const r = spawnSync('apt-get', args, { env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`kexec e2e: apt-get ${args.join(' ')} failed (${r.status}):\n${(r.stderr || r.stdout || '').slice(-2000)}`);
  };
  run(['update', '-qq']);
  run(['install', '-y', '-qq', '--no-install-recommends', ...missing]);
  return missing;
}

/** The newest Debian kernel installed on the host: its version, image and module tree. */
export function findKernel() {
  const dir = '/lib/modules';
  const versions = existsSync(dir) ? readdirSync(dir).filter((v) => existsSync(`/boot/vmlinuz-${v}`) && existsSync(join(dir, v, 'modules.dep'))) : [];
  if (versions.length === 0) throw new Error('kexec e2e: no kernel with modules under /boot and /lib/modules (is linux-image-amd64 installed?)');
  versions.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const version = versions[versions.length - 1];
  return { version, image: `/boot/vmlinuz-${version}`, modules: join(dir, version) };
}

/** Module files (relative to the module tree) that load `names`, dependencies first, each once. */
export function moduleLoadOrder(modulesDir, names) {
  const deps = new Map();
  for (const line of readFileSync(join(modulesDir, 'modules.dep'), 'utf8').split('\n')) {
    const m = /^([^:]+):\s*(.*)$/.exec(line);
    if (m) deps.set(m[1], m[2].split(/\s+/).filter(Boolean));
  }
  const byName = new Map([...deps.keys()].map((p) => [p.split('/').pop().replace(/\.ko(\.\w+)?$/, ''), p]));
  const order = [], seen = new Set();
  const visit = (path, depth) => {
    if (seen.has(path)) return;
    if (depth > 64) throw new Error(`kexec e2e: module dependency loop at ${path}`);
    for (const d of deps.get(path) ?? []) visit(d, depth + 1);
    seen.add(path);
    order.push(path);
  };
  for (const n of names) {
    const path = byName.get(n);
    if (!path) throw new Error(`kexec e2e: module ${n} is not in ${modulesDir}/modules.dep`);
    if (!path.endsWith('.ko')) throw new Error(`kexec e2e: module ${path} is compressed; busybox insmod needs a plain .ko`);
    visit(path, 0);
  }
  return order;
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Error(`kexec e2e: ${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`kexec e2e: ${cmd} ${args.join(' ')} exited ${r.status}:\n${(r.stderr || '').slice(-2000)}`);
  return r.stdout;
}

function findBusybox() {
  for (const p of ['/bin/busybox', '/usr/bin/busybox', '/sbin/busybox']) if (existsSync(p)) return p;
  throw new Error('kexec e2e: busybox not found (is busybox-static installed?)');
}

/**
 * Builds work/initrd.img: busybox, /init, /e2e.env (where the checkout and the
 * work directory are, so the guest finds them over 9p) and the 9p modules.
 */
export function buildInitramfs({ work, kernel, env }) {
  const root = join(work, 'initramfs');
  rmSync(root, { recursive: true, force: true });
  for (const d of ['bin', 'dev', 'proc', 'sys', 'newroot', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  copyFileSync(findBusybox(), join(root, 'bin', 'busybox'));
  chmodSync(join(root, 'bin', 'busybox'), 0o755);
  copyFileSync(join(HERE, 'init.sh'), join(root, 'init'));
  chmodSync(join(root, 'init'), 0o755);
  const modules = moduleLoadOrder(kernel.modules, ['virtio_pci', '9pnet_virtio', '9p']);
  for (const m of modules) {
    mkdirSync(join(root, 'modules', dirname(m)), { recursive: true });
    copyFileSync(join(kernel.modules, m), join(root, 'modules', m));
  }
  writeFileSync(join(root, 'modules', 'order'), modules.join('\n') + '\n');
  // Shell-quoted assignments; the values are paths and numbers we chose.
  const quote = (v) => `'${String(v).replace(/'/g, `'\\''`)}'`;
  writeFileSync(join(root, 'e2e.env'), Object.entries(env).map(([k, v]) => `export ${k}=${quote(v)}\n`).join(''));
  const out = join(work, 'initrd.img');
  const list = run('find', ['.', '-mindepth', '1'], { cwd: root });
  const cpio = spawnSync('cpio', ['-o', '-H', 'newc', '--quiet'], { cwd: root, input: list, maxBuffer: 256 << 20 });
  if (cpio.status !== 0) throw new Error(`kexec e2e: cpio failed: ${cpio.stderr}`);
  const gz = spawnSync('gzip', ['-1', '-c'], { input: cpio.stdout, maxBuffer: 256 << 20 });
  if (gz.status !== 0) throw new Error(`kexec e2e: gzip failed: ${gz.stderr}`);
  writeFileSync(out, gz.stdout);
  rmSync(root, { recursive: true, force: true });
  return out;
}

/** Compiles the CRIU subject (counter.c) statically into the work directory. */
export function buildCounter(work) {
  const out = join(work, 'counter');
  run('gcc', ['-static', '-O2', '-Wall', '-o', out, join(HERE, 'counter.c')]);
  return out;
}

/**
 * Boots QEMU and streams its console to `logFile`, each line prefixed with
 * seconds since QEMU started. Returns a handle whose
 * waitFor(regex, ms) resolves with the first console line matching (searching
 * lines already seen, too) or rejects on timeout or QEMU's exit, and whose
 * exited promise resolves with the exit code.
 */
export function bootVm({ kernel, initrd, cmdline, memory = '2G', logFile, qemu = 'qemu-system-x86_64', extra = [] }) {
  const args = ['-accel', 'tcg,thread=multi', '-cpu', 'max', '-m', memory, '-smp', '2',
    '-nodefaults', '-display', 'none', '-serial', 'stdio', '-monitor', 'none', '-no-reboot',
    '-kernel', kernel, '-initrd', initrd, '-append', cmdline,
    '-virtfs', 'local,path=/,mount_tag=hostfs,security_model=none,readonly=on,multidevs=remap', ...extra];
  const log = createWriteStream(logFile);
  log.write(`# ${qemu} ${args.map((a) => (/\s/.test(a) ? JSON.stringify(a) : a)).join(' ')}\n`);
  const child = spawn(qemu, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const lineMs = [];   // when each line arrived, ms since QEMU started (the blackout bench times phases by them)
  const waiters = new Set();
  let partial = '', exitCode = null;
  const t0 = Date.now();
  const onLine = (line) => {
    lines.push(line);
    lineMs.push(Date.now() - t0);
    log.write(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} ${line}\n`);
    for (const w of [...waiters]) if (w.re.test(line)) { waiters.delete(w); w.resolve(line); }
  };
  const onData = (chunk) => {
    partial += chunk.toString('utf8');
    const parts = partial.split(/\r?\n/);
    partial = parts.pop();
    for (const p of parts) onLine(p.replace(/\r/g, ''));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => {
    exitCode = code ?? signal;
    if (partial) onLine(partial);
    for (const w of [...waiters]) { waiters.delete(w); w.reject(new Error(`QEMU exited (${exitCode}) before a console line matched ${w.re}`)); }
    log.end(() => resolve(exitCode));
  }));
  return {
    lines,
    lineMs,
    exited,
    get pid() { return child.pid; },
    waitFor(re, ms) {
      const seen = lines.find((l) => re.test(l));
      if (seen !== undefined) return Promise.resolve(seen);
      if (exitCode !== null) return Promise.reject(new Error(`QEMU exited (${exitCode}) before a console line matched ${re}`));
      return new Promise((resolve, reject) => {
        const w = { re, resolve: (l) => { clearTimeout(timer); resolve(l); }, reject: (e) => { clearTimeout(timer); reject(e); } };
        const timer = setTimeout(() => { waiters.delete(w); reject(new Error(`no console line matched ${re} within ${ms / 1000} s`)); }, ms);
        waiters.add(w);
      });
    },
    kill() { if (exitCode === null) child.kill('SIGKILL'); },
  };
}

// Host side of the LUO end-to-end test: builds (or finds in the cache) the guest kernel and
// the initramfs, boots QEMU under software emulation with the host's root shared read-only
// over 9p, and turns the serial console into timestamped lines the test can wait for.
// What the guest does is guest.mjs's business; this file only runs machines.
import { spawn, execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const HERE = dirname(fileURLToPath(import.meta.url));
export const REPO = join(HERE, '..', '..', '..');
/** Parameters every boot gets: serial console, KHO and LUO on, no reboot loop on panic. */
export const BASE_APPEND = 'console=ttyS0 kho=on liveupdate=on panic=-1';
/** Guest RAM: KHO's scratch areas take about 0.5 GiB of it at boot. */
export const GUEST_MEM = '2G';

/**
 * Throws, naming the package, when the host lacks what the test runs: QEMU, kexec-tools
 * (the guest runs the host's /usr/sbin/kexec), busybox-static and cpio (the initramfs).
 * A missing tool is a failure, never a skip.
 */
export function checkHostTools() {
  const need = [['qemu-system-x86_64', 'qemu-system-x86'], ['kexec', 'kexec-tools'], ['cpio', 'cpio'], ['busybox', 'busybox-static']];
  const missing = need.filter(([bin]) => {
    try { execFileSync('sh', ['-c', `command -v ${bin} || test -x /usr/sbin/${bin} || test -x /sbin/${bin}`], { stdio: 'ignore' }); return false; } catch { return true; }
  });
  if (missing.length) {
    throw new Error(`the LUO test needs ${missing.map(([b, p]) => `${b} (apt-get install ${p})`).join(', ')}; not found on this host`);
  }
}

/** Builds the kernel once per fragment hash (about 5 minutes on 2 cores); returns the bzImage path. */
export function ensureKernel() {
  const out = execFileSync(join(HERE, 'build-kernel.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 45 * 60_000 });
  const path = out.trim().split('\n').pop();
  if (!path || !existsSync(path)) throw new Error(`build-kernel.sh did not produce a bzImage (said: ${out.trim()})`);
  return path;
}

/**
 * A fresh run directory outside /tmp (the guest mounts its own tmpfs over /tmp, so the
 * host's /tmp is hidden there) with the initramfs and the guest's config.json. `tests`: the
 * guest programs to snapshot beside the build (default this folder; the blackout bench
 * passes bench/lib/blackout-guest.mjs).
 */
export function prepareRun(config, tests = undefined) {
  const dir = mkdtempSync('/var/tmp/pram-luo-');
  const initrd = join(dir, 'initrd.img');
  execFileSync(join(HERE, 'mkinitramfs.sh'), [initrd], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  const configPath = join(dir, 'config.json');
  writeFileSync(configPath, JSON.stringify({ repo: snapshot(dir, tests), initrd, ...config }, null, 2));
  return { dir, initrd, configPath };
}

/**
 * A copy of the built project (dist, bin, the addon, this folder) for the guest: a run takes
 * minutes, and a rebuild of the shared checkout meanwhile must not change the code under test
 * between two boots. node_modules is linked, not copied (it does not change during a run).
 */
export function snapshot(dir, tests = ['test/e2e/luo']) {
  const app = join(dir, 'app');
  for (const p of ['dist', 'bin', 'package.json', 'build/Release/pram_native.node', ...tests]) {
    mkdirSync(dirname(join(app, p)), { recursive: true });
    cpSync(join(REPO, p), join(app, p), { recursive: true });
  }
  // A copy, not a link: the checkout may sit under the host's /tmp, which the guest hides.
  cpSync(join(REPO, 'node_modules'), join(app, 'node_modules'), { recursive: true });
  return app;
}

/**
 * Starts one QEMU machine. `lines` collects every console line with the host time it
 * arrived (ms, monotonic); waitFor() resolves on the first matching line at or after
 * `from` or rejects after timeoutMs with the console tail in the message.
 */
export function startVm({ kernel, initrd, append, memory = GUEST_MEM, share = '/', extraArgs = [] }) {
  const args = [
    '-accel', 'tcg,thread=multi', '-cpu', 'max', '-smp', '2', '-m', memory,
    '-nographic', '-no-reboot', '-kernel', kernel, '-initrd', initrd, '-append', append,
    '-virtfs', `local,path=${share},mount_tag=host,security_model=none,readonly=on,multidevs=remap`,
    ...extraArgs,
  ];
  const child = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines = [];
  const waiters = new Set();
  let partial = '';
  let exitCode = null;
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => { exitCode = code ?? signal; resolve(exitCode); wake(); }));
  // No QEMU binary: fail every wait at once with this line, instead of an unhandled error.
  child.on('error', (e) => { lines.push({ t: performance.now(), text: `[qemu] cannot start qemu-system-x86_64: ${e.message}` }); exitCode = e.code ?? 'error'; wake(); });
  const push = (text) => {
    lines.push({ t: performance.now(), text: text.replace(/\r$/, '') });
    wake();
  };
  function wake() { for (const w of [...waiters]) w(); }
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk) => {
    partial += chunk;
    let i;
    while ((i = partial.indexOf('\n')) >= 0) { push(partial.slice(0, i)); partial = partial.slice(i + 1); }
  });
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => { for (const l of chunk.split('\n')) if (l) push(`[qemu stderr] ${l}`); });

  const vm = {
    lines,
    log: () => lines.map((l) => l.text).join('\n') + (partial ? `\n${partial}` : ''),
    tail: (n = 60) => lines.slice(-n).map((l) => l.text).join('\n'),
    /** Resolves with { index, t, text, match } of the first line at index >= from matching re. */
    waitFor(re, timeoutMs, from = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          for (let i = from; i < lines.length; i++) {
            const m = re.exec(lines[i].text);
            if (m) { done(); resolve({ index: i, ...lines[i], match: m }); return; }
          }
          if (exitCode !== null) { done(); reject(new Error(`guest exited (${exitCode}) before a line matched ${re}\n--- console tail ---\n${vm.tail()}`)); }
        };
        const timer = setTimeout(() => { done(); reject(new Error(`no line matched ${re} within ${timeoutMs} ms\n--- console tail ---\n${vm.tail()}`)); }, timeoutMs);
        const done = () => { clearTimeout(timer); waiters.delete(check); };
        waiters.add(check);
        check();
      });
    },
    /** Waits for QEMU to exit (the guest powers off); kills it after timeoutMs. */
    async exit(timeoutMs) {
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      try { return await exited; } finally { clearTimeout(timer); }
    },
    kill() { if (exitCode === null) child.kill('SIGKILL'); },
  };
  return vm;
}

/** Writes the full console of a failed run next to the run's files and returns the path. */
export function saveConsole(dir, name, vm) {
  const path = join(dir, `${name}.console.log`);
  writeFileSync(path, vm.log());
  return path;
}

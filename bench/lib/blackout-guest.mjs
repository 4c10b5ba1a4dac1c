// The blackout bench inside a guest, one program for both machines: the kexec
// e2e guest (test/e2e/kexec: init.sh and guest.sh run this through
// E2E_GUEST_MJS, settings in E2E_* variables) and the LUO e2e guest
// (test/e2e/luo/init runs it with pramluo.script=, settings in the JSON file
// named by pramluo.config=). Each boot restores what the boot before dumped,
// then dumps the next case and kexecs: boot 1 dumps case 1; boot k restores
// case k-1 and dumps case k; the last boot only restores.
// A case is (where, MiB): where 'pram' = images on a pram FUSE mount over
// /dev/pmem0, handed over by `pram kexec`; 'disk' = images on ext4 on the
// virtio disk (host side cache=none), plain kexec, so the next boot reads them
// with a cold page cache; 'luo' = images on a pram mount over memfd:NAME,
// preserved by `pram kexec --luo` and mounted as luo:NAME in the next kernel.
// Prints `PRAM-BLACKOUT <case> <phase> <ms>` lines; the host times kexec to
// init from console lines (lib/blackout.js).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

const cmdline = fs.readFileSync('/proc/cmdline', 'utf8').trim();
const word = (key) => cmdline.split(/\s+/).find((w) => w.startsWith(`${key}=`))?.slice(key.length + 1);
const LUO = word('pramluo.config') !== undefined;
if (!LUO && process.env.PRAM_E2E_GUEST !== '1') { console.error('runs in the blackout guest only'); process.exit(2); }
const env = process.env;
// { repo, work, kernel, initrd, criu (lib/fetch-criu.sh's wrapper), cases: [{ where, mib }], arenaSize }
const cfg = LUO ? JSON.parse(fs.readFileSync(process.argv[2], 'utf8'))
  : { repo: env.E2E_REPO, work: env.E2E_WORK, kernel: env.E2E_KERNEL, initrd: env.E2E_INITRD, criu: env.E2E_CRIU, cases: JSON.parse(env.E2E_BLACKOUT_CASES) };
const CRIU = cfg.criu;
const PRAM = join(cfg.repo, 'bin', 'pram.js');
const BOOT = Number(word(LUO ? 'pramluo.boot' : 'pram_e2e_boot') ?? '1');
const CASES = cfg.cases;
const STATUS = '/tmp/toucher.status';
// The LUO guest's root is the host's, read-only: its mount points go on /run (tmpfs).
const MNT = { pram: '/mnt/pram', disk: '/mnt/disk', luo: '/run/pram-blackout' };
const LUO_ARENA = 'blackout';

const say = (line) => console.log(`PRAM-BLACKOUT boot ${BOOT}: ${line}`);
function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || r.error?.message || '').trim().split('\n').slice(-2).join(' | ')}`);
  return r.stdout;
}
/** criu with its log in the images directory; a failure says the log's errors. */
function criu(args, dir, log) {
  try { return sh(CRIU, [...args, '-D', dir, '-o', log]); } catch (e) {
    let errs = '';
    try { errs = fs.readFileSync(join(dir, log), 'utf8').split('\n').filter((l) => /Error|Warn/.test(l)).slice(-4).join(' | '); } catch { /* no log */ }
    throw new Error(`${e.message} ${errs}`);
  }
}
const timed = (f) => { const t0 = performance.now(); f(); return Math.round(performance.now() - t0); };
const tag = (c, i) => `case ${i + 1} ${c.where} ${c.mib}MiB`;

async function sum(pid) {
  fs.rmSync(STATUS, { force: true });
  if (pid) process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 600; i++) { await delay(100); try { return /sum=(\w+)/.exec(fs.readFileSync(STATUS, 'utf8'))[1]; } catch { /* not yet */ } }
  throw new Error('the toucher wrote no status within 60 s');
}

/** Mounts the case's images; `fresh`: before the dump (a luo case then makes its memfd, later it takes it over). */
function mountCase(where, fresh) {
  fs.mkdirSync(MNT[where], { recursive: true });
  if (where === 'pram') sh('node', [PRAM, 'mount', MNT.pram, '--arena', '/dev/pmem0']);
  else if (where === 'luo') sh('node', [PRAM, 'mount', MNT.luo, '--arena', `${fresh ? 'memfd' : 'luo'}:${LUO_ARENA}`, ...(fresh ? ['--size', cfg.arenaSize] : [])]);
  else sh('mount', ['-t', 'ext4', '/dev/vda', MNT.disk]);
}

function unmountCase(where) {
  if (where === 'disk') sh('umount', [MNT.disk]);
  else sh('node', [PRAM, 'umount', MNT[where]]);
}

/**
 * What makes the images survive the kexec. pram: the unmount's checkpoint; disk: umount writes
 * back; luo: fsync of every image (a pram checkpoint into the memfd; the mount stays up, as
 * `pram kexec --luo` preserves the arena of a running server).
 */
function save(c, dir) {
  if (c.where !== 'luo') return unmountCase(c.where);
  for (const f of fs.readdirSync(dir)) { const fd = fs.openSync(join(dir, f), 'r'); fs.fsyncSync(fd); fs.closeSync(fd); }
  const fd = fs.openSync(dir, 'r'); fs.fsyncSync(fd); fs.closeSync(fd);
}

async function restore(c, i) {
  const dir = join(MNT[c.where], `img${i}`);
  if (c.where === 'disk') sh('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
  const mount = timed(() => mountCase(c.where, false));
  const rec = JSON.parse(fs.readFileSync(join(dir, 'rec.json'), 'utf8'));
  const restoreMs = timed(() => criu(['restore', '-d', '--pidfile', '/tmp/toucher.pid'], dir, 'restore.log'));
  const pid = Number(fs.readFileSync('/tmp/toucher.pid', 'utf8'));
  const got = await sum(pid);
  if (got !== rec.sum) throw new Error(`${tag(c, i)}: memory sum ${got} after restore, ${rec.sum} before`);
  process.kill(pid, 'SIGKILL');
  say(`${tag(c, i)} mount ${mount}`);
  say(`${tag(c, i)} restore ${restoreMs}`);
  say(`${tag(c, i)} verified`);
  fs.rmSync(dir, { recursive: true, force: true });
  unmountCase(c.where);
}

async function dump(c, i) {
  if (c.where === 'pram') sh('node', [PRAM, 'format', '--arena', '/dev/pmem0', '--force']);
  mountCase(c.where, true);
  // criu restores the same pid: start the service far above what the next boot hands out before it restores.
  try { fs.writeFileSync('/proc/sys/kernel/ns_last_pid', String(20000 + 100 * i)); } catch { /* no CHECKPOINT_RESTORE: take the next pid */ }
  const child = spawn(join(cfg.work, 'toucher'), [String(c.mib), STATUS], { detached: true, stdio: 'ignore', cwd: '/' });
  child.unref();
  const before = await sum(null);
  const dir = join(MNT[c.where], `img${i}`);
  fs.mkdirSync(dir, { recursive: true });
  const dumpMs = timed(() => criu(['dump', '-t', String(child.pid)], dir, 'dump.log'));
  fs.writeFileSync(join(dir, 'rec.json'), JSON.stringify({ sum: before }));
  const saveMs = timed(() => save(c, dir));
  say(`${tag(c, i)} dump ${dumpMs}`);
  say(`${tag(c, i)} save ${saveMs}`);
}

function kexec(c) {
  const next = `${LUO ? 'pramluo.boot' : 'pram_e2e_boot'}=${BOOT + 1}`;
  say(`kexec ${c.where}`);
  if (c.where !== 'disk') {
    // pram: passes pram= for the pmem arena; luo: preserves the mounted memfd (--append merges into this command line).
    const arena = c.where === 'luo' ? ['--luo'] : ['--arena', '/dev/pmem0'];
    const k = spawnSync('node', [PRAM, 'kexec', ...arena, cfg.kernel, '--initrd', cfg.initrd, '--append', next, '--exec'], { stdio: ['ignore', 'inherit', 'pipe'], encoding: 'utf8' });
    throw new Error(`pram kexec --exec returned ${k.status}: ${(k.stderr || '').trim().split('\n').slice(-2).join(' | ')}`);
  }
  const line = cmdline.split(/\s+/).filter((w) => !/^(pram|pram_e2e_boot)=/.test(w)).concat(next).join(' ');
  sh('kexec', ['-l', cfg.kernel, `--initrd=${cfg.initrd}`, `--append=${line}`]);
  sh('kexec', ['-e']);
  throw new Error('kexec -e returned');
}

try {
  if (BOOT === 1) say(`kernel ${release()}`);
  if (CASES.some((c) => c.where === 'disk')) sh('modprobe', ['-a', 'virtio_blk', 'ext4']);
  // criu's start-up probes bind to 127.0.0.1: the LUO guest's init leaves lo down (the kexec guest's init.sh brings it up).
  if (LUO) sh('ip', ['link', 'set', 'lo', 'up']);
  // criu probes the kernel once per boot (its kerndat cache in /run): untimed, so no case pays it.
  const check = spawnSync(CRIU, ['check'], { encoding: 'utf8' });
  say(`criu check: ${`${check.stdout}${check.stderr}`.trim().split('\n').filter((l, i, all) => /Error/.test(l) || i === all.length - 1).slice(-4).join(' | ')} (exit ${check.status})`);
  for (let i = 0; i < 100 && CASES.some((c) => c.where === 'disk') && !fs.existsSync('/dev/vda'); i++) await delay(100);
  if (BOOT > 1) await restore(CASES[BOOT - 2], BOOT - 2);
  if (BOOT <= CASES.length) {
    await dump(CASES[BOOT - 1], BOOT - 1);
    kexec(CASES[BOOT - 1]);
  }
  say('done');
} catch (e) {
  say(`FAIL ${String(e.message ?? e).split('\n')[0]}`);
}

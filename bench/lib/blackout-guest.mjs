// The blackout bench inside the kexec e2e guest (test/e2e/kexec: init.sh and
// guest.sh run this through E2E_GUEST_MJS). Each boot restores what the boot
// before dumped, then dumps the next case and kexecs: boot 1 dumps case 1;
// boot k restores case k-1 and dumps case k; the last boot only restores.
// A case is (where, MiB): where 'pram' = images on a pram FUSE mount over
// /dev/pmem0, handed over by `pram kexec`; 'disk' = images on ext4 on the
// virtio disk (host side cache=none), plain kexec, so the next boot reads them
// with a cold page cache. Prints `PRAM-BLACKOUT <case> <phase> <ms>` lines;
// the host times kexec to init from console lines (lib/blackout.js).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { performance } from 'node:perf_hooks';

if (process.env.PRAM_E2E_GUEST !== '1') { console.error('runs in the blackout guest only'); process.exit(2); }
const env = process.env;
const PRAM = join(env.E2E_REPO, 'bin', 'pram.js');
const cmdline = fs.readFileSync('/proc/cmdline', 'utf8').trim();
const BOOT = Number(cmdline.split(/\s+/).find((w) => w.startsWith('pram_e2e_boot='))?.slice(14) ?? '1');
const CASES = JSON.parse(env.E2E_BLACKOUT_CASES);   // [{ where, mib }]
const STATUS = '/tmp/toucher.status';
const MNT = { pram: '/mnt/pram', disk: '/mnt/disk' };

const say = (line) => console.log(`PRAM-BLACKOUT boot ${BOOT}: ${line}`);
function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${(r.stderr || r.stdout || r.error?.message || '').trim().split('\n').slice(-2).join(' | ')}`);
  return r.stdout;
}
const timed = (f) => { const t0 = performance.now(); f(); return Math.round(performance.now() - t0); };
const tag = (c, i) => `case ${i + 1} ${c.where} ${c.mib}MiB`;

async function sum(pid) {
  fs.rmSync(STATUS, { force: true });
  if (pid) process.kill(pid, 'SIGUSR1');
  for (let i = 0; i < 600; i++) { await delay(100); try { return /sum=(\w+)/.exec(fs.readFileSync(STATUS, 'utf8'))[1]; } catch { /* not yet */ } }
  throw new Error('the toucher wrote no status within 60 s');
}

function mountCase(where) {
  fs.mkdirSync(MNT[where], { recursive: true });
  if (where === 'pram') sh('node', [PRAM, 'mount', MNT.pram, '--arena', '/dev/pmem0']);
  else sh('mount', ['-t', 'ext4', '/dev/vda', MNT.disk]);
}

async function restore(c, i) {
  const dir = join(MNT[c.where], `img${i}`);
  if (c.where === 'disk') sh('sh', ['-c', 'sync; echo 3 > /proc/sys/vm/drop_caches']);
  const mount = timed(() => mountCase(c.where));
  const rec = JSON.parse(fs.readFileSync(join(dir, 'rec.json'), 'utf8'));
  const restoreMs = timed(() => sh('criu', ['restore', '-d', '-D', dir, '-o', 'restore.log', '--pidfile', '/tmp/toucher.pid']));
  const pid = Number(fs.readFileSync('/tmp/toucher.pid', 'utf8'));
  const got = await sum(pid);
  if (got !== rec.sum) throw new Error(`${tag(c, i)}: memory sum ${got} after restore, ${rec.sum} before`);
  process.kill(pid, 'SIGKILL');
  say(`${tag(c, i)} mount ${mount}`);
  say(`${tag(c, i)} restore ${restoreMs}`);
  say(`${tag(c, i)} verified`);
  fs.rmSync(dir, { recursive: true, force: true });
  if (c.where === 'pram') sh('node', [PRAM, 'umount', MNT.pram]); else sh('umount', [MNT.disk]);
}

async function dump(c, i) {
  if (c.where === 'pram') sh('node', [PRAM, 'format', '--arena', '/dev/pmem0', '--force']);
  mountCase(c.where);
  const child = spawn(join(env.E2E_WORK, 'toucher'), [String(c.mib), STATUS], { detached: true, stdio: 'ignore', cwd: '/' });
  child.unref();
  const before = await sum(null);
  const dir = join(MNT[c.where], `img${i}`);
  fs.mkdirSync(dir, { recursive: true });
  const dumpMs = timed(() => sh('criu', ['dump', '-t', String(child.pid), '-D', dir, '-o', 'dump.log']));
  fs.writeFileSync(join(dir, 'rec.json'), JSON.stringify({ sum: before }));
  // Save: what makes the images survive the kexec (pram: the unmount's checkpoint; disk: umount writes back).
  const save = timed(() => (c.where === 'pram' ? sh('node', [PRAM, 'umount', MNT.pram]) : sh('umount', [MNT.disk])));
  say(`${tag(c, i)} dump ${dumpMs}`);
  say(`${tag(c, i)} save ${save}`);
}

function kexec(c) {
  const next = `pram_e2e_boot=${BOOT + 1}`;
  say(`kexec ${c.where}`);
  if (c.where === 'pram') {
    spawnSync('node', [PRAM, 'kexec', env.E2E_KERNEL, '--initrd', env.E2E_INITRD, '--arena', '/dev/pmem0', '--append', next, '--exec'], { stdio: 'inherit' });
    throw new Error('pram kexec --exec returned');
  }
  const line = cmdline.split(/\s+/).filter((w) => !/^(pram|pram_e2e_boot)=/.test(w)).concat(next).join(' ');
  sh('kexec', ['-l', env.E2E_KERNEL, `--initrd=${env.E2E_INITRD}`, `--append=${line}`]);
  sh('kexec', ['-e']);
  throw new Error('kexec -e returned');
}

try {
  sh('modprobe', ['-a', 'virtio_blk', 'ext4']);
  // criu probes the kernel once per boot (its kerndat cache in /run): untimed, so no case pays it.
  spawnSync('criu', ['check'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync('/dev/vda'); i++) await delay(100);
  if (BOOT > 1) await restore(CASES[BOOT - 2], BOOT - 2);
  if (BOOT <= CASES.length) {
    await dump(CASES[BOOT - 1], BOOT - 1);
    kexec(CASES[BOOT - 1]);
  }
  say('done');
} catch (e) {
  say(`FAIL ${String(e.message ?? e).split('\n')[0]}`);
}

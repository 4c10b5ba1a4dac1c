// One boot of the kexec e2e guest, run by guest.sh with the host's node over
// 9p. Prints exactly one `PRAM-E2E boot N: PASS ...` or `... FAIL <why>` line,
// then either kexecs into the next boot (through `pram kexec`) or returns.
//
// The oracle needs no state of its own: every file's bytes come from a seeded
// generator keyed by (boot, name), so boot N regenerates what boots 1..N-1
// wrote and compares. The only things carried across kexec are the arena
// (/dev/pmem0, the memmap=! range) and the kernel command line (pram= and
// pram_e2e_boot=).
//
// Modes (E2E_MODE): 'pram' is the real scenario (format, FUSE mount, files,
// CRIU, umount, pram kexec); 'raw' only writes and checks a pattern on
// /dev/pmem0 with plain node, to debug the VM without the CLI.

import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

if (process.env.PRAM_E2E_GUEST !== '1') {
  console.error('guest.mjs runs inside the kexec e2e VM only (see kexec.test.mjs)');
  process.exit(0);
}

const env = process.env;
const REPO = env.E2E_REPO, BOOTS = Number(env.E2E_BOOTS), MODE = env.E2E_MODE ?? 'pram';
const ARENA = '/dev/pmem0', MNT = '/mnt/pram';
const PRAM = join(REPO, 'bin', 'pram.js');
const cmdline = fs.readFileSync('/proc/cmdline', 'utf8').trim();
const param = (k) => cmdline.split(/\s+/).find((w) => w.startsWith(`${k}=`))?.slice(k.length + 1);
const BOOT = Number(param('pram_e2e_boot') ?? '1');
const t0 = Date.now();

/** A failed step: its message becomes the FAIL line. */
class Fail extends Error {}
const check = (ok, why) => { if (!ok) throw new Fail(why); };
const step = (what) => console.log(`PRAM-E2E boot ${BOOT}: ${what} (+${((Date.now() - t0) / 1000).toFixed(1)} s)`);

/** Runs a command; returns stdout; throws Fail with its stderr on a non-zero exit. */
function sh(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts });
  if (r.error) throw new Fail(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) {
    const err = (r.stderr || r.stdout || '').trim().split('\n').slice(-3).join(' | ');
    throw new Fail(`${[cmd, ...args].join(' ')} exited ${r.status ?? r.signal}: ${err}`);
  }
  return r.stdout;
}
const pram = (...args) => sh('node', [PRAM, ...args]);

// --- deterministic content ------------------------------------------------

/** splitmix64-style bytes for (boot, name): the same on every boot. */
function content(boot, name, size) {
  let s = BigInt.asUintN(64, BigInt(boot) * 0x9e3779b97f4a7c15n);
  for (const c of Buffer.from(name)) s = BigInt.asUintN(64, (s ^ BigInt(c)) * 0xbf58476d1ce4e5b9n);
  const out = Buffer.alloc(size);
  let x = Number(s & 0xffffffffn) | 1;
  for (let i = 0; i + 4 <= size; i += 4) {   // xorshift32: fast enough for MiBs under TCG
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    out.writeInt32LE(x | 0, i);
  }
  for (let i = size & ~3; i < size; i++) out[i] = (x >>> ((i & 3) * 8)) & 0xff;
  return out;
}
const sha = (buf) => createHash('sha256').update(buf).digest('hex').slice(0, 16);

/** What boot b writes under MNT/b<b>/: [relative path, size, mode]. */
function filesOf(b) {
  return [
    ['empty', 0, 0o644], ['one', 1, 0o600], ['page-1', 4095, 0o644], ['page', 4096, 0o640],
    ['page+1', 4097, 0o644], ['odd', 100_003, 0o755], ['mib', 1 << 20, 0o644], ['big', 3 * (1 << 20) + 7, 0o644],
    ['dir/a/b/c/deep', 12_345, 0o644], ['dir/a/side', 777, 0o444],
  ].map(([p, size, mode]) => ({ path: `b${b}/${p}`, size: size + (b % 3), mode }));
}

// --- pram mode --------------------------------------------------------------

function writeBoot(b) {
  const dir = join(MNT, `b${b}`);
  for (const f of filesOf(b)) {
    const p = join(MNT, f.path);
    fs.mkdirSync(join(p, '..'), { recursive: true });
    fs.writeFileSync(p, content(b, f.path, f.size));
    fs.chmodSync(p, f.mode);
  }
  fs.chmodSync(join(dir, 'dir', 'a'), 0o750);
  fs.symlinkSync('dir/a/b/c/deep', join(dir, 'link'));
  fs.symlinkSync('/nowhere/at/all', join(dir, 'dangling'));
  fs.linkSync(join(dir, 'odd'), join(dir, 'hard'));
}

function verifyBoot(b) {
  const dir = join(MNT, `b${b}`);
  for (const f of filesOf(b)) {
    const p = join(MNT, f.path);
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    check(st, `${f.path}: missing`);
    check(st.isFile(), `${f.path}: not a regular file (mode ${st.mode.toString(8)})`);
    check((st.mode & 0o7777) === f.mode, `${f.path}: mode ${(st.mode & 0o7777).toString(8)}, expected ${f.mode.toString(8)}`);
    check(st.size === f.size, `${f.path}: size ${st.size}, expected ${f.size}`);
    const got = sha(fs.readFileSync(p)), want = sha(content(b, f.path, f.size));
    check(got === want, `${f.path}: sha256 ${got}, expected ${want}`);
  }
  const a = fs.lstatSync(join(dir, 'dir', 'a'));
  check(a.isDirectory() && (a.mode & 0o7777) === 0o750, `b${b}/dir/a: not a 0750 directory (mode ${a.mode.toString(8)})`);
  check(fs.lstatSync(join(dir, 'link')).isSymbolicLink(), `b${b}/link: not a symlink`);
  check(fs.readlinkSync(join(dir, 'link')) === 'dir/a/b/c/deep', `b${b}/link: target ${fs.readlinkSync(join(dir, 'link'))}`);
  check(fs.readFileSync(join(dir, 'link')).equals(fs.readFileSync(join(dir, 'dir/a/b/c/deep'))), `b${b}/link: does not read its target`);
  check(fs.readlinkSync(join(dir, 'dangling')) === '/nowhere/at/all', `b${b}/dangling: wrong target`);
  const odd = fs.statSync(join(dir, 'odd')), hard = fs.statSync(join(dir, 'hard'));
  check(odd.ino === hard.ino && odd.nlink === 2, `b${b}/hard: not a hard link of odd (ino ${odd.ino}/${hard.ino}, nlink ${odd.nlink})`);
  const names = fs.readdirSync(dir).sort().join(',');
  check(names === 'big,dangling,dir,empty,hard,link,mib,odd,one,page,page+1,page-1', `b${b}/: entries ${names}`);
}

/** `pram mount` returns once the FUSE server (detached) answers. */
async function mountPram() {
  fs.mkdirSync(MNT, { recursive: true });
  pram('mount', MNT, '--arena', ARENA);
  check(isMounted(), `pram mount returned but ${MNT} is not in /proc/mounts`);
}
const isMounted = () => fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === MNT);

function umountPram() {
  pram('umount', MNT);
  check(!isMounted(), 'pram umount returned but the mount is still there');
}

/** `pram format` when the CLI has it; until then the library's header format (said so on the console). */
async function formatArena() {
  if (/^\s+format\b/m.test(pram('--help'))) {
    pram('format', '--arena', ARENA);
    return 'pram format';
  }
  const { Arena } = await import(join(REPO, 'dist/mem/arena.js'));
  const { ArenaHeaderHandoff } = await import(join(REPO, 'dist/pram/handoff.js'));
  const mem = Arena.open(ARENA, { pageSize: 4096 });
  try { ArenaHeaderHandoff.format(mem); } finally { mem.close(); }
  return 'the library (this CLI has no `pram format` yet)';
}

/** pram= on this kernel's command line must name the arena header's current checkpoint. */
async function checkHandoff() {
  const pfn = param('pram');
  check(/^[0-9a-f]+$/.test(pfn ?? ''), `no pram=<hex pfn> on the command line: ${cmdline}`);
  const { HeaderView } = await import(join(REPO, 'dist/format/header.js'));
  const page = Buffer.alloc(4096);
  const fd = fs.openSync(ARENA, 'r');
  try { fs.readSync(fd, page, 0, page.length, 0); } finally { fs.closeSync(fd); }
  const cur = new HeaderView(page).current();
  check(cur, 'the arena header has no valid checkpoint slot after kexec');
  check(cur.slot.headPfn === parseInt(pfn, 16), `pram=${pfn} but the arena header's checkpoint ${cur.slot.generation} starts at ${cur.slot.headPfn.toString(16)}`);
  return cur.slot;
}

async function pramBoot() {
  if (BOOT === 1) {
    step(`formatted /dev/pmem0 with ${await formatArena()}`);
  } else {
    const slot = await checkHandoff();
    step(`pram=${param('pram')} names checkpoint ${slot.generation} (${slot.pages} pages, ${slot.nodes} nodes)`);
  }
  await mountPram();
  step(`mounted${BOOT > 1 ? ` with pram=${param('pram')}` : ''}`);
  if (BOOT === 1) {
    // The mount's server holds the arena's lock: pram kexec must refuse, nothing final is saved yet.
    const r = spawnSync('node', [PRAM, 'kexec', env.E2E_KERNEL, '--arena', ARENA, '--dry-run'], { encoding: 'utf8' });
    check(r.status === 1 && /still mounted/.test(r.stderr), `pram kexec on a mounted arena: exit ${r.status}, ${JSON.stringify(r.stderr.trim())}`);
    step(`pram kexec refused while mounted: ${r.stderr.trim()}`);
  }
  for (let b = 1; b < BOOT; b++) verifyBoot(b);
  if (BOOT > 1) step(`verified the files of boots 1..${BOOT - 1}`);
  if (env.E2E_CRIU === '1') await (await import('./criu.mjs')).criuStep({ boot: BOOT, boots: BOOTS, mnt: MNT, work: env.E2E_WORK, step, check, sh });
  if (BOOT < BOOTS) writeBoot(BOOT);
  verifyBoot(BOOT < BOOTS ? BOOT : BOOT - 1);
  umountPram();
  step('unmounted');
}

// --- raw mode: the VM without pram -----------------------------------------

function rawBoot() {
  const size = 4 << 20;
  const fd = fs.openSync(ARENA, 'r+');
  try {
    if (BOOT > 1) {
      const got = Buffer.alloc(size);
      fs.readSync(fd, got, 0, size, 0);
      check(sha(got) === sha(content(BOOT - 1, 'raw', size)), `/dev/pmem0 does not hold boot ${BOOT - 1}'s pattern`);
    }
    fs.writeSync(fd, content(BOOT, 'raw', size), 0, size, 0);
    fs.fsyncSync(fd);
  } finally { fs.closeSync(fd); }
}

function kexecNext() {
  const next = [`pram_e2e_boot=${BOOT + 1}`];
  if (MODE === 'raw') {
    const line = cmdline.split(/\s+/).filter((w) => !w.startsWith('pram_e2e_boot=')).concat(next).join(' ');
    sh('kexec', ['-l', env.E2E_KERNEL, `--initrd=${env.E2E_INITRD}`, `--append=${line}`]);
    sh('kexec', ['-e']);
  } else {
    // Every other kexec also confines the new kernel below the pmem range, as the RFC's step 3 does.
    const place = BOOT % 2 === 0 ? ['--mem-min', '0x1000000', '--mem-max', '0x3fffffff'] : [];
    // pram kexec prints the kexec command it runs; on success the next line is the next kernel's.
    const args = [PRAM, 'kexec', env.E2E_KERNEL, '--initrd', env.E2E_INITRD, '--arena', ARENA, '--append', next.join(' '), ...place, '--exec'];
    const r = spawnSync('node', args, { stdio: ['ignore', 'inherit', 'inherit'] });
    throw new Fail(`pram kexec --exec returned ${r.status ?? r.signal} (its error is on the line above)`);
  }
  throw new Fail('kexec -e returned');
}

try {
  step(`start (${MODE}), node ${process.version}`);
  if (MODE === 'raw') rawBoot(); else await pramBoot();
  console.log(`PRAM-E2E boot ${BOOT}: PASS (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (BOOT < BOOTS) kexecNext();
  console.log('PRAM-E2E done');
} catch (e) {
  const why = e instanceof Fail ? e.message : (e?.stack ?? String(e)).split('\n').slice(0, 3).join(' | ');
  console.log(`PRAM-E2E boot ${BOOT}: FAIL ${why}`);
}

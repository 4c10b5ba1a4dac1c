// The LUO test's guest driver: runs inside the VM (host node, host checkout over 9p,
// chrooted by ./init) once per boot. Reads its settings from the JSON file named on the
// command line and its boot number from pramluo.boot= in /proc/cmdline. Prints one
// "PRAMLUO boot=N PASS|FAIL ..." line per boot plus the timing marks the host measures
// the blackout with; the host test asserts on those lines. Two modes:
//   native: src/mem/luo.ts + Arena.memfd directly (proves the kernel path without the CLI);
//   lib:    guest-server.mjs (library pieces + src/cli/luo-kexec.ts) and luoKexec();
//   cli:    pram mount --arena memfd:NAME, files through FUSE, pram kexec --luo,
//           pram mount --arena luo:NAME in the next kernel.
import * as fs from 'node:fs';
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as tree from './tree.mjs';

const config = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const cmdline = fs.readFileSync('/proc/cmdline', 'utf8').trim();
const boot = Number(/(?:^| )pramluo\.boot=(\d+)/.exec(cmdline)?.[1] ?? '1');
const lastBoot = config.kexecs + 1;
const uptime = () => fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0];
const say = (s) => process.stdout.write(`PRAMLUO ${s}\n`);
const fail = (why) => { say(`boot=${boot} FAIL ${why}`); process.exit(1); };
const dist = (p) => import(pathToFileURL(join(config.repo, 'dist', p)).href);
const nextCmdline = () => cmdline.replace(/(^| )pramluo\.boot=\d+/, '').trim() + ` pramluo.boot=${boot + 1}`;

/** Loads the kernel with kexec_file_load and jumps; returns only on failure. */
function kexecTools() {
  say(`kexec-request boot=${boot} uptime=${uptime()}`);
  const load = spawnSync('kexec', ['-s', '-l', config.kernel, `--initrd=${config.initrd}`, `--command-line=${nextCmdline()}`], { encoding: 'utf8' });
  if (load.status !== 0) fail(`kexec -s -l: ${load.stderr || load.error}`);
  spawnSync('kexec', ['-e'], { stdio: 'inherit' });
  fail('kexec -e returned');
}

/** Fills the arena with a pattern that names the boot, so a stale image cannot pass. */
function pattern(arena, forBoot, check) {
  let bad = 0;
  for (let pfn = 0; pfn < arena.pageCount; pfn++) {
    const page = arena.page(pfn);
    const want = tree.content(config.seed + forBoot, `page-${pfn % 64}`, 64);
    want.writeUInt32LE(pfn, 0);
    want.writeUInt32LE(forBoot, 4);
    for (let off = 0; off < page.length; off += 256) {
      if (check) { if (!page.subarray(off, off + 64).equals(want)) bad++; } else want.copy(page, off);
    }
  }
  return bad;
}

async function nativeBoot() {
  const { Arena } = await dist('mem/arena.js');
  const luo = await dist('mem/luo.js');
  const name = `pram-native-${config.arenaName}`;
  let arena;
  if (boot === 1) {
    arena = Arena.memfd(config.arenaName, config.sizeBytes);
    say(`boot=1 PASS memfd arena of ${config.sizeBytes} bytes created`);
  } else {
    let sfd;
    try {
      sfd = luo.retrieveSession(name);
      const fd = luo.retrieveFd(sfd);
      arena = Arena.fromFd(fd, { kind: 'memfd', path: `luo:${config.arenaName}` });
    } catch (e) { fail(`${e.code ?? ''} ${e.message}`); }
    say(`files-readable boot=${boot} uptime=${uptime()}`);
    if (arena.sizeBytes !== config.sizeBytes) fail(`memfd size ${arena.sizeBytes}, expected ${config.sizeBytes}`);
    const bad = pattern(arena, boot - 1, true);
    try { luo.finishSession(sfd); fs.closeSync(sfd); } catch (e) { fail(`finish: ${e.message}`); }
    if (bad) fail(`${bad} pattern blocks differ in the retrieved memfd`);
    say(`boot=${boot} PASS memfd of ${arena.sizeBytes} bytes retrieved intact, session finished`);
  }
  if (boot === lastBoot) { arena.close(); say('done'); return; }
  pattern(arena, boot, false);
  let sfd;
  try {
    sfd = luo.createSession(name);
    luo.preserveFd(sfd, arena.fd);
  } catch (e) { fail(`preserve: ${e.code ?? ''} ${e.message}`); }
  say(`preserved boot=${boot} session=${name} fd=${sfd}`);
  kexecTools(); // sfd stays open in this process until the kexec
}

// ---- the CLI flow
const MNT = '/run/pram-mnt';
const pramBin = () => join(config.repo, 'bin', 'pram.js');

function mounted() {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === MNT);
}

/**
 * Starts a server for arenaArg and waits for the mount: `pram mount` (cli mode, which
 * returns once mounted) or guest-server.mjs (lib mode, which stays in the foreground).
 */
async function pramMount(arenaArg, extra) {
  fs.mkdirSync(MNT, { recursive: true });
  const logPath = `/tmp/pram-mount-${boot}.log`;
  const out = fs.openSync(logPath, 'w');
  const args = config.mode === 'lib'
    ? [join(config.repo, 'test/e2e/luo/guest-server.mjs'), config.repo, MNT, arenaArg, ...extra]
    : [pramBin(), 'mount', MNT, '--arena', arenaArg, ...(extra.length ? ['--size', extra[0]] : [])];
  const child = spawn(process.execPath, args, { stdio: ['ignore', out, out], detached: true });
  let exited = null;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const t0 = Date.now();
  const tell = () => fs.readFileSync(logPath, 'utf8').trim().replace(/\n/g, ' | ');
  while (!mounted()) {
    if (exited !== null && exited !== 0) fail(`mount of ${arenaArg} exited with ${exited}: ${tell()}`);
    if (Date.now() - t0 > config.mountTimeoutMs) fail(`${MNT} not mounted within ${config.mountTimeoutMs} ms: ${tell()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** pram kexec --luo (cli) or luoKexec() from src/cli/luo-kexec.ts (lib); returns only on failure. */
async function luoKexecNext() {
  const opts = { kernel: config.kernel, initrd: config.initrd, append: nextCmdline() };
  if (config.mode === 'lib') {
    const { luoKexec } = await dist('cli/luo-kexec.js');
    try { await luoKexec({ ...opts, log: (l) => say(`kexec-log ${l}`) }); } catch (e) { fail(`luoKexec: ${e.code ?? ''} ${e.message}`); }
    fail('luoKexec returned');
  }
  // kexec.ts's --append merges key=value into the running command line; --exec jumps.
  const k = spawnSync(process.execPath, [pramBin(), 'kexec', '--luo', opts.kernel, '--initrd', opts.initrd, '--append', `pramluo.boot=${boot + 1}`, '--exec'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  fail(`pram kexec --luo returned ${k.status}: ${(k.stderr || k.stdout || '').trim().replace(/\n/g, ' | ')}`);
}

async function cliBoot() {
  const arenaName = config.arenaName;
  if (boot === 1) {
    await pramMount(`memfd:${arenaName}`, [String(config.sizeBytes)]);
    tree.writeBase(MNT, config.seed);
    const bad = tree.verify(MNT, config.seed, 1);
    if (bad.length) fail(`before any kexec: ${bad.slice(0, 5).join('; ')}`);
    say(`boot=1 PASS tree written and verified through the FUSE mount`);
  } else {
    await pramMount(`luo:${arenaName}`, []);
    try { fs.readFileSync(join(MNT, 'sizes/f-4096.bin')); } catch (e) { fail(`first read after mount: ${e.code ?? e.message}`); }
    say(`files-readable boot=${boot} uptime=${uptime()}`);
    const bad = tree.verify(MNT, config.seed, boot - 1);
    if (bad.length) fail(`${bad.length} differences after kexec: ${bad.slice(0, 8).join('; ')}`);
    say(`boot=${boot} PASS tree of boot ${boot - 1} intact after the kexec`);
    if (boot === lastBoot) {
      const u = config.mode === 'lib' ? spawnSync('umount', [MNT], { encoding: 'utf8' }) : spawnSync(process.execPath, [pramBin(), 'umount', MNT], { encoding: 'utf8' });
      say(`umount rc=${u.status} ${(u.stderr || '').trim()}`);
      say('done');
      return;
    }
    tree.change(MNT, config.seed, boot);
    const again = tree.verify(MNT, config.seed, boot);
    if (again.length) fail(`after this boot's changes: ${again.slice(0, 5).join('; ')}`);
  }
  const mem = fs.readFileSync('/proc/meminfo', 'utf8');
  const kib = (k) => new RegExp(`(?:^|\\n)${k}:\\s+(\\d+)`).exec(mem)?.[1];
  say(`meminfo boot=${boot} ${['MemTotal', 'MemFree', 'Shmem', 'CmaTotal'].map((k) => `${k}=${kib(k)}kB`).join(' ')}`);
  say(`kexec-request boot=${boot} uptime=${uptime()}`);
  await luoKexecNext();
}

try {
  say(`driver boot=${boot} mode=${config.mode} node=${process.version} uptime=${uptime()}`);
  await (config.mode === 'native' ? nativeBoot() : cliBoot());
} catch (e) {
  fail(`${e.code ?? ''} ${e.stack ?? e}`.replace(/\n/g, ' | '));
}

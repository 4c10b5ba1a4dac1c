// The LUO test's guest driver: runs inside the VM (host node, host checkout over 9p,
// chrooted by ./init) once per boot. Reads its settings from the JSON file named on the
// command line and its boot number from pramluo.boot= in /proc/cmdline. Prints one
// "PRAMLUO boot=N PASS|FAIL ..." line per boot plus the timing marks the host measures
// the blackout with; the host test asserts on those lines. Two modes:
//   api: the library alone (no FUSE, no CLI): mount({ arena: 'memfd:NAME' }), files
//        written with its fs/promises-like methods, the arena's memfd preserved with
//        src/mem/luo.ts, kexec-tools; mount({ arena: 'luo:NAME' }) in the next kernel;
//   cli: the user's path: pram mount --arena memfd:NAME, files through FUSE,
//        pram kexec --luo --exec, pram mount --arena luo:NAME in the next kernel.
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

/** The api mode's files: every size of tree.SIZES, content a function of the boot that wrote them. */
const apiFile = (size) => `/api/f-${size}.bin`;
const apiContent = (forBoot, size) => tree.content(config.seed + forBoot, `api-${size}`, size);

async function apiBoot() {
  const { mount } = await dist('api/index.js');
  const luo = await dist('mem/luo.js');
  const name = config.arenaName;
  let pfs;
  if (boot === 1) {
    pfs = await mount({ arena: `memfd:${name}`, create: { sizeBytes: config.sizeBytes }, cmdline: '' });
    await pfs.mkdir('/api');
  } else {
    try {
      pfs = await mount({ arena: `luo:${name}`, cmdline: '', warn: (l) => say(`warn ${l}`) });
    } catch (e) { fail(`mount({ arena: 'luo:${name}' }): ${e.code ?? ''} ${e.message}`); }
    say(`files-readable boot=${boot} uptime=${uptime()}`);
    if (pfs.losses.length) fail(`${pfs.losses.length} losses: ${pfs.losses.map((l) => `${l.path}: ${l.what}`).slice(0, 4).join('; ')}`);
    const bad = [];
    for (const size of tree.SIZES) {
      const got = await pfs.readFile(apiFile(size));
      if (!got.equals(apiContent(boot - 1, size))) bad.push(`${apiFile(size)}: ${got.length} bytes differ from boot ${boot - 1}'s`);
    }
    if (bad.length) fail(bad.join('; '));
    // The session was finished by mount(): a second retrieve must find nothing.
    let again = null;
    try { luo.retrieveSession(luo.luoSessionName(name)); again = 'retrieved twice'; } catch (e) { again = e.code === 'ENOENT' ? null : `${e.code} ${e.message}`; }
    if (again) fail(`after mount(luo:): ${again}`);
  }
  for (const size of tree.SIZES) await pfs.writeFile(apiFile(size), apiContent(boot, size));
  for (const size of tree.SIZES) {
    if (!(await pfs.readFile(apiFile(size))).equals(apiContent(boot, size))) fail(`${apiFile(size)} reads back wrong before the kexec`);
  }
  say(`boot=${boot} PASS ${boot === 1 ? 'memfd arena mounted with the library, files written' : `files of boot ${boot - 1} intact after the kexec, session finished`}`);
  if (boot === lastBoot) { await pfs.unmount(); say('done'); return; }
  await pfs.sync();
  let sfd;
  try {
    sfd = luo.createSession(luo.luoSessionName(name));
    luo.preserveFd(sfd, pfs.volume.mem.fd);
  } catch (e) { fail(`preserve: ${e.code ?? ''} ${e.message}`); }
  say(`preserved boot=${boot} session=${luo.luoSessionName(name)} fd=${sfd}`);
  kexecTools(); // sfd stays open in this process until the kexec
}

// ---- the CLI flow
const MNT = '/run/pram-mnt';
const pramBin = () => join(config.repo, 'bin', 'pram.js');

function mounted() {
  return fs.readFileSync('/proc/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === MNT);
}

/** Starts `pram mount` for arenaArg (it returns once mounted) and waits for the mount. */
async function pramMount(arenaArg, extra) {
  fs.mkdirSync(MNT, { recursive: true });
  const logPath = `/tmp/pram-mount-${boot}.log`;
  const out = fs.openSync(logPath, 'w');
  const args = [pramBin(), 'mount', MNT, '--arena', arenaArg, ...extra];
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

/** pram kexec --luo --exec; returns only on failure. */
function luoKexecNext() {
  // kexec.ts's --append merges key=value into the running command line; --exec jumps.
  const k = spawnSync(process.execPath, [pramBin(), 'kexec', '--luo', config.kernel, '--initrd', config.initrd, '--append', `pramluo.boot=${boot + 1}`, '--exec'], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  fail(`pram kexec --luo returned ${k.status}: ${(k.stderr || k.stdout || '').trim().replace(/\n/g, ' | ')}`);
}

async function cliBoot() {
  const arenaName = config.arenaName;
  if (boot === 1) {
    await pramMount(`memfd:${arenaName}`, ['--size', String(config.sizeBytes)]);
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
    if (boot === lastBoot) {
      const u = spawnSync(process.execPath, [pramBin(), 'umount', MNT], { encoding: 'utf8' });
      if (u.status !== 0 || mounted()) fail(`pram umount rc=${u.status}: ${(u.stderr || u.stdout || '').trim()}`);
      say(`boot=${boot} PASS tree of boot ${boot - 1} intact after the kexec; pram umount: ${(u.stdout || '').trim()}`);
      say('done');
      return;
    }
    say(`boot=${boot} PASS tree of boot ${boot - 1} intact after the kexec`);
    tree.change(MNT, config.seed, boot);
    const again = tree.verify(MNT, config.seed, boot);
    if (again.length) fail(`after this boot's changes: ${again.slice(0, 5).join('; ')}`);
  }
  const mem = fs.readFileSync('/proc/meminfo', 'utf8');
  const kib = (k) => new RegExp(`(?:^|\\n)${k}:\\s+(\\d+)`).exec(mem)?.[1];
  say(`meminfo boot=${boot} ${['MemTotal', 'MemFree', 'Shmem', 'CmaTotal'].map((k) => `${k}=${kib(k)}kB`).join(' ')}`);
  say(`kexec-request boot=${boot} uptime=${uptime()}`);
  luoKexecNext();
}

try {
  say(`driver boot=${boot} mode=${config.mode} node=${process.version} uptime=${uptime()}`);
  await (config.mode === 'api' ? apiBoot() : cliBoot());
} catch (e) {
  fail(`${e.code ?? ''} ${e.stack ?? e}`.replace(/\n/g, ' | '));
}

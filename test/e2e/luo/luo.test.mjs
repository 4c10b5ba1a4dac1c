// `npm run test:luo`: pram across real kexecs through Linux Live Update, in QEMU.
// Builds (once, cached outside the repository) a Linux 7.2 kernel with KHO + LUO, boots it
// with kho=on liveupdate=on, and runs guest.mjs with the host's node over 9p (on a snapshot
// of the built checkout, so a rebuild during the run changes nothing):
//   1. cli: the user's path — pram mount --arena memfd:NAME, a tree of files written
//      through FUSE, pram kexec --luo --exec three times, each next kernel remounting with
//      pram mount --arena luo:NAME and verifying everything; pram umount at the end;
//   2. api: the library without FUSE or CLI — mount({ arena: 'memfd:NAME' }), preserve
//      with src/mem/luo.ts, one kexec, mount({ arena: 'luo:NAME' }) (one kexec: the
//      repeated kexecs are the cli mode's; this proves the library's luo: path);
//   3. memory: MemTotal with a pmem arena (memmap=!) against the LUO setup.
// A missing QEMU or kexec-tools, or a kernel that cannot be built, fails every test.
// One PASS/FAIL line per boot; the blackout and the reserved memory are printed and
// written to bench/results/luo.json.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BASE_APPEND, HERE, REPO, checkHostTools, ensureKernel, prepareRun, saveConsole, startVm } from './vm.mjs';

const KEXECS = 3;
const API_KEXECS = 1;
const ARENA_BYTES = 64 * 1024 * 1024;
const SEED = 20250901;
/** Software emulation is slow: node's start alone takes seconds. Bounds, not expectations. */
const BOOT_TIMEOUT_MS = 240_000;
const RESULTS = join(REPO, 'bench', 'results', 'luo.json');

let kernel;
before(() => { checkHostTools(); kernel = ensureKernel(); }, { timeout: 60 * 60_000 });

function record(key, value) {
  mkdirSync(join(RESULTS, '..'), { recursive: true });
  let all = {};
  try { all = JSON.parse(readFileSync(RESULTS, 'utf8')); } catch { /* first result */ }
  for (const k of Object.keys(all)) if (!['cli', 'api', 'memory'].includes(k)) delete all[k]; // modes this test no longer runs
  all[key] = { ...value, recordedAt: new Date().toISOString(), kernel: '7.2 tinyconfig + test/e2e/luo/kernel.fragment', machine: 'QEMU TCG (software emulation), 2 vCPUs, 2 GiB' };
  writeFileSync(RESULTS, JSON.stringify(all, null, 2) + '\n');
}

/** Boots once and drives the guest through KEXECS kexecs; returns per-boot lines and blackouts. */
async function kexecChain(t, mode, kexecs) {
  const arenaName = `t${process.pid}`;
  const run = prepareRun({ mode, kernel, seed: SEED, arenaName, sizeBytes: ARENA_BYTES, kexecs, mountTimeoutMs: 120_000 });
  const append = `${BASE_APPEND} pramluo.script=${join(run.dir, 'app', 'test', 'e2e', 'luo', 'guest.mjs')} pramluo.config=${run.configPath} pramluo.boot=1`;
  const vm = startVm({ kernel, initrd: run.initrd, append });
  const boots = [];
  try {
    let from = 0;
    for (let boot = 1; boot <= kexecs + 1; boot++) {
      // The next verdict: this boot's, or a FAIL of the previous boot's kexec.
      const r = await vm.waitFor(/^PRAMLUO boot=(\d+) (PASS|FAIL)(.*)$/, BOOT_TIMEOUT_MS, from);
      const line = `LUO ${mode} boot ${r.match[1]}: ${r.match[2]}${r.match[3]}`;
      console.log(line); // live, one line per boot
      assert.ok(r.match[2] === 'PASS' && Number(r.match[1]) === boot, `${line}\n--- console tail ---\n${vm.tail()}`);
      boots.push({ boot, line, hostMs: r.t });
      from = r.index + 1;
    }
    await vm.waitFor(/^PRAMLUO done/, BOOT_TIMEOUT_MS, from);
    const blackouts = [];
    for (let boot = 1; boot <= kexecs; boot++) {
      const req = await vm.waitFor(new RegExp(`^PRAMLUO kexec-request boot=${boot} `), 1000);
      const init = await vm.waitFor(new RegExp(`^PRAMLUO init boot=${boot + 1} `), 1000);
      const readable = await vm.waitFor(new RegExp(`^PRAMLUO files-readable boot=${boot + 1} uptime=([\\d.]+)`), 1000);
      blackouts.push({
        kexec: boot,
        blackoutMs: Math.round(readable.t - req.t),
        // request → the next kernel's init running: save, preserve, kexec_file_load, handover, boot
        toNextInitMs: Math.round(init.t - req.t),
        // init → files readable: node from 9p, the mount server, LUO retrieve, load, FUSE
        initToReadableMs: Math.round(readable.t - init.t),
        nextKernelUptimeAtReadableS: Number(readable.match[1]),
      });
    }
    for (const b of blackouts) {
      const line = `LUO ${mode} kexec ${b.kexec}: blackout ${b.blackoutMs} ms from the kexec request to files readable ` +
        `(${b.toNextInitMs} ms to the next kernel's init, ${b.initToReadableMs} ms node + mount + load there; software-emulated CPU)`;
      console.log(line); // live, one line per boot
    }
    assert.ok((await vm.exit(60_000)) === 0, `QEMU did not power off cleanly\n${vm.tail()}`);
    const consolePath = saveConsole(run.dir, mode, vm);
    rmSync(join(run.dir, 'app'), { recursive: true, force: true }); // the snapshot; the console log stays
    return { boots, blackouts, console: consolePath };
  } catch (e) {
    vm.kill();
    const path = saveConsole(run.dir, mode, vm);
    t.diagnostic(`console log: ${path}`);
    e.message += `\n(full console log: ${path})`;
    throw e;
  }
}

test(`cli: pram mount memfd → pram kexec --luo → pram mount luo:, ${KEXECS} times, tree verified after each`, { timeout: (KEXECS + 2) * BOOT_TIMEOUT_MS }, async (t) => {
  const r = await kexecChain(t, 'cli', KEXECS);
  assert.equal(r.boots.length, KEXECS + 1);
  const ms = r.blackouts.map((b) => b.blackoutMs).sort((a, b) => a - b);
  record('cli', { arenaBytes: ARENA_BYTES, kexecs: KEXECS, blackouts: r.blackouts, blackoutMsMedian: ms[Math.floor(ms.length / 2)] });
});

test(`api: mount({ arena: 'memfd:NAME' }) → LUO kexec → mount({ arena: 'luo:NAME' }), files verified`, { timeout: (API_KEXECS + 2) * BOOT_TIMEOUT_MS }, async (t) => {
  const r = await kexecChain(t, 'api', API_KEXECS);
  assert.equal(r.boots.length, API_KEXECS + 1);
  record('api', { arenaBytes: ARENA_BYTES, kexecs: API_KEXECS, blackouts: r.blackouts });
});

/** One short boot that prints /proc/meminfo; returns its fields in KiB. */
async function meminfo(t, extraAppend) {
  const run = prepareRun({ mode: 'meminfo' });
  const vm = startVm({ kernel, initrd: run.initrd, append: `console=ttyS0 panic=-1 pramluo.mode=meminfo ${extraAppend}` });
  try {
    const begin = await vm.waitFor(/^PRAMLUO meminfo-begin/, BOOT_TIMEOUT_MS);
    const end = await vm.waitFor(/^PRAMLUO meminfo-end/, 30_000, begin.index);
    await vm.exit(30_000);
    const fields = {};
    for (const l of vm.lines.slice(begin.index + 1, end.index)) {
      const m = /^(\w+):\s+(\d+) kB/.exec(l.text);
      if (m) fields[m[1]] = Number(m[2]);
    }
    fields.pmemDevices = vm.lines.filter((l) => l.text.startsWith('PRAMLUO pmem-device')).length;
    return fields;
  } catch (e) {
    vm.kill();
    e.message += `\n(full console log: ${saveConsole(run.dir, 'meminfo', vm)})`;
    throw e;
  }
}

test('memory: a pmem arena keeps its size reserved; a LUO arena keeps nothing reserved', { timeout: 4 * BOOT_TIMEOUT_MS }, async (t) => {
  const mib = ARENA_BYTES / 1048576;
  const plain = await meminfo(t, 'kho=off liveupdate=off');
  const luo = await meminfo(t, 'kho=on liveupdate=on');
  // The pmem arena of the kexec issue: memmap=SIZE!OFFSET hides SIZE bytes from the kernel for good.
  const pmem = await meminfo(t, `kho=off liveupdate=off memmap=${mib}M!1G`);
  assert.equal(pmem.pmemDevices, 1, 'memmap=! should give /dev/pmem0');
  const pmemReservedKiB = plain.MemTotal - pmem.MemTotal;
  const luoReservedKiB = plain.MemTotal - luo.MemTotal;
  // KHO's scratch areas become MIGRATE_CMA pageblocks after boot: they show in CmaFree, not CmaTotal.
  const khoScratchKiB = (luo.CmaFree ?? 0) - (plain.CmaFree ?? 0);
  const lines = [
    `reserved while not kexec-ing, ${mib} MiB arena: pmem (memmap=${mib}M!1G) ${pmemReservedKiB} KiB taken out of MemTotal for good; ` +
      `LUO (kho=on liveupdate=on) ${luoReservedKiB} KiB out of MemTotal — the arena is an ordinary memfd, allocated only while mounted`,
    `KHO scratch: ${khoScratchKiB} KiB kept as CMA pageblocks (CmaFree; still usable for movable pages, the next kernel boots from it)`,
  ];
  for (const l of lines) console.log(l);
  // MemTotal of two boots of one kernel differs by a few KiB of early allocations (4 KiB seen
  // here, 16 KiB across a kexec): judge both within 1/64 of the arena.
  const noiseKiB = (mib * 1024) / 64;
  // The pmem region is gone from the kernel's view: the arena's size.
  assert.ok(pmemReservedKiB >= mib * 1024 - noiseKiB, `pmem should hide about ${mib * 1024} KiB, hid ${pmemReservedKiB}`);
  // The LUO arena is an ordinary memfd: nothing is taken out of MemTotal.
  assert.ok(Math.abs(luoReservedKiB) <= noiseKiB, `LUO should take nothing out of MemTotal, took ${luoReservedKiB} KiB`);
  record('memory', {
    arenaBytes: ARENA_BYTES,
    memTotalKiB: { plain: plain.MemTotal, luo: luo.MemTotal, pmem: pmem.MemTotal },
    cmaFreeKiB: { plain: plain.CmaFree ?? 0, luo: luo.CmaFree ?? 0 },
    reservedKiB: { pmemArena: pmemReservedKiB, luoArena: luoReservedKiB, khoScratchCma: khoScratchKiB },
  });
});

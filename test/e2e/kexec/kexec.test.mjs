// The RFC's scenario on a real kernel: Debian's kernel boots in QEMU with a
// memmap=! range as /dev/pmem0; the guest formats a pram arena there, mounts
// it over FUSE, writes files (and dumps a process with CRIU), unmounts, and
// `pram kexec --exec`s into the same kernel; every later boot mounts with the
// pram= the previous one put on the command line, verifies everything,
// restores the process, adds files and kexecs again. The guest prints one
// PRAM-E2E line per boot; this file asserts them. Environment knobs (for
// debugging only): PRAM_E2E_MODE=raw (pattern on /dev/pmem0, no pram),
// PRAM_E2E_BOOTS (default 4 = 3 kexecs), PRAM_E2E_CRIU=0 (leave CRIU out --
// the test then says so in its name; it is never silently skipped),
// PRAM_E2E_CMDLINE (default 'console=ttyS0 quiet'; drop quiet to see the kernel).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, ensureDebs, findKernel, buildInitramfs, buildCounter, bootVm } from './vm.mjs';

const MODE = process.env.PRAM_E2E_MODE ?? 'pram';
const BOOTS = Number(process.env.PRAM_E2E_BOOTS ?? 4);
const CRIU = MODE === 'pram' && process.env.PRAM_E2E_CRIU !== '0';
const BOOT_MS_MAX = 360_000;   // one boot under TCG: 1-3 min (node over 9p, FUSE, CRIU), slower on a busy host
const WORK = join(REPO, 'build', 'kexec-e2e');

test(`pram survives ${BOOTS - 1} real kexecs of Debian's kernel in QEMU (${MODE}${CRIU ? ', with CRIU' : ', without CRIU'})`, { timeout: BOOTS * BOOT_MS_MAX + 120_000 }, async () => {
  ensureDebs();
  assert.ok(BOOTS >= 2, 'PRAM_E2E_BOOTS must be at least 2');
  for (const f of ['dist/cli/main.js', 'build/Release/pram_native.node']) {
    assert.ok(existsSync(join(REPO, f)), `${f} is missing: run \`npm ci\` (builds the addon and dist/) before this test`);
  }
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const kernel = findKernel();
  const initrd = join(WORK, 'initrd.img');
  buildInitramfs({
    work: WORK, kernel,
    env: { E2E_REPO: REPO, E2E_WORK: WORK, E2E_BOOTS: BOOTS, E2E_MODE: MODE, E2E_CRIU: CRIU ? 1 : 0, E2E_KERNEL: kernel.image, E2E_INITRD: initrd },
  });
  if (CRIU) buildCounter(WORK);

  const logFile = join(WORK, 'console.log');
  const vm = bootVm({
    kernel: kernel.image, initrd, logFile,
    // memmap=128M!1G: RAM at 1 GiB..1.125 GiB that the kernel leaves alone
    // (type 12, persistent memory) and nd_e820 turns into /dev/pmem0.
    cmdline: (process.env.PRAM_E2E_CMDLINE ?? 'console=ttyS0 quiet') + ' panic=-1 memmap=128M!1G pram_e2e_boot=1',
  });
  const started = Date.now();
  const report = [];
  try {
    for (let boot = 1; boot <= BOOTS; boot++) {
      const line = await vm.waitFor(new RegExp(`^PRAM-E2E boot ${boot}: (PASS|FAIL)`), BOOT_MS_MAX);
      report.push(`${line}  [at ${((Date.now() - started) / 1000).toFixed(1)} s]`);
      assert.match(line, /: PASS/, `boot ${boot} failed`);
    }
    await vm.waitFor(/^PRAM-E2E done/, 60_000);
    const fails = vm.lines.filter((l) => /^PRAM-E2E .*FAIL/.test(l));
    assert.deepEqual(fails, [], 'a FAIL line on the console');
    if (CRIU) {
      const restored = vm.lines.filter((l) => /^PRAM-E2E boot \d+: criu: restored/.test(l));
      assert.equal(restored.length, BOOTS - 1, `CRIU restored the counter after every kexec: ${restored.join(' / ')}`);
    }
    await vm.exited;
  } catch (err) {
    vm.kill();
    await vm.exited;
    const tail = readFileSync(logFile, 'utf8').split('\n').slice(-80).join('\n');
    err.message += `\n--- console (${logFile}), last 80 lines ---\n${tail}`;
    throw err;
  } finally {
    vm.kill();
    console.log(report.join('\n'));
    console.log(`console log: ${logFile}`);
  }
});

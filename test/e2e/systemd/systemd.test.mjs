// `npm run test:systemd`: pram's memfd arena kept by systemd 262 as PID 1, in QEMU.
// Boots the LUO test's kernel (test/e2e/luo, built once and cached in /var/cache/pram-luo)
// with a Debian sid root file system made by mmdebstrap (build-image.sh, cached in
// /var/cache/pram-systemd by recipe hash), systemd as PID 1, and a Node service using the
// library on memfd:pramsd-svc (FileDescriptorStorePreserve=yes) — driver.mjs in the guest:
//   1. systemctl restart: the arena comes back from the FD store, every file byte for byte;
//   2. SIGKILL: restarted by systemd, the arena holds exactly its last sync;
//   3. systemctl kexec, three times in a row: PID 1 carries the memfd through LUO, every file
//      of every generation back byte for byte after each;
//   4. FileDescriptorStorePreserve=no: after a kexec the arena is gone and the service says so;
//      the preserved one survives the same (fourth) kexec.
// Each phase prints its time; MemTotal is the same in every boot (nothing reserved), printed
// beside the pmem path's reservation as measured by test:luo. A missing tool fails the test.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { HERE as LUO, REPO, checkHostTools, ensureKernel, saveConsole, snapshot, startVm } from '../luo/vm.mjs';

const HERE = join(REPO, 'test', 'e2e', 'systemd');
/** Software emulation: a systemd boot plus node takes tens of seconds. Bounds, not expectations. */
const PHASE_TIMEOUT_MS = 300_000;
/** The service's arena (test/e2e/systemd/content.mjs ARENA_BYTES). */
const ARENA_KIB = 64 * 1024;
const PHASES = ['first-start', 'restart', 'sigkill', 'kexec1', 'kexec2', 'kexec3', 'volatile-start', 'kexec4', 'preserve-no-gone'];

let kernel;
let image;
before(() => {
  checkHostTools();
  kernel = ensureKernel();
  const out = execFileSync(join(HERE, 'build-image.sh'), [], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], timeout: 30 * 60_000 });
  image = out.trim().split('\n').pop();
}, { timeout: 90 * 60_000 });

function pmemReservedKiB() {
  try { return JSON.parse(readFileSync(join(REPO, 'bench', 'results', 'luo.json'), 'utf8')).memory?.reservedKiB?.pmemArena ?? null; } catch { return null; }
}

test('systemd 262 keeps a memfd arena: restart, SIGKILL, 3 kexecs through LUO, FileDescriptorStorePreserve=no loses it', { timeout: PHASES.length * PHASE_TIMEOUT_MS }, async (t) => {
  const dir = mkdtempSync('/var/tmp/pram-sd-');
  snapshot(dir, ['test/e2e/systemd']);
  const initrd = join(dir, 'initrd.img');
  execFileSync(join(LUO, 'mkinitramfs.sh'), [initrd, join(HERE, 'init')], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ kernel, initrd }));
  const append = `console=ttyS0 kho=on liveupdate=on panic=-1 pramsd.run=${dir} pramsd.boot=1`;
  const t0 = performance.now();
  const vm = startVm({
    kernel, initrd, append,
    extraArgs: ['-virtfs', `local,path=${image},mount_tag=root,security_model=none,readonly=on,multidevs=remap`],
  });
  try {
    const ver = await vm.waitFor(/^PRAMSD driver boot=1 .* systemd=(.*) kexecs=/, PHASE_TIMEOUT_MS);
    console.log(`guest: ${ver.match[1]} as PID 1, first boot to driver ${Math.round(ver.t - t0)} ms`);
    let from = 0;
    for (const name of PHASES) {
      const r = await vm.waitFor(/^PRAMSD phase=(\S+) (PASS|FAIL)(.*)$/, PHASE_TIMEOUT_MS, from);
      let line = `systemd ${r.match[1]}: ${r.match[2]}${r.match[3]}`;
      const k = /^kexec(\d)$/.exec(name);
      if (k && r.match[1] === name) {
        // Blackout: the kexec request to the service answering with every file checked.
        const req = await vm.waitFor(new RegExp(`^PRAMSD kexec-request boot=${k[1]} `), 1000);
        line += ` (blackout ${Math.round(r.t - req.t)} ms from systemctl kexec to files verified)`;
      }
      console.log(line);
      assert.ok(r.match[1] === name && r.match[2] === 'PASS', `${line}\n--- console tail ---\n${vm.tail()}`);
      from = r.index + 1;
    }
    await vm.waitFor(/^PRAMSD done/, PHASE_TIMEOUT_MS, from);
    const mem = vm.lines.map((l) => /^PRAMSD meminfo boot=(\d+) MemTotal=(\d+) Shmem=(\d+)/.exec(l.text)).filter(Boolean);
    const totals = mem.map((m) => Number(m[2]));
    const spreadKiB = Math.max(...totals) - Math.min(...totals);
    const pmem = pmemReservedKiB();
    console.log(`memory: MemTotal ${totals.join('/')} KiB in the ${mem.length} boots — nothing reserved for the arena (it is Shmem, ` +
      `${mem.map((m) => m[3]).join('/')} KiB), ${spreadKiB} KiB less after a kexec; the pmem path reserves ` +
      `${pmem === null ? 'its arena size (run test:luo for the figure)' : `${pmem} KiB`} with memmap=!`);
    // A reservation for the arena would take its whole size out of MemTotal; allow the kernel's own small change.
    assert.equal(mem.length, PHASES.filter((p) => p.startsWith('kexec')).length + 1, 'one meminfo line per boot');
    assert.ok(spreadKiB < ARENA_KIB / 64, `MemTotal moved by ${spreadKiB} KiB between boots (arena ${ARENA_KIB} KiB): ${totals.join(', ')}`);
    assert.equal((await vm.exit(120_000)), 0, `QEMU did not power off cleanly\n${vm.tail()}`);
    console.log(`systemd guest test: ${Math.round((performance.now() - t0) / 1000)} s in QEMU`);
    saveConsole(dir, 'systemd', vm);
    rmSync(join(dir, 'app'), { recursive: true, force: true });
  } catch (e) {
    vm.kill();
    const path = saveConsole(dir, 'systemd', vm);
    t.diagnostic(`console log: ${path}`);
    e.message += `\n(full console log: ${path})`;
    throw e;
  }
});

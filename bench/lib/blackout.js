// The RFC's claim in numbers (issue 15): a service with touched memory dumped
// with CRIU, kexec'd and restored, with its images (a) on a pram mount over
// pmem, handed over by `pram kexec`, and (b) on ext4 on a virtio disk (host
// side cache=none; the next kernel starts with a cold page cache). Runs in the
// kexec e2e's QEMU guest (test/e2e/kexec/vm.mjs; the guest program is
// lib/blackout-guest.mjs). Under TCG absolute times are slow: the ratios
// between (a) and (b) of one run are the result. `--blackout` only.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scenario } from './registry.js';
import { fmt, pairedRatio, summary } from './stats.js';
import { ROOT } from './sys.js';

const PHASES = ['dump', 'save', 'kexec to init', 'mount', 'restore'];
const BOOT_MS = 20 * 60_000;

async function run({ plan, status }) {
  const vm = await import(path.join(ROOT, 'test/e2e/kexec/vm.mjs'));
  vm.ensureDebs();
  const work = path.join(ROOT, '.cache/bench-blackout');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(work, 'toucher'), path.join(ROOT, 'bench/lib/toucher.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc toucher.c: ${cc.stderr}`);
  const cases = plan.mib.flatMap((mib) => [{ where: 'pram', mib }, { where: 'disk', mib }]);
  const img = '/var/tmp/pram-bench-blackout.img';
  fs.rmSync(img, { force: true });
  fs.writeFileSync(img, '');
  fs.truncateSync(img, (2 * Math.max(...plan.mib) + 512) * 2 ** 20);
  const mk = spawnSync('mkfs.ext4', ['-F', '-q', img], { encoding: 'utf8' });
  if (mk.status !== 0) throw new Error(`mkfs.ext4: ${mk.stderr}`);
  const kernel = vm.findKernel();
  const initrd = path.join(work, 'initrd.img');
  vm.buildInitramfs({ work, kernel, env: {
    E2E_REPO: ROOT, E2E_WORK: work, E2E_KERNEL: kernel.image, E2E_INITRD: initrd,
    E2E_GUEST_MJS: path.join(ROOT, 'bench/lib/blackout-guest.mjs'), E2E_BLACKOUT_CASES: JSON.stringify(cases),
  } });
  const logFile = path.join(work, 'console.log');
  status(`blackout: booting QEMU (${plan.memory}, pmem ${plan.memmap}) for ${cases.length} cases`);
  const guest = vm.bootVm({
    kernel: kernel.image, initrd, logFile, memory: plan.memory,
    cmdline: `console=ttyS0 quiet panic=-1 memmap=${plan.memmap} pram_e2e_boot=1`,
    extra: ['-drive', `file=${img},format=raw,if=virtio,cache=none`],
  });
  const res = { kernel: kernel.version, memory: plan.memory, memmap: plan.memmap, cases: cases.map((c) => ({ ...c, ms: {} })), log: logFile };
  try {
    for (let boot = 1; boot <= cases.length + 1; boot++) {
      status(`blackout: boot ${boot} of ${cases.length + 1}`);
      const line = await guest.waitFor(new RegExp(`^PRAM-BLACKOUT boot ${boot}: (done|kexec|FAIL)|^PRAM-E2E boot ${boot}: FAIL`), BOOT_MS);
      if (/FAIL/.test(line)) throw new Error(line);
    }
    // Phases from the guest's lines; kexec to init from the host's clock on the console.
    const at = (re) => guest.lines.findIndex((l) => re.test(l));
    for (const l of guest.lines) {
      const m = /^PRAM-BLACKOUT boot \d+: case (\d+) \S+ \d+MiB (dump|save|mount|restore) (\d+)$/.exec(l);
      if (m) res.cases[m[1] - 1].ms[m[2]] = Number(m[3]);
    }
    cases.forEach((c, i) => {
      const k = at(new RegExp(`^PRAM-BLACKOUT boot ${i + 1}: kexec`));
      const init = at(new RegExp(`^PRAM-E2E boot ${i + 2}: init: host root mounted`));
      if (k >= 0 && init > k) res.cases[i].ms['kexec to init'] = guest.lineMs[init] - guest.lineMs[k];
    });
    await guest.exited;
  } catch (e) {
    res.unavailable = `${String(e.message).split('\n')[0]} (console: ${logFile})`;
  } finally {
    guest.kill();
    fs.rmSync(img, { force: true });
  }
  return res;
}

function report(raw) {
  const rows = raw.cases.map((c) => {
    const total = PHASES.every((p) => Number.isFinite(c.ms[p])) ? PHASES.reduce((s, p) => s + c.ms[p], 0) : null;
    return { where: c.where, mib: c.mib, ms: c.ms, total, share: total && c.where === 'pram' ? (100 * (c.ms.save + c.ms.mount)) / total : null };
  });
  for (const r of rows) {
    const disk = rows.find((d) => d.where === 'disk' && d.mib === r.mib);
    if (r.where === 'pram' && r.total && disk?.total) r.vsDisk = pairedRatio([disk.total], [r.total]);
  }
  const md = [];
  md.push(`QEMU (TCG, ${raw.memory}, pmem \`memmap=${raw.memmap}\`), Debian kernel ${raw.kernel}, the kexec e2e guest. A process holding the given MiB of touched memory is dumped with \`criu dump\`, the images saved, the machine kexec'd into the same kernel, the images mounted and \`criu restore\`d; the restored process proves its memory by checksum. pram: images on a \`pram mount\` over /dev/pmem0, save = \`pram umount\` (the checkpoint), \`pram kexec\` passes pram=; disk: images on ext4 on a virtio disk (host \`cache=none\`), save = umount (write-back), plain kexec, the next kernel's page cache is cold. Kexec to init: from the guest's "kexec" line to the next kernel's init line, on the host's clock. Under TCG the absolute times are slow; the ratio of the totals in one run is the result. pram's save and mount are node programs (\`pram umount\`, \`pram mount\` and its FUSE server, and \`pram kexec\` inside "kexec to init") loaded from the host's 9p share into a fresh kernel; under TCG their start-up weighs most at small sizes, where ext4's kernel code has none. LUO (images through a preserved memfd): not measured yet.`, '');
  if (raw.unavailable) md.push(`unavailable: ${raw.unavailable}`, '');
  md.push(`| images on | MiB | ${PHASES.join(' ms | ')} ms | total ms | pram's share (save + mount) | disk total / pram total |`, `|---|---|${PHASES.map(() => '---').join('|')}|---|---|---|`);
  for (const r of rows) {
    md.push(`| ${r.where} | ${r.mib} | ${PHASES.map((p) => (Number.isFinite(r.ms[p]) ? r.ms[p] : '—')).join(' | ')} | ${r.total ?? '—'} | ${r.share !== null ? `${fmt(summary([r.share]), 1)}%` : '—'} | ${r.vsDisk ? `${fmt(r.vsDisk)}×` : '—'} |`);
  }
  md.push('', 'Equal work: both cases dump, save, kexec, mount and restore the same process with the same memory; only where the images live differs.');
  return { figures: { rows }, markdown: md.join('\n'), targets: [] };
}

scenario({
  name: 'blackout', title: 'The blackout: CRIU dump, kexec, restore (QEMU)', flag: 'blackout',
  plan: (quick) => (quick ? { mib: [32], memory: '2G', memmap: '256M!1G' } : { mib: [256, 1024], memory: '5G', memmap: '1536M!1G' }),
  run, report,
});

// The RFC's claim in numbers (issue 15): a service with touched memory dumped
// with CRIU, kexec'd and restored, with its images (a) on a pram mount over
// pmem, handed over by `pram kexec`, (b) on ext4 on a virtio disk (host side
// cache=none; the next kernel starts with a cold page cache), and (c) on a
// pram mount over a memfd that `pram kexec --luo` preserves with Live Update.
// (a) and (b) run in the kexec e2e's QEMU guest (test/e2e/kexec/vm.mjs, the
// Debian kernel); (c) in the LUO e2e's (test/e2e/luo/vm.mjs, its 7.2 kernel
// built with CRIU's options). One guest program, lib/blackout-guest.mjs, for
// both. Under TCG absolute times are slow: the ratios of one run are the
// result. `--blackout` only.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { scenario } from './registry.js';
import { fmt, pairedRatio, summary } from './stats.js';
import { ROOT } from './sys.js';

const PHASES = ['dump', 'save', 'kexec to init', 'mount', 'restore'];
const BOOT_MS = 20 * 60_000;
const GUEST = 'bench/lib/blackout-guest.mjs';

/** Phase lines of one machine's console into its cases' `ms`; `initRe(boot)` finds a boot's init line. */
function phases(cases, lines, initRe) {
  const at = (re) => lines.findIndex((l) => re.test(l.text));
  for (const l of lines) {
    const m = /^PRAM-BLACKOUT boot \d+: case (\d+) \S+ \d+MiB (dump|save|mount|restore) (\d+)$/.exec(l.text);
    if (m) cases[m[1] - 1].ms[m[2]] = Number(m[3]);
  }
  cases.forEach((c, i) => {
    const k = at(new RegExp(`^PRAM-BLACKOUT boot ${i + 1}: kexec`));
    const init = at(initRe(i + 2));
    if (k >= 0 && init > k) c.ms['kexec to init'] = Math.round(lines[init].t - lines[k].t);
  });
  return lines.map((l) => /^PRAM-BLACKOUT boot 1: kernel (\S+)/.exec(l.text)?.[1]).find(Boolean);
}

/** Waits for each boot's last word; throws on a FAIL line (`failRe` adds the harness's own). */
async function boots(n, waitFor, failRe, status) {
  for (let boot = 1; boot <= n; boot++) {
    status(`blackout: boot ${boot} of ${n}`);
    const line = await waitFor(new RegExp(`^PRAM-BLACKOUT boot ${boot}: (done|kexec|FAIL)|${failRe.source}`));
    if (/FAIL|FATAL/.test(line)) throw new Error(line);
  }
}

/** (a) and (b): the kexec e2e's guest, Debian kernel, pmem and a virtio disk. */
export async function kexecMachine({ plan, status, work, criu }) {
  const vm = await import(path.join(ROOT, 'test/e2e/kexec/vm.mjs'));
  vm.ensureDebs();
  const cases = plan.mib.flatMap((mib) => [{ where: 'pram', mib, ms: {} }, { where: 'disk', mib, ms: {} }]);
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
    E2E_GUEST_MJS: path.join(ROOT, GUEST), E2E_CRIU: criu, E2E_BLACKOUT_CASES: JSON.stringify(cases.map(({ where, mib }) => ({ where, mib }))),
  } });
  const logFile = path.join(work, 'console.log');
  status(`blackout: booting QEMU (${plan.memory}, pmem ${plan.memmap}) for ${cases.length} cases`);
  // no_timer_check: on a loaded host TCG's timer misses the IO-APIC check and the kernel panics at boot.
  const guest = vm.bootVm({
    kernel: kernel.image, initrd, logFile, memory: plan.memory,
    cmdline: `console=ttyS0 quiet panic=-1 no_timer_check memmap=${plan.memmap} pram_e2e_boot=1`,
    extra: ['-drive', `file=${img},format=raw,if=virtio,cache=none`],
  });
  const res = { kernel: kernel.version, memory: plan.memory, memmap: plan.memmap, cases, log: logFile };
  try {
    await boots(cases.length + 1, (re) => guest.waitFor(re, BOOT_MS), /^PRAM-E2E boot \d+: FAIL/, status);
    await guest.exited;
  } catch (e) {
    res.unavailable = `${String(e.message).split('\n')[0]} (console: ${logFile})`;
  } finally {
    guest.kill();
    fs.rmSync(img, { force: true });
  }
  const lines = guest.lines.map((text, i) => ({ text, t: guest.lineMs[i] }));
  phases(cases, lines, (boot) => new RegExp(`^PRAM-E2E boot ${boot}: init: host root mounted`));
  return res;
}

/** (c): the LUO e2e's guest (its kernel, init and run directory), a memfd arena kept by LUO. */
export async function luoMachine({ plan, status, work, criu }) {
  const vm = await import(path.join(ROOT, 'test/e2e/luo/vm.mjs'));
  vm.checkHostTools();
  status('blackout: the LUO kernel (test/e2e/luo/build-kernel.sh, cached per fragment)');
  const kernel = vm.ensureKernel();
  const cases = plan.mib.map((mib) => ({ where: 'luo', mib, ms: {} }));
  const run = vm.prepareRun({ mode: 'blackout', kernel, work, criu, arenaSize: plan.luoArena, cases: cases.map(({ where, mib }) => ({ where, mib })) }, [GUEST]);
  const append = `${vm.BASE_APPEND} no_timer_check pramluo.script=${path.join(run.dir, 'app', GUEST)} pramluo.config=${run.configPath} pramluo.boot=1`;
  status(`blackout: booting the LUO QEMU (${plan.luoMemory}) for ${cases.length} cases`);
  const guest = vm.startVm({ kernel, initrd: run.initrd, append, memory: plan.luoMemory });
  const res = { memory: plan.luoMemory, arena: plan.luoArena, cases };
  let from = 0;
  const waitFor = async (re) => { const r = await guest.waitFor(re, BOOT_MS, from); from = r.index + 1; return r.text; };
  try {
    await boots(cases.length + 1, waitFor, /^PRAMLUO FATAL/, status);
    await guest.exit(120_000);
  } catch (e) {
    res.unavailable = String(e.message).split('\n')[0];
  } finally {
    guest.kill();
    res.log = vm.saveConsole(run.dir, 'blackout', guest);
    fs.rmSync(path.join(run.dir, 'app'), { recursive: true, force: true });
  }
  if (res.unavailable) res.unavailable += ` (console: ${res.log})`;
  res.kernel = phases(cases, guest.lines, (boot) => new RegExp(`^PRAMLUO init boot=${boot} `));
  return res;
}

async function run({ plan, status }) {
  const work = path.join(ROOT, '.cache/bench-blackout');
  fs.rmSync(work, { recursive: true, force: true });
  fs.mkdirSync(work, { recursive: true });
  const cc = spawnSync('gcc', ['-static', '-O2', '-o', path.join(work, 'toucher'), path.join(ROOT, 'bench/lib/toucher.c')], { encoding: 'utf8' });
  if (cc.status !== 0) throw new Error(`gcc toucher.c: ${cc.stderr}`);
  status('blackout: CRIU (lib/fetch-criu.sh: Debian sid\'s, cached)');
  const criu = spawnSync('sh', [path.join(ROOT, 'bench/lib/fetch-criu.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (criu.status !== 0) throw new Error('bench/lib/fetch-criu.sh failed');
  const tool = { path: criu.stdout.trim().split('\n').pop(), version: criu.stdout.trim().split('\n').pop().split('/').slice(-2, -1)[0] };
  const kexec = await kexecMachine({ plan, status, work, criu: tool.path });
  // (c)'s kernel has no nf_tables: criu over a stub libnftables there (lib/nft-stub.c says why).
  const luo = await luoMachine({ plan, status, work, criu: tool.path.replace(/criu$/, 'criu-nonft') });
  const { cases: luoCases, ...luoRest } = luo;
  return { ...kexec, criu: tool.version, cases: [...kexec.cases, ...luoCases], luo: luoRest };
}

/** Rows of the table, in the order (a), (b), (c) per size; pram's share for the pram cases, each pram case's total against the disk's. */
function rows(raw) {
  const order = ['pram', 'disk', 'luo'];
  const out = raw.cases.map((c) => {
    const total = PHASES.every((p) => Number.isFinite(c.ms[p])) ? PHASES.reduce((s, p) => s + c.ms[p], 0) : null;
    return { where: c.where, mib: c.mib, ms: c.ms, total, share: total && c.where !== 'disk' ? (100 * (c.ms.save + c.ms.mount)) / total : null };
  }).sort((a, b) => a.mib - b.mib || order.indexOf(a.where) - order.indexOf(b.where));
  for (const r of out) {
    const disk = out.find((d) => d.where === 'disk' && d.mib === r.mib);
    if (r.where !== 'disk' && r.total && disk?.total) r.vsDisk = pairedRatio([disk.total], [r.total]);
  }
  return out;
}

function report(raw) {
  const table = rows(raw);
  const luo = raw.luo ?? {};
  const md = [];
  md.push(`Two QEMU machines (TCG): (a) and (b) in the kexec e2e guest (${raw.memory}, pmem \`memmap=${raw.memmap}\`, Debian kernel ${raw.kernel}); (c) in the LUO e2e guest (${luo.memory ?? '?'}, kernel ${luo.kernel ?? '?'}: \`make tinyconfig\` + test/e2e/luo/kernel.fragment, with CRIU's options; \`kho=on liveupdate=on\`). A process holding the given MiB of touched memory is dumped with \`criu dump\` (CRIU ${raw.criu ?? '?'}, Debian sid's, in both machines: bookworm's 3.17 cannot read the vDSO of (c)'s kernel; in (c) over a stub libnftables, as that kernel has no nf_tables and the process no sockets), the images saved, the machine kexec'd into the same kernel, the images mounted and \`criu restore\`d; the restored process proves its memory by checksum. (a) pram: images on a \`pram mount\` over /dev/pmem0, save = \`pram umount\` (the checkpoint), \`pram kexec\` passes pram=; (b) disk: images on ext4 on a virtio disk (host \`cache=none\`), save = umount (write-back), plain kexec, the next kernel's page cache is cold; (c) luo: images on a \`pram mount --arena memfd:blackout --size ${luo.arena ?? '?'}\`, save = fsync of every image (a checkpoint into the memfd; the mount stays up), \`pram kexec --luo\` preserves the memfd through Live Update (inside "kexec to init"), mount = \`pram mount --arena luo:blackout\` in the next kernel. Kexec to init: from the guest's "kexec" line to the next kernel's init line, on the host's clock. Under TCG the absolute times are slow; the ratios of the totals in one run are the result. pram's save and mount are node programs (\`pram umount\`, \`pram mount\` and its FUSE server, and \`pram kexec\` inside "kexec to init") loaded from the host's 9p share into a fresh kernel; under TCG their start-up weighs most at small sizes, where ext4's kernel code has none. (c)'s kernel is a different, much smaller one (no modules, few drivers), so its "kexec to init" is not (a)'s or (b)'s; its dump, save, mount and restore are the same programs' work.`, '');
  if (raw.unavailable) md.push(`unavailable (a), (b): ${raw.unavailable}`, '');
  if (luo.unavailable) md.push(`unavailable (c): ${luo.unavailable}`, '');
  md.push(`| images on | MiB | ${PHASES.join(' ms | ')} ms | total ms | pram's share (save + mount) | disk total / this total |`, `|---|---|${PHASES.map(() => '---').join('|')}|---|---|---|`);
  const name = { pram: '(a) pram over pmem', disk: '(b) disk', luo: '(c) pram over a LUO memfd' };
  for (const r of table) {
    md.push(`| ${name[r.where]} | ${r.mib} | ${PHASES.map((p) => (Number.isFinite(r.ms[p]) ? r.ms[p] : '—')).join(' | ')} | ${r.total ?? '—'} | ${r.share !== null ? `${fmt(summary([r.share]), 1)}%` : '—'} | ${r.vsDisk ? `${fmt(r.vsDisk)}×` : '—'} |`);
  }
  md.push('', 'Equal work: the three cases dump, save, kexec, mount and restore the same process (the same static binary) with the same memory; only where the images live, and how they cross the kexec, differs — (c) on its own kernel, so the ratio of (c) holds a different kernel\'s boot.');
  return { figures: { rows: table }, markdown: md.join('\n'), targets: [] };
}

scenario({
  name: 'blackout', title: 'The blackout: CRIU dump, kexec, restore (QEMU)', flag: 'blackout',
  // luoArena: the memfd of (c), as large as (a)'s pmem; LUO's guest also keeps ~0.5 GiB of KHO scratch.
  plan: (quick) => (quick
    ? { mib: [32], memory: '2G', memmap: '256M!1G', luoMemory: '2G', luoArena: '256M' }
    : { mib: [256, 1024], memory: '4G', memmap: '1536M!1G', luoMemory: '4G', luoArena: '1536M' }),
  run, report,
});

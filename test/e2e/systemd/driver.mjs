// The systemd test's guest driver (units/pramsd-driver.service), once per boot, with systemd
// 262 as PID 1. It drives the services with systemctl and their control sockets and prints
// one "PRAMSD phase=NAME PASS|FAIL ..." line per check; the host test asserts on those.
//   boot 1: pramsd-svc new → write gen 1 + sync → systemctl restart → gen 1 back (restart);
//           write gen 2 + sync, gen 3 without → SIGKILL → restarted with gen 2 exactly (sigkill);
//           write gen 3 without sync (SIGTERM's final checkpoint saves it) → systemctl kexec
//   boot 2-4: pramsd-svc back from the FD store through LUO with the previous gen (kexecN),
//           next gen written → systemctl kexec; boot 4 also starts pramsd-volatile
//           (FileDescriptorStorePreserve=no) and writes its gen 1 (volatile-start)
//   boot 5: pramsd-volatile starts on a new, empty arena and says so (preserve-no-gone);
//           pramsd-svc still comes back (kexec4) → done, poweroff.
import * as fs from 'node:fs';
import * as net from 'node:net';
import { spawnSync } from 'node:child_process';

const HOST = '/run/pramsd/host';
const config = JSON.parse(fs.readFileSync('/run/pramsd/config.json', 'utf8'));
const cmdline = fs.readFileSync('/proc/cmdline', 'utf8').trim();
const boot = Number(/(?:^| )pramsd\.boot=(\d+)/.exec(cmdline)?.[1] ?? '1');
const uptime = () => fs.readFileSync('/proc/uptime', 'utf8').split(' ')[0];
const say = (s) => process.stdout.write(`PRAMSD ${s}\n`);
const LAST_BOOT = 5;

function run(cmd, args, check = true) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (check && r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: rc=${r.status} ${(r.stderr || r.stdout || String(r.error ?? '')).trim()}`);
  return (r.stdout ?? '').trim();
}
const show = (prop, unit) => run('systemctl', ['show', '-p', prop, '--value', ...(unit ? [unit] : [])], false);

function ask(unit, line) {
  return new Promise((resolve, reject) => {
    const c = net.connect(`/run/pramsd/${unit}.sock`);
    let out = '';
    c.on('connect', () => c.write(line + '\n'));
    c.on('data', (d) => { out += d; });
    c.on('end', () => { try { resolve(JSON.parse(out)); } catch (e) { reject(e); } });
    c.on('error', reject);
  });
}

/** The service's start state, once a main process other than notPid answers on its socket. */
async function stateOf(unit, notPid = 0, timeoutMs = 240_000) {
  const t0 = Date.now();
  for (;;) {
    const pid = Number(show('MainPID', `pramsd-${unit}.service`));
    if (pid > 0 && pid !== notPid) {
      try {
        const s = await ask(unit, 'state');
        if (s.pid === pid) return s;
      } catch { /* not listening yet */ }
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`pramsd-${unit}: no new main process answered within ${timeoutMs} ms (MainPID ${pid})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function write(unit, gen, sync) {
  const r = await ask(unit, `write ${gen} ${sync ? 'sync' : 'nosync'}`);
  if (!r.ok) throw new Error(`pramsd-${unit} write ${gen}: ${r.error}`);
}

let failed = false;
/** One check: PASS when the state is what `want` says, else FAIL naming each difference. */
function phase(name, s, want, ms, extra = '') {
  const diff = Object.entries(want).filter(([k, v]) => JSON.stringify(s[k]) !== JSON.stringify(v)).map(([k, v]) => `${k}=${JSON.stringify(s[k])} (want ${JSON.stringify(v)})`);
  const facts = `from=${s.from} gen=${s.gen} files=${s.files} bytes=${s.bytes} passed=${s.passed || '-'} mount=${s.mountMs}ms verify=${s.verifyMs}ms ms=${ms}${extra}`;
  if (diff.length) { failed = true; say(`phase=${name} FAIL ${diff.join('; ')}; ${facts}; notes: ${s.notes.join(' | ')}`); } else say(`phase=${name} PASS ${facts}`);
}

const timed = async (fn) => { const t0 = Date.now(); const v = await fn(); return [v, Date.now() - t0]; };
const whole = (gen) => ({ gen, files: gen * 7, bad: [], later: [] });

function meminfo() {
  const mem = fs.readFileSync('/proc/meminfo', 'utf8');
  const kib = (k) => new RegExp(`(?:^|\\n)${k}:\\s+(\\d+)`).exec(mem)?.[1];
  say(`meminfo boot=${boot} MemTotal=${kib('MemTotal')} Shmem=${kib('Shmem')} fdstore=${show('NFileDescriptorStore', 'pramsd-svc.service')}`);
}

function kexecNext() {
  meminfo();
  const next = cmdline.replace(/(^| )pramsd\.boot=\d+/, '').trim() + ` pramsd.boot=${boot + 1}`;
  say(`kexec-request boot=${boot} uptime=${uptime()}`);
  run('kexec', ['-s', '-l', HOST + config.kernel, `--initrd=${HOST + config.initrd}`, `--command-line=${next}`]);
  const r = spawnSync('systemctl', ['kexec'], { encoding: 'utf8' });
  if (r.status !== 0) {
    // Said, not hidden: the fallback is what `systemctl kexec` itself starts.
    say(`systemctl kexec rc=${r.status}: ${(r.stderr || '').trim().replace(/\n/g, ' | ')}; starting kexec.target instead`);
    run('systemctl', ['start', 'kexec.target', '--job-mode=replace-irreversibly', '--no-block']);
  }
}

async function main() {
  say(`driver boot=${boot} uptime=${uptime()} systemd=${run('systemctl', ['--version']).split('\n')[0]} kexecs=${show('KexecsCount')}`);
  if (boot === 1) {
    run('systemctl', ['start', 'pramsd-svc']);
    let s = await stateOf('svc');
    phase('first-start', s, { from: 'new', ...whole(0) }, 0);
    await write('svc', 1, true);
    const [r, rms] = await timed(async () => { run('systemctl', ['restart', 'pramsd-svc']); return stateOf('svc', s.pid); });
    phase('restart', r, { from: 'store', ...whole(1) }, rms);
    await write('svc', 2, true);
    await write('svc', 3, false);
    const [k, kms] = await timed(async () => { run('systemctl', ['kill', '--signal=SIGKILL', 'pramsd-svc']); return stateOf('svc', r.pid); });
    phase('sigkill', k, { from: 'store', ...whole(2) }, kms, ` result=${show('Result', 'pramsd-svc.service')} restarts=${show('NRestarts', 'pramsd-svc.service')}`);
    await write('svc', 3, false);
  } else {
    const [s, ms] = await timed(async () => { run('systemctl', ['start', 'pramsd-svc']); return stateOf('svc'); });
    const kexecs = show('KexecsCount');
    // KexecsCount (PID 1's count of LUO kexecs) is printed as evidence, not asserted: the files are the test.
    phase(`kexec${boot - 1}`, s, { from: 'store', ...whole(Math.min(boot + 1, 5)) }, ms, ` KexecsCount=${kexecs || '(no such property)'} uptime=${uptime()}`);
    if (boot === 4) {
      run('systemctl', ['start', 'pramsd-volatile']);
      const v = await stateOf('volatile');
      await write('volatile', 1, true);
      phase('volatile-start', v, { from: 'new', ...whole(0) }, 0);
    }
    if (boot === LAST_BOOT) {
      const [v, vms] = await timed(async () => { run('systemctl', ['start', 'pramsd-volatile']); return stateOf('volatile'); });
      const said = v.notes.find((n) => n.includes('no fd named pram-pramsd-volatile')) ?? '';
      phase('preserve-no-gone', { ...v, said: !!said }, { from: 'new', ...whole(0), said: true }, vms, ` said="${said}"`);
    } else if (boot < 4) await write('svc', boot + 2, false);
  }
  if (failed) { say('stop: a phase failed'); run('systemctl', ['poweroff']); return; }
  if (boot === LAST_BOOT) { meminfo(); say('done'); run('systemctl', ['poweroff']); return; }
  kexecNext();
}

main().catch((e) => { say(`phase=boot${boot} FAIL ${String(e.stack ?? e).replace(/\n/g, ' | ')}`); run('systemctl', ['poweroff'], false); });

// The RFC's steps 2 and 4 in the kexec e2e guest, with Debian's criu from the
// host: boot 1 starts counter.c and dumps it into the pram mount; every later
// boot restores it from there, checks that it goes on counting from where it
// was and that its memory checksum is unchanged, and (unless it is the last
// boot) dumps it again for the next kexec. The record of what the previous
// boot saw (pid, counter, checksum) is a small JSON file beside the dump.

import * as fs from 'node:fs';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';

const STATUS = '/tmp/pram-counter.status';
const SEED = '0x5eed1234';

/** Asks the counter for its status (SIGUSR1; pid null: the one it writes at start) and waits, bounded, for it. */
async function ask(pid, check) {
  if (pid !== null) {
    fs.rmSync(STATUS, { force: true });
    process.kill(pid, 'SIGUSR1');
  }
  for (let i = 0; i < 200; i++) {
    await delay(50);
    let text;
    try { text = fs.readFileSync(STATUS, 'utf8'); } catch { continue; }
    const m = /^pid=(\d+) counter=(\d+) sum=([0-9a-f]+) sum0=([0-9a-f]+)$/.exec(text.trim());
    check(m, `counter status unreadable: ${JSON.stringify(text)}`);
    return { pid: Number(m[1]), counter: Number(m[2]), sum: m[3], sum0: m[4] };
  }
  check(false, `counter pid ${pid} did not write its status within 10 s`);
}

const alive = (pid) => { try { process.kill(pid, 0); return true; } catch { return false; } };

/** criu with its log kept; a failure names the command and the log's last error lines. */
function criu(args, dir, log, { sh, check }) {
  try {
    sh('criu', [...args, '-D', dir, '-o', log, '-v4']);
  } catch (e) {
    let tail = '';
    try { tail = fs.readFileSync(join(dir, log), 'utf8').split('\n').filter((l) => /Error|error|fail/i.test(l)).slice(-4).join(' | '); } catch { /* no log */ }
    check(false, `${e.message}${tail ? ` -- ${log}: ${tail}` : ''}`);
  }
}

export async function criuStep({ boot, boots, mnt, work, step, check, sh }) {
  const root = join(mnt, 'criu');
  let pid, before;
  if (boot === 1) {
    fs.mkdirSync(root, { recursive: true });
    fs.rmSync(STATUS, { force: true });
    // Its own session, stdio on /dev/null: no terminal to carry (no --shell-job).
    const child = spawn(join(work, 'counter'), [STATUS, SEED], { detached: true, stdio: 'ignore', cwd: '/' });
    child.unref();
    pid = child.pid;
    const ready = await ask(null, check);
    check(ready.pid === pid, `status from pid ${ready.pid}, started ${pid}`);
    before = await ask(pid, check);
    check(before.sum === before.sum0, `counter's memory changed before the dump: ${before.sum} vs ${before.sum0}`);
    step(`criu: started counter pid ${pid} (counter ${before.counter}, memory sum ${before.sum})`);
  } else {
    const prev = JSON.parse(fs.readFileSync(join(root, `${boot - 1}.json`), 'utf8'));
    const dir = join(root, String(boot - 1));
    check(!alive(prev.pid), `pid ${prev.pid} is already taken in this boot; criu cannot restore there`);
    criu(['restore', '-d', '--pidfile', '/tmp/pram-counter.pid'], dir, 'restore.log', { sh, check });
    pid = Number(fs.readFileSync('/tmp/pram-counter.pid', 'utf8'));
    check(pid === prev.pid, `criu restored pid ${pid}, dumped pid ${prev.pid}`);
    const now = await ask(pid, check);
    check(now.sum === prev.sum && now.sum0 === prev.sum, `memory sum after restore ${now.sum} (sum0 ${now.sum0}), before the kexec ${prev.sum}`);
    check(now.counter >= prev.counter, `counter went back: ${prev.counter} before the kexec, ${now.counter} after`);
    // Goes on: a later answer counts further (bounded wait: 10 per second).
    let later = now;
    for (let i = 0; i < 50 && later.counter <= now.counter; i++) { await delay(100); later = await ask(pid, check); }
    check(later.counter > now.counter, `counter stuck at ${now.counter} after restore`);
    step(`criu: restored pid ${pid} from boot ${boot - 1}'s dump: counter ${prev.counter} -> ${now.counter} -> ${later.counter}, memory sum ${now.sum} matches`);
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(join(root, `${boot - 1}.json`));
    before = later;
  }
  if (boot === boots) {
    process.kill(pid, 'SIGKILL');
    return;
  }
  const dir = join(root, String(boot));
  fs.mkdirSync(dir, { recursive: true });
  criu(['dump', '-t', String(pid)], dir, 'dump.log', { sh, check });
  for (let i = 0; i < 100 && alive(pid); i++) await delay(50);
  check(!alive(pid), `pid ${pid} still runs after criu dump`);
  fs.writeFileSync(join(root, `${boot}.json`), JSON.stringify({ pid, counter: before.counter, sum: before.sum }));
  const bytes = fs.readdirSync(dir).reduce((n, f) => n + fs.statSync(join(dir, f)).size, 0);
  step(`criu: dumped pid ${pid} into ${dir} (${fs.readdirSync(dir).length} files, ${(bytes / 2 ** 20).toFixed(1)} MiB)`);
}

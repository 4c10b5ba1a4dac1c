// Whether other work shared the CPUs during a run, measured rather than guessed
// from load averages: the run moves itself into a cgroup of its own (its
// children and the FUSE servers they start inherit it), and at the end the
// machine's busy CPU time (/proc/stat) minus the cgroup's is what everything
// else used. Load averages cannot tell: the run's own last minute of work is in
// the 1-minute load at its end. Kernel threads working for the run (writeback,
// softirqs) count as other work, so the share errs towards "loaded".
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Other work above this share of the machine marks a run as taken under load. */
export const OTHER_SHARE_MAX = 0.05;

function read(p) { try { return fs.readFileSync(p, 'utf8'); } catch { return null; } }

/** Busy CPU seconds of the whole machine since boot (every state but idle and iowait). */
function machineBusyS() {
  const cpu = read('/proc/stat')?.split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number);
  if (!cpu || cpu.length < 8) return null;
  const [user, nice, system, , , irq, softirq, steal] = cpu;
  return (user + nice + system + irq + softirq + steal) / 100;   // USER_HZ is 100 on Linux
}

/** Where cgroups are mounted: a v2 (unified) hierarchy first, else v1's cpuacct. */
function hierarchy() {
  const mounts = read('/proc/mounts')?.split('\n').map((l) => l.split(' ')) ?? [];
  const v2 = mounts.find((m) => m[2] === 'cgroup2');
  if (v2) return { dir: v2[1], usage: (d) => Number(/usage_usec (\d+)/.exec(read(path.join(d, 'cpu.stat')) ?? '')?.[1]) / 1e6 };
  const v1 = mounts.find((m) => m[2] === 'cgroup' && m[3].split(',').includes('cpuacct'));
  if (v1) return { dir: v1[1], usage: (d) => Number(read(path.join(d, 'cpuacct.usage'))) / 1e9 };
  return null;
}

/**
 * Starts accounting: this process joins a new cgroup. Returns a function that
 * reports { ownS, otherS, elapsedS, otherShare } at the end, or null when no
 * cgroup could be made (not root, no cgroup file system): the caller falls back.
 */
export function startAccounting(cores) {
  const h = hierarchy();
  const before = machineBusyS();
  if (!h || before === null) return null;
  const dir = path.join(h.dir, `pram-bench-${process.pid}`);
  try {
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, 'cgroup.procs'), `${process.pid}\n`);
  } catch {
    try { fs.rmdirSync(dir); } catch { /* it was not made */ }
    return null;
  }
  const t0 = process.hrtime.bigint();
  return () => {
    const ownS = h.usage(dir);
    const otherS = Math.max(0, machineBusyS() - before - ownS);
    const elapsedS = Number(process.hrtime.bigint() - t0) / 1e9;
    // Back to the top cgroup, then the run's own is removed (it stays if a server the run started outlives it).
    try { fs.writeFileSync(path.join(h.dir, 'cgroup.procs'), `${process.pid}\n`); fs.rmdirSync(dir); } catch { /* left for the next boot */ }
    return { ownS: +ownS.toFixed(1), otherS: +otherS.toFixed(1), elapsedS: +elapsedS.toFixed(1), otherShare: +(otherS / (elapsedS * cores)).toFixed(3) };
  };
}

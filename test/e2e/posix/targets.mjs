// The targets of the conformance suite: a tmpfs (the oracle) and a pram mount
// made with --allow-other, both made fresh under one temporary directory, and
// the actors every case runs as: root, and an unprivileged user (nobody).
// An actor is switched with seteuid/setegid in this process (the real uid stays
// 0, so root can switch back), which is what the kernel's FUSE requests carry.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forceUnmount, isMounted, pram, sh } from '../fuse/helpers.mjs';

export const ACTORS = [
  { name: 'root', uid: 0, gid: 0 },
  { name: 'nobody', uid: 65534, gid: 65534 },
];

/** Run fn with the actor's effective ids (and no supplementary groups), then back to root. */
export function as(actor, fn) {
  if (actor.uid === 0) return fn();
  const groups = process.getgroups();
  process.setgroups([]);
  process.setegid(actor.gid);
  process.seteuid(actor.uid);
  try { return fn(); } finally {
    process.seteuid(0);
    process.setegid(0);
    process.setgroups(groups);
  }
}

/** Make both targets; returns { base, targets: [{ name, dir }], close() }. */
export function makeTargets(tag) {
  if (process.getuid() !== 0) throw new Error('the conformance suite runs as root (it mounts tmpfs and switches users)');
  const base = fs.mkdtempSync(path.join(os.tmpdir(), `${tag}-`));
  fs.chmodSync(base, 0o755);   // nobody reaches the mounts through it
  const tmpfs = path.join(base, 'tmpfs'), mnt = path.join(base, 'pram');
  const arena = `/dev/shm/${tag}-${process.pid}.pram`;
  const env = { PRAM_RUN_DIR: path.join(base, 'run') };
  fs.mkdirSync(tmpfs); fs.mkdirSync(mnt);
  sh(`mount -t tmpfs -o size=256m,mode=0755 ${tag}-oracle '${tmpfs}'`);
  const r = pram(['mount', mnt, '--arena', arena, '--size', '256M', '--allow-other'], { env });
  if (r.code !== 0) { sh(`umount '${tmpfs}'`); throw new Error(`pram mount failed: ${r.err}${r.out}`); }
  return {
    base, env, arena,
    targets: [{ name: 'tmpfs', dir: tmpfs }, { name: 'pram', dir: mnt }],
    close() {
      if (isMounted(mnt)) pram(['umount', mnt], { env });
      forceUnmount(mnt);
      spawnSync('umount', [tmpfs], { timeout: 10_000 });
      forceUnmount(tmpfs);
      fs.rmSync(arena, { force: true });
      fs.rmSync(base, { recursive: true, force: true });
    },
  };
}

#!/usr/bin/env node
// util-linux umount(8) runs this for a fuse.pram mount (install it with
// `pram install-mount-helper`): it is `pram umount DIR`, which returns once the
// server has saved the arena, so `umount DIR; mount DIR` never races the save.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MOUNT_EXIT, UMOUNT_HELPER_NAME, parseUmountHelperArgs } from '../dist/cli/mount-helper.js';

let args;
try {
  args = parseUmountHelperArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${UMOUNT_HELPER_NAME}: ${e.message}\n`);
  process.exit(MOUNT_EXIT.usage);
}
const pram = fileURLToPath(new URL('./pram.js', import.meta.url));
const r = spawnSync(process.execPath, [pram, 'umount', ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
process.exit(r.status === 0 ? MOUNT_EXIT.ok : MOUNT_EXIT.failure);

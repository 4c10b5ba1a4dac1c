#!/usr/bin/env node
// util-linux mount(8) runs this for `mount -t fuse.pram ARENA DIR` and fstab lines
// of type fuse.pram (install it with `pram install-mount-helper`): it runs
// `pram mount DIR --arena ARENA ...` and exits with mount(8)'s codes.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { MOUNT_EXIT, HELPER_NAME, alreadyServed, parseHelperArgs } from '../dist/cli/mount-helper.js';

let call;
try {
  call = parseHelperArgs(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`${HELPER_NAME}: ${e.message}\n`);
  process.exit(MOUNT_EXIT.usage);
}
const pram = fileURLToPath(new URL('./pram.js', import.meta.url));
if (call.verbose) process.stderr.write(`${HELPER_NAME}: pram mount ${call.args.join(' ')}\n`);
if (call.fake) process.exit(MOUNT_EXIT.ok);
if (alreadyServed(call.args[2], call.args[0])) {
  if (call.verbose) process.stderr.write(`${HELPER_NAME}: ${call.args[2]} is already mounted on ${call.args[0]}\n`);
  process.exit(MOUNT_EXIT.ok);
}
const r = spawnSync(process.execPath, [pram, 'mount', ...call.args], { stdio: ['ignore', call.verbose ? 'inherit' : 'ignore', 'inherit'] });
process.exit(r.status === 0 ? MOUNT_EXIT.ok : r.status === 2 ? MOUNT_EXIT.usage : MOUNT_EXIT.failure);

// `pram mount DIR --arena memfd:NAME --foreground` as a Type=notify service, on this host:
// manager.py stands in for PID 1 (the real systemd is systemd.test.mjs's guest). The first
// start creates the arena and hands it over (FDSTORE=1, FDNAME=pram-NAME), says READY=1 once
// mounted; a file is written through the FUSE mount; SIGTERM → STOPPING=1, unmount, final
// checkpoint; the second start gets the kept memfd as fd 3 and serves the same file.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { REPO } from '../luo/vm.mjs';

const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

test('pram mount memfd:NAME under a manager: FD store, READY=1, STOPPING=1, the file back after a restart', { timeout: 180_000 }, () => {
  const tmp = fs.mkdtempSync(join(os.tmpdir(), 'systemd-mount-'));
  const mnt = join(tmp, 'mnt');
  fs.mkdirSync(mnt);
  const name = `systemd-m${process.pid}`;
  const r = spawnSync(PY, [join(REPO, 'test/e2e/systemd/manager.py'), join(tmp, 'notify'),
    `echo kept-by-pid1 > ${mnt}/f && sync -f ${mnt}/f`, `cat ${mnt}/f`,
    process.execPath, join(REPO, 'bin/pram.js'), 'mount', mnt, '--arena', `memfd:${name}`, '--size', '4M', '--foreground'],
  { encoding: 'utf8', timeout: 170_000, env: { ...process.env, PRAM_RUN_DIR: join(tmp, 'run') } });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout);
  const why = JSON.stringify(got, null, 1);
  assert.deepEqual(got.names, [`pram-${name}`], why);
  assert.deepEqual(got.log.map((m) => [m.text.split('\n')[0], m.fds]),
    [['FDSTORE=1', 1], ['READY=1', 0], ['STOPPING=1', 0], ['READY=1', 0], ['STOPPING=1', 0]], why);
  assert.equal(got.first.rc, 0, why);
  assert.equal(got.second.rc, 0, why);
  assert.match(got.first.out, new RegExp(`no fd named pram-${name} in systemd's FD store \\(passed: none\\); created a new, empty arena`));
  assert.match(got.second.out, new RegExp(`memfd:${name}: arena passed back by systemd's FD store \\(fd 3, FDNAME=pram-${name}\\)`));
  assert.equal(got.second.ready, 'kept-by-pid1\n', why);
  assert.ok(!fs.readFileSync('/proc/mounts', 'utf8').includes(mnt), 'unmounted after the second SIGTERM');
});

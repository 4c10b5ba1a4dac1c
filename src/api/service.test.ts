// The library under a service manager, on this host (the real systemd is test/e2e/systemd's):
// test/e2e/systemd/manager.py stands in for PID 1's side of the protocol — a notify socket
// that keeps the fds sent with FDSTORE=1, SIGTERM after READY=1, and a second start with the
// kept fd as fd 3 in LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, as systemd passes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const API = fileURLToPath(new URL('./index.js', import.meta.url));
const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const MANAGER = fileURLToPath(new URL('../../test/e2e/systemd/manager.py', import.meta.url));

const CHILD = (api: string) => `
import { mount } from ${JSON.stringify(api)};
const notes = [];
const pfs = await mount({ arena: 'memfd:systemd-svc', create: { sizeBytes: 1 << 20 }, cmdline: '', warn: (l) => notes.push(l) });
let before = null;
try { before = await pfs.readFile('/n', 'utf8'); } catch (e) { if (e.code !== 'ENOENT') throw e; }
await pfs.writeFile('/n', String(Number(before ?? 0) + 1)); // no sync: the SIGTERM's final checkpoint saves it
console.log(JSON.stringify({ before, notes, env: process.env.LISTEN_FDS ?? null }));
setInterval(() => {}, 1000);
`;

test('under a manager: FDSTORE=1 with the memfd, READY=1, STOPPING=1 and a final checkpoint on SIGTERM; the next start mounts the kept fd', () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'systemd-svc-'));
  const script = join(dir, 'child.mjs');
  fs.writeFileSync(script, CHILD(API));
  const r = spawnSync(PY, [MANAGER, join(dir, 'notify'), 'true', 'true', process.execPath, script], { encoding: 'utf8', timeout: 120_000 });
  assert.equal(r.status, 0, r.stderr);
  const got = JSON.parse(r.stdout) as {
    first: { rc: number; out: string }; second: { rc: number; out: string }; names: string[]; log: { text: string; fds: number }[];
  };
  assert.deepEqual(got.names, ['pram-systemd-svc']);
  assert.deepEqual(got.log.map((m) => [m.text.split('\n')[0], m.fds]), [
    ['FDSTORE=1', 1], ['READY=1', 0], ['STOPPING=1', 0], // first start: a new arena, handed over at once
    ['READY=1', 0], ['STOPPING=1', 0], // second start: the kept one, nothing sent again
  ]);
  assert.equal(got.first.rc, 0, got.first.out);
  assert.equal(got.second.rc, 0, got.second.out);
  const first = JSON.parse(got.first.out.trim().split('\n')[0]!) as { before: string | null; notes: string[] };
  const second = JSON.parse(got.second.out.trim().split('\n')[0]!) as { before: string | null; notes: string[]; env: string | null };
  assert.equal(first.before, null);
  assert.match(first.notes.join('\n'), /no fd named pram-systemd-svc in systemd's FD store \(passed: none\); created a new, empty arena/);
  assert.equal(second.before, '1', 'the write before SIGTERM was saved by the final checkpoint and came back in the kept memfd');
  assert.match(second.notes.join('\n'), /passed back by systemd's FD store \(fd 3, FDNAME=pram-systemd-svc\)/);
  assert.equal(second.env, null, 'LISTEN_FDS is removed once read, so children do not take our fds');
});

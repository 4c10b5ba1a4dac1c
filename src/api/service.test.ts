// The library under a service manager, on this host (the real systemd is test/e2e/systemd's):
// a small python3 stand-in for PID 1's side of the protocol — a notify socket that keeps the
// fds sent with FDSTORE=1, SIGTERM after READY=1, and a second start with the kept fd as fd 3
// in LISTEN_FDS/LISTEN_FDNAMES/LISTEN_PID, as systemd passes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const API = fileURLToPath(new URL('./index.js', import.meta.url));
const PY = fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

const MANAGER = `
import socket, sys, os, json, subprocess, signal, array
sock_path, node, script = sys.argv[1:4]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sock_path)
s.settimeout(60)
store = {}
log = []
def start(extra_env, fd=None):
    env = dict(os.environ, NOTIFY_SOCKET=sock_path, FDSTORE='4', **extra_env)
    args = ['/bin/sh', '-c', 'export LISTEN_PID=$$; exec "$0" "$@"', node, script] if fd is not None else [node, script]
    pre = (lambda: os.dup2(fd, 3)) if fd is not None else None
    return subprocess.Popen(args, env=env, preexec_fn=pre, pass_fds=(3,) if fd is not None else (), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
def serve(p):
    while True:
        msg, anc, _f, _a = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
        fds = []
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                a = array.array('i'); a.frombytes(data[:len(data) - len(data) % 4]); fds += list(a)
        text = msg.decode()
        log.append({'text': text, 'fds': len(fds)})
        fields = dict(l.split('=', 1) for l in text.split('\\n') if '=' in l)
        if fields.get('FDSTORE') == '1':
            for fd in fds: store[fields.get('FDNAME', 'stored')] = fd
        if fields.get('READY') == '1': p.send_signal(signal.SIGTERM)
        if fields.get('STOPPING') == '1': break
    out = p.communicate(timeout=60)[0].decode()
    return {'rc': p.returncode, 'out': out}
first = serve(start({}))
names = sorted(store)
fd = store[names[0]] if names else None
second = serve(start({'LISTEN_FDS': '1', 'LISTEN_FDNAMES': names[0] if names else 'none'}, fd)) if fd is not None else None
print(json.dumps({'first': first, 'second': second, 'names': names, 'log': log}))
`;

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
  const r = spawnSync(PY, ['-c', MANAGER, join(dir, 'notify'), process.execPath, script], { encoding: 'utf8', timeout: 120_000 });
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

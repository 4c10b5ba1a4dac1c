// sd_notify and sd_listen_fds as pram speaks them. The receiving end is a real
// unix datagram socket in a python3 process (Node cannot receive SCM_RIGHTS):
// it prints each message's text and, for each fd it got, the fd's size and first
// bytes, read through the passed fd — so a passed memfd is checked by content.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { Arena } from './arena.js';
import { FDNAME_PREFIX, fdStoreName, keepInFdStore, openMemfdArena } from './fdstore.js';
import { memfdCreate } from './native.js';
import { LISTEN_FDS_START, NotifyError, notify, notifyAddress, parseListenFds } from './sd-notify.js';

const RECEIVER = `
import socket, sys, os, json, array
addr = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(('\\0' + addr[1:]) if addr.startswith('@') else addr)
print('listening', flush=True)
for _ in range(int(sys.argv[2])):
    msg, anc, flags, _a = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    fds = []
    for level, kind, data in anc:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            a = array.array('i'); a.frombytes(data[:len(data) - len(data) % 4]); fds += list(a)
    out = []
    for fd in fds:
        out.append({'size': os.fstat(fd).st_size, 'head': os.pread(fd, 8, 0).decode('latin1')})
        os.close(fd)
    print(json.dumps({'text': msg.decode(), 'fds': out}), flush=True)
`;

interface Got { text: string; fds: { size: number; head: string }[] }

/** A python3 receiver bound at addr for `count` messages; resolves once listening. */
async function receiver(addr: string, count: number): Promise<{ messages: Promise<Got[]> }> {
  // Debian's python3 directly: a version-manager shim in PATH costs seconds per start.
  const py = spawn(fs.existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', ['-c', RECEIVER, addr, String(count)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  py.stderr.on('data', (d) => { err += d; });
  await new Promise<void>((resolve, reject) => {
    py.stdout.on('data', (d) => { out += d; if (out.includes('listening\n')) resolve(); });
    py.on('exit', (code) => reject(new Error(`python3 receiver exited ${code}: ${err}`)));
  });
  const messages = new Promise<Got[]>((resolve, reject) => {
    const timer = setTimeout(() => { py.kill(); reject(new Error(`receiver timed out; got: ${out}`)); }, 10_000);
    py.on('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) reject(new Error(`python3 receiver exited ${code}: ${err}`));
      else resolve(out.split('\n').slice(1).filter(Boolean).map((l) => JSON.parse(l) as Got));
    });
  });
  return { messages };
}

const tmpSock = () => join(fs.mkdtempSync(join(os.tmpdir(), 'systemd-sdn-')), 'notify');

test('notify sends the state as one datagram to a path socket', async () => {
  const path = tmpSock();
  const r = await receiver(path, 1);
  assert.equal(notify('READY=1\nSTATUS=up', [], { NOTIFY_SOCKET: path }), true);
  assert.deepEqual(await r.messages, [{ text: 'READY=1\nSTATUS=up', fds: [] }]);
});

test('notify reaches an abstract socket (@name) and carries a memfd in SCM_RIGHTS', async () => {
  const name = `@systemd-sdn-${process.pid}-${Date.now()}`;
  const r = await receiver(name, 1);
  const fd = memfdCreate('systemd-sdn');
  try {
    fs.writeSync(fd, 'pramdata');
    fs.ftruncateSync(fd, 65536);
    notify('FDSTORE=1\nFDNAME=pram-x', [fd], { NOTIFY_SOCKET: name });
  } finally { fs.closeSync(fd); }
  // The receiver reads through its own copy of the fd: our close does not matter.
  assert.deepEqual(await r.messages, [{ text: 'FDSTORE=1\nFDNAME=pram-x', fds: [{ size: 65536, head: 'pramdata' }] }]);
});

test('notify without NOTIFY_SOCKET is a no-op; a bad socket is an error naming it', () => {
  assert.equal(notify('READY=1', [], {}), false);
  assert.throws(() => notify('READY=1', [], { NOTIFY_SOCKET: 'vsock:2:123' }), (e: NotifyError) => e.code === 'EAFNOSUPPORT' && /vsock:2:123/.test(e.message));
  assert.throws(() => notify('READY=1', [], { NOTIFY_SOCKET: '/nonexistent/systemd-sdn.sock' }), (e: NotifyError) => e.code === 'ENOENT' && /READY=1/.test(e.message));
  assert.deepEqual([...notifyAddress('@abc')], [0, 97, 98, 99]);
});

test('LISTEN_FDS: fds from 3, named by LISTEN_FDNAMES, only for LISTEN_PID', () => {
  assert.equal(LISTEN_FDS_START, 3);
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'pram-a:sock' }, 42),
    [{ fd: 3, name: 'pram-a' }, { fd: 4, name: 'sock' }]);
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'pram-a:sock' }, 43), []);
  assert.deepEqual(parseListenFds({ LISTEN_FDS: '1' }, 7), [{ fd: 3, name: 'unknown' }]);
  assert.deepEqual(parseListenFds({}, 7), []);
  assert.throws(() => parseListenFds({ LISTEN_FDS: 'x', LISTEN_PID: '7' }, 7), /LISTEN_FDS=x/);
  assert.throws(() => parseListenFds({ LISTEN_FDS: '2', LISTEN_PID: '7', LISTEN_FDNAMES: 'a' }, 7), /LISTEN_FDNAMES names 1 fds but LISTEN_FDS=2/);
});

test('FDNAME: pram- + NAME; names systemd could not carry are refused, naming the character', () => {
  assert.equal(fdStoreName('data.v1@host'), `${FDNAME_PREFIX}data.v1@host`);
  assert.throws(() => fdStoreName('a:b'), (e: Error & { code: string }) => e.code === 'EINVAL' && /contains ":"/.test(e.message));
  assert.throws(() => fdStoreName('a b'), /contains " "/);
  assert.throws(() => fdStoreName(''), /is empty/);
  assert.throws(() => fdStoreName('x'.repeat(251)), /at most 250/);
  assert.equal(fdStoreName('x'.repeat(250)).length, 255);
});

test('a new memfd arena under a manager goes to the FD store at once, and says why it is new', async () => {
  const path = tmpSock();
  const r = await receiver(path, 1);
  const notes: string[] = [];
  const env = { NOTIFY_SOCKET: path, FDSTORE: '4' };
  const { mem, fromStore } = openMemfdArena('systemd-t1', () => Arena.memfd('systemd-t1', 1 << 20), (l) => notes.push(l), env);
  try {
    assert.equal(fromStore, false);
    const got = await r.messages;
    assert.equal(got[0]!.text, 'FDSTORE=1\nFDNAME=pram-systemd-t1');
    assert.equal(got[0]!.fds[0]!.size, 1 << 20);
    assert.match(notes[0]!, /no fd named pram-systemd-t1 in systemd's FD store \(passed: none\); created a new, empty arena/);
    assert.match(notes[1]!, /handed to systemd's FD store as pram-systemd-t1/);
  } finally { mem.close(); }
});

test('a unit without FileDescriptorStoreMax= gets a warning: the arena lives only as long as the process', async () => {
  const path = tmpSock();
  const r = await receiver(path, 1);
  const mem = Arena.memfd('systemd-t2', 1 << 20);
  const notes: string[] = [];
  try {
    assert.equal(keepInFdStore(mem, 'systemd-t2', (l) => notes.push(l), { NOTIFY_SOCKET: path }), true);
    await r.messages;
    assert.match(notes.join('\n'), /keeps no fds \(FileDescriptorStoreMax= is 0 or unset\)/);
  } finally { mem.close(); }
});

test('without a manager openMemfdArena only creates', () => {
  const { mem, fromStore } = openMemfdArena('systemd-t3', () => Arena.memfd('systemd-t3', 1 << 20), () => { throw new Error('no notes'); }, {});
  assert.equal(fromStore, false);
  mem.close();
});

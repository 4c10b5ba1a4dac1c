// The poll reader's parts on a real fd (a FIFO opened read-write, which polls
// like /dev/fuse: readable while bytes wait): the uv_poll wake-up on the main
// thread, the non-blocking read that answers -EAGAIN as a value, and stop.
// The loop itself on a real /dev/fuse is exercised by test/e2e/fuse/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pollReadable, readOrErrno } from '../mem/native.js';
import { defaultReader } from './loop.js';

const EAGAIN = 11, EBADF = 9;
const O_NONBLOCK = 0o4000;

function withFifo(fn: (fd: number) => Promise<void>): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fusepoll-loop-'));
  const fifo = path.join(dir, 'fifo');
  execFileSync('mkfifo', [fifo]);
  const fd = fs.openSync(fifo, fs.constants.O_RDWR);
  return fn(fd).finally(() => { fs.closeSync(fd); fs.rmSync(dir, { recursive: true, force: true }); });
}

const flags = (fd: number) => parseInt(/flags:\s+(\d+)/.exec(fs.readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'))![1]!, 8);
const turn = () => new Promise((r) => setImmediate(r));

test('pollReadable makes the fd non-blocking and calls back on the main thread once bytes wait', () => withFifo(async (fd) => {
  const buf = Buffer.alloc(64);
  const seen: string[] = [];
  let calls = 0;
  const poller = pollReadable(fd, (status) => {
    calls++;
    assert.equal(status, 0);
    for (let n = readOrErrno(fd, buf); n !== -EAGAIN; n = readOrErrno(fd, buf)) {
      assert.ok(n > 0, `read answered ${n}`);
      seen.push(buf.toString('utf8', 0, n));
    }
  });
  try {
    assert.equal(flags(fd) & O_NONBLOCK, O_NONBLOCK, 'O_NONBLOCK set');
    assert.equal(readOrErrno(fd, buf), -EAGAIN, 'empty: -EAGAIN, not an exception');
    await turn(); await turn();
    assert.equal(calls, 0, 'no callback while nothing waits');
    fs.writeSync(fd, 'one');
    while (calls === 0) await turn();
    assert.deepEqual(seen, ['one']);
    fs.writeSync(fd, 'two');
    while (calls === 1) await turn();
    assert.deepEqual(seen, ['one', 'two']);
  } finally {
    poller.stop();
  }
  poller.stop();   // a second stop is harmless
  fs.writeSync(fd, 'three');
  await turn(); await turn(); await turn();
  assert.equal(calls, 2, 'no callback after stop');
  assert.equal(readOrErrno(fd, buf), 5, 'the bytes wait for a reader');
}));

test('readOrErrno answers -errno for an fd that is not open; pollReadable throws a system error for one', () => {
  const fd = 1 << 20;   // above any fd limit this test runs with
  assert.equal(readOrErrno(fd, Buffer.alloc(8)), -EBADF);
  assert.throws(() => pollReadable(fd, () => {}), (e: NodeJS.ErrnoException) => e.code === 'EBADF' && e.syscall === 'fcntl');
});

test('an exception in the callback reaches the process as an uncaught exception', () => withFifo(async (fd) => {
  const listeners = process.listeners('uncaughtException');
  process.removeAllListeners('uncaughtException');
  const caught = new Promise<Error>((resolve) => process.once('uncaughtException', resolve));
  const poller = pollReadable(fd, () => { readOrErrno(fd, Buffer.alloc(8)); throw new Error('boom in onReadable'); });
  try {
    fs.writeSync(fd, 'x');
    assert.equal((await caught).message, 'boom in onReadable');
  } finally {
    poller.stop();
    for (const l of listeners) process.on('uncaughtException', l);
  }
}));

test('PRAM_FUSE_READER picks the reader: poll by default, pool on request, anything else an error naming it', () => {
  assert.equal(defaultReader({}), 'poll');
  assert.equal(defaultReader({ PRAM_FUSE_READER: '' }), 'poll');
  assert.equal(defaultReader({ PRAM_FUSE_READER: 'pool' }), 'pool');
  assert.equal(defaultReader({ PRAM_FUSE_READER: 'poll' }), 'poll');
  assert.throws(() => defaultReader({ PRAM_FUSE_READER: 'epoll' }), /PRAM_FUSE_READER: 'epoll' is not a reader \(poll, pool\)/);
});

// FUSE over io_uring on the real kernel: `pram mount --io-uring on` with the
// module parameter on serves real programs (cp, dd, cat, ls, mkdir, mv, rm,
// a file over max_write, concurrent readers) byte for byte, and the requests
// really came by io_uring (the serving line, the run file, the server's count
// at unmount); with the parameter off, `--io-uring on` fails with one clear
// line and `auto` falls back to /dev/fuse. Runs as root; puts the parameter back.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { forceUnmount, isMounted, pram, sh } from './helpers.mjs';

const PARAM = '/sys/module/fuse/parameters/enable_uring';
const T = { timeout: 180_000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'uring-e2e-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/uring-e2e-${process.pid}.pram`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run') };
const MAX_WRITE = 1 << 20;
let paramWas = null;

function setParam(v) { fs.writeFileSync(PARAM, `${v}\n`); }
const runFile = () => JSON.parse(fs.readFileSync(path.join(env.PRAM_RUN_DIR, fs.readdirSync(env.PRAM_RUN_DIR).find((f) => f.endsWith('.pid'))), 'utf8'));
const serverLog = () => fs.readdirSync(env.PRAM_RUN_DIR).filter((f) => f.endsWith('.log')).map((f) => fs.readFileSync(path.join(env.PRAM_RUN_DIR, f), 'utf8')).join('');

function mount(mode, extra = []) {
  return pram(['mount', mnt, '--arena', arena, '--size', '256M', '--io-uring', mode, ...extra], { env, timeoutMs: 60_000 });
}

function umount() {
  const r = pram(['umount', mnt], { env, timeoutMs: 60_000 });
  assert.equal(r.code, 0, `pram umount failed: ${r.err}${r.out}`);
  assert.ok(!isMounted(mnt), 'not mounted after pram umount returned');
}

describe('FUSE over io_uring', () => {
  before(() => {
    assert.ok(fs.existsSync(PARAM), `${PARAM} is missing: this test needs a kernel with CONFIG_FUSE_IO_URING (6.14+)`);
    paramWas = fs.readFileSync(PARAM, 'utf8').trim();
    fs.mkdirSync(mnt);
    sh(`head -c ${5 * MAX_WRITE + 12345} /dev/urandom > '${tmp}/big' && head -c 40000 /dev/urandom > '${tmp}/small'`);
  });

  after(() => {
    if (isMounted(mnt)) pram(['umount', mnt], { env, timeoutMs: 60_000 });
    forceUnmount(mnt);
    if (paramWas !== null) setParam(paramWas);
    fs.rmSync(tmp, { recursive: true, force: true });
    fs.rmSync(arena, { force: true });
  });

  test('--io-uring on with enable_uring=N fails with one clear line, and nothing stays mounted', T, () => {
    setParam('N');
    const r = mount('on');
    assert.equal(r.code, 1, `exit 1: ${r.err}${r.out}`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, `one line: ${r.err}`);
    assert.match(lines[0], /--io-uring on: FUSE over io_uring is off in this kernel \(.*enable_uring is N; echo Y > .*enable_uring, or boot with fuse\.enable_uring=1\)/);
    assert.ok(!isMounted(mnt));
  });

  test('--io-uring auto with enable_uring=N serves through /dev/fuse', T, () => {
    setParam('N');
    const r = mount('auto');
    assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
    assert.equal(runFile().transport, '/dev/fuse');
    fs.writeFileSync(path.join(mnt, 'classic'), 'by /dev/fuse');
    assert.equal(fs.readFileSync(path.join(mnt, 'classic'), 'utf8'), 'by /dev/fuse');
    fs.unlinkSync(path.join(mnt, 'classic'));
    umount();
  });

  test('--io-uring on with enable_uring=Y: real programs, byte for byte, by io_uring', T, () => {
    setParam('Y');
    const r = mount('on', ['--debug']);
    assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
    assert.match(runFile().transport, /^io_uring \(\d+ queues? x \d+ entries of 1 MiB\)$/);
    assert.match(r.out, /^pram: requests by io_uring \(\d+ queues? x \d+ entries of 1 MiB\)$/m, 'pram mount --debug says so');
    assert.match(serverLog(), /requests by io_uring \(/);
    sh(`
      set -e
      cd '${mnt}'
      cp '${tmp}/big' big && cmp big '${tmp}/big'
      dd if='${tmp}/small' of=dd4k bs=4k status=none && cmp dd4k '${tmp}/small'
      dd if='${tmp}/big' of=dd1m bs=1M iflag=fullblock status=none && cmp dd1m '${tmp}/big'
      mkdir -p d/e && mv big d/e/moved && cat d/e/moved | cmp - '${tmp}/big'
      ls -la d/e | grep -q moved
      rm dd4k && test ! -e dd4k
      rmdir d/e 2>/dev/null && exit 1 || true
    `);
    // Concurrent readers on both CPUs' queues, each checked byte for byte.
    sh(`cd '${mnt}' && echo 3 > /proc/sys/vm/drop_caches && for i in 1 2 3 4 5 6; do (cmp d/e/moved '${tmp}/big' && cmp dd1m '${tmp}/big') & done; wait; for j in $(jobs -p); do wait $j; done`);
    const pids = [];
    for (let i = 0; i < 4; i++) pids.push(`(sha256sum '${mnt}/d/e/moved' | cut -d' ' -f1)`);
    const sums = sh(`${pids.map((p) => `${p} &`).join(' ')} wait`).trim().split('\n');
    const want = sh(`sha256sum '${tmp}/big' | cut -d' ' -f1`).trim();
    assert.deepEqual(sums, [want, want, want, want]);
    fs.renameSync(path.join(mnt, 'dd1m'), path.join(mnt, 'renamed'));
    fs.unlinkSync(path.join(mnt, 'renamed'));
    assert.deepEqual(fs.readdirSync(mnt).sort(), ['d']);
    umount();
    // The server's own count at unmount: io_uring carried the requests, /dev/fuse little more than INIT and forgets.
    const m = /served (\d+) requests by io_uring, (\d+) by \/dev\/fuse/.exec(serverLog());
    assert.ok(m, `the server logged its counts: ${serverLog().slice(-500)}`);
    const [byUring, byDev] = [Number(m[1]), Number(m[2])];
    assert.ok(byUring > 100, `requests by io_uring: ${byUring}`);
    assert.ok(byDev < byUring / 10, `requests by /dev/fuse: ${byDev} (io_uring: ${byUring})`);
  });

  test('what io_uring wrote is there after a remount through /dev/fuse', T, () => {
    setParam('N');
    const r = mount('off');
    assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
    assert.equal(runFile().transport, '/dev/fuse');
    sh(`cmp '${mnt}/d/e/moved' '${tmp}/big'`);
    umount();
  });
});

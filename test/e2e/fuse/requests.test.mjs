// What the kernel asks the server for common metadata work, counted from the
// `--debug` trace of a real mount: every request is a round trip through
// /dev/fuse, so the ones pram can spare it (FLUSH on close, OPENDIR and
// RELEASEDIR per listing, LOOKUP of a name known missing, READDIR of an
// unchanged directory) must stay spared — and the caches that spare them must
// never show a stale name. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { pram, sh, tearDown } from './helpers.mjs';

const T = { timeout: 120_000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-fuse-req-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/pram-e2e-fuse-req-${process.pid}.arena`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run') };

/** The server's trace (rx/tx lines), read whole each time. */
function trace() {
  const log = fs.readdirSync(env.PRAM_RUN_DIR).find((f) => f.endsWith('.log'));
  return fs.readFileSync(path.join(env.PRAM_RUN_DIR, log), 'utf8');
}

const pause = (ms) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);

/**
 * Requests by opcode sent while `fn` ran (rx lines only). Some come after it
 * returns (RELEASE is sent when the kernel drops the file, asynchronously) and
 * the server's log is written as it serves: counted once the trace has been
 * still for 300 ms and `done` (if given) holds, at most 20 s.
 */
function requestsDuring(fn, done = () => true) {
  const start = trace().length;
  fn();
  const count = () => {
    const counts = {};
    for (const m of trace().slice(start).matchAll(/^rx \d+: (\w+)/gm)) counts[m[1]] = (counts[m[1]] ?? 0) + 1;
    return counts;
  };
  for (let len = -1, still = 0, end = Date.now() + 20_000; Date.now() < end; pause(50)) {
    const now = trace().length;
    still = now === len ? still + 50 : 0;
    len = now;
    if (still >= 300 && done(count())) break;
  }
  return count();
}

describe('FUSE requests per metadata operation', () => {
  before(() => {
    fs.mkdirSync(mnt);
    const r = pram(['mount', mnt, '--arena', arena, '--size', '128M', '--debug'], { env });
    assert.equal(r.code, 0, `pram mount failed: ${r.err}${r.out}`);
    fs.mkdirSync(path.join(mnt, 'd'));
  });

  after(() => tearDown({ mnt, arena, tmp, env }));

  test('create + close of 20 files: one LOOKUP, CREATE and RELEASE each; FLUSH at most once, then never', T, () => {
    const n = requestsDuring(() => sh(`cd '${mnt}/d' && for i in $(seq 20); do : > c$i; done`), (c) => (c.RELEASE ?? 0) >= 20);
    assert.equal(n.CREATE, 20, JSON.stringify(n));
    assert.equal(n.LOOKUP, 20, `a negative lookup per new name: ${JSON.stringify(n)}`);
    assert.equal(n.RELEASE, 20, JSON.stringify(n));
    assert.ok((n.FLUSH ?? 0) <= 1, `FLUSH answered ENOSYS once stops: ${JSON.stringify(n)}`);
    assert.equal(n.OPEN, undefined, 'CREATE opens');
  });

  test('stat of 20 cached files sends nothing; after dropping caches one LOOKUP each; unlink at most 4 round trips each', T, () => {
    fs.mkdirSync(path.join(mnt, 's'));
    const names = Array.from({ length: 20 }, (_, i) => `'${mnt}/s/f${i}'`).join(' ');
    // the touches' RELEASEs come asynchronously: wait for all 20 so none is counted as the stat's
    requestsDuring(() => sh(`touch ${names}`), (c) => (c.RELEASE ?? 0) >= 20);
    const cached = requestsDuring(() => sh(`stat -c %i ${names}`));
    assert.ok(Object.keys(cached).every((op) => op === 'GETATTR') && (cached.GETATTR ?? 0) <= 1,
      `entries and attributes are cached for their timeout (one GETATTR: the directory the creates changed): ${JSON.stringify(cached)}`);
    sh('sync; echo 3 > /proc/sys/vm/drop_caches');
    const st = requestsDuring(() => sh(`stat -c %i ${names}`));
    assert.ok(st.LOOKUP >= 20 && st.LOOKUP <= 21, `one per file, and the directory's own: ${JSON.stringify(st)}`);
    assert.ok((st.GETATTR ?? 0) <= 2, `the entry's attributes serve stat: ${JSON.stringify(st)}`);
    const un = requestsDuring(() => sh(`rm ${names}`));
    assert.equal(un.UNLINK, 20, JSON.stringify(un));
    // LOOKUP when the dentry was dropped, SETATTR (ctime, from the writeback cache), GETATTR of the changed directory
    const sync = (un.LOOKUP ?? 0) + (un.SETATTR ?? 0) + (un.GETATTR ?? 0);
    assert.ok(sync <= 3 * 20 + 2, `round trips besides UNLINK: ${JSON.stringify(un)}`);
  });

  test('a missing name is looked up once while its negative entry lives, and creating it makes it appear', T, () => {
    const n = requestsDuring(() => sh(`cd '${mnt}/d' && for i in 1 2 3 4 5; do test ! -e ghost; done`));
    assert.ok((n.LOOKUP ?? 0) >= 1 && n.LOOKUP <= 2, `5 tests of a missing name: ${JSON.stringify(n)} (2 when the 1 s entry timeout passed between them)`);
    fs.writeFileSync(path.join(mnt, 'd/ghost'), 'boo');
    assert.equal(fs.readFileSync(path.join(mnt, 'd/ghost'), 'utf8'), 'boo', 'the negative entry turned positive');
    fs.unlinkSync(path.join(mnt, 'd/ghost'));
    assert.ok(!fs.existsSync(path.join(mnt, 'd/ghost')));
  });

  test('listing twice: no OPENDIR/RELEASEDIR once refused, the second listing from the kernel\'s cache; a change shows at once', T, () => {
    const list = () => sh(`ls -a '${mnt}/d'`).split('\n').filter(Boolean).sort();
    list();   // OPENDIR is refused (ENOSYS) the first time a directory is opened, if not before
    const n = requestsDuring(() => { list(); list(); });
    assert.equal(n.OPENDIR, undefined, JSON.stringify(n));
    assert.equal(n.RELEASEDIR, undefined, JSON.stringify(n));
    assert.equal((n.READDIR ?? 0) + (n.READDIRPLUS ?? 0), 0, `the unchanged directory came from the cache: ${JSON.stringify(n)}`);
    const want = ['.', '..', ...Array.from({ length: 20 }, (_, i) => `c${i + 1}`)].sort();
    assert.deepEqual(list(), want);
    fs.writeFileSync(path.join(mnt, 'd/late'), '');
    fs.unlinkSync(path.join(mnt, 'd/c7'));
    fs.renameSync(path.join(mnt, 'd/c8'), path.join(mnt, 'd/c8b'));
    assert.deepEqual(list(), [...want.filter((x) => x !== 'c7' && x !== 'c8'), 'late', 'c8b'].sort(), 'the cache was reset by the changes');
  });
});

// The read path end to end: FUSE READ replies written from views over the
// arena's pages (runs, holes, a damaged page -> EIO), and `pram cat` / `pram
// get` on the same arena. Files are made through the library before the mount,
// so every byte read through the mount comes from a READ request. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, pram, sh, tearDown } from './helpers.mjs';

const T = { timeout: 120_000 };
const PS = 4096;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'reads-fuse-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/reads-e2e-${process.pid}.pram`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };

function pattern(n, seed) {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 11 + seed * 29 + (i >> 9)) & 0xff;
  return b;
}

const files = {
  '/seq': pattern(3 << 20, 1),                      // one run of pages
  '/mixed': pattern(40 * PS + 100, 2),              // written in turns with /other: one page per run
  '/sparse': Buffer.concat([pattern(PS + 10, 3), Buffer.alloc(9 * PS), pattern(2 * PS, 4)]),
};
const damaged = pattern(4 * PS, 5);                 // page 2 gets a flipped bit

describe('reads through FUSE and the CLI', () => {
  before(async () => {
    fs.mkdirSync(mnt);
    const { mount } = await import(path.join(ROOT, 'dist/api/index.js'));
    const pfs = await mount({ arena, create: { sizeBytes: 64 << 20, overwrite: true }, cmdline: '' });
    await pfs.writeFile('/seq', files['/seq']);
    const m = await pfs.open('/mixed', 'w'), o = await pfs.open('/other', 'w');
    for (let at = 0; at < files['/mixed'].length; at += PS) {
      await m.write(files['/mixed'].subarray(at, at + PS), 0, Math.min(PS, files['/mixed'].length - at), at);
      await o.write(Buffer.alloc(PS, 0xee), 0, PS, at);
    }
    await m.close(); await o.close();
    const s = await pfs.open('/sparse', 'w');
    await s.write(files['/sparse'].subarray(0, PS + 10), 0, PS + 10, 0);
    await s.write(files['/sparse'].subarray(10 * PS + 10), 0, 2 * PS, 10 * PS + 10);
    await s.close();
    await pfs.writeFile('/damaged', damaged);
    const ino = (await pfs.stat('/damaged')).ino;
    const pfn = pfs.volume.images().find((i) => i.ino === ino).pages.get(2);
    await pfs.unmount();
    const fd = fs.openSync(arena, 'r+');
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, pfn * PS + 999);
    b[0] ^= 1;
    fs.writeSync(fd, b, 0, 1, pfn * PS + 999);
    fs.closeSync(fd);
  });

  after(() => tearDown({ mnt, arena, tmp, env }));

  test('pram cat writes each file whole (holes as zeros); a damaged file fails with EIO and exit 1', T, () => {
    for (const [p, data] of Object.entries(files)) {
      const out = sh(`node '${ROOT}/bin/pram.js' cat '${p}' --arena '${arena}' --cmdline '' | sha256sum`).split(' ')[0];
      assert.equal(out, createHash('sha256').update(data).digest('hex'), p);
    }
    const r = pram(['cat', '/damaged', '--arena', arena, '--cmdline', ''], { env });
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, /EIO/);
  });

  test('pram get copies the files out byte for byte', T, () => {
    for (const p of Object.keys(files)) {
      const dest = path.join(tmp, `got${p.replace('/', '-')}`);
      const r = pram(['get', p, dest, '--arena', arena, '--cmdline', ''], { env });
      assert.equal(r.code, 0, r.err);
      assert.ok(fs.readFileSync(dest).equals(files[p]), p);
    }
    const r = pram(['get', '/damaged', path.join(tmp, 'got-damaged'), '--arena', arena, '--cmdline', ''], { env });
    assert.notEqual(r.code, 0, 'a damaged file is an error, not a short copy');
  });

  test('READ through the mount: whole files, odd offsets and lengths, holes, EIO for the damaged page only', T, () => {
    const r = pram(['mount', mnt, '--arena', arena], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.err + r.out);
    for (const [p, data] of Object.entries(files)) {
      sh('echo 3 > /proc/sys/vm/drop_caches');
      assert.ok(fs.readFileSync(path.join(mnt, p)).equals(data), `${p} whole`);
      const fd = fs.openSync(path.join(mnt, p), 'r');
      for (const [off, len] of [[1, 3 * PS], [PS - 1, 2], [5 * PS + 17, 1 << 20], [data.length - 5, 100]]) {
        const buf = Buffer.alloc(len);
        const n = fs.readSync(fd, buf, 0, len, off);
        assert.equal(n, Math.max(0, Math.min(len, data.length - off)), `${p} ${off}+${len}`);
        assert.ok(buf.subarray(0, n).equals(data.subarray(off, off + n)), `${p} ${off}+${len}`);
      }
      fs.closeSync(fd);
    }
    const fd = fs.openSync(path.join(mnt, 'damaged'), 'r');
    const buf = Buffer.alloc(2 * PS);
    assert.equal(fs.readSync(fd, buf, 0, 2 * PS, 0), 2 * PS);
    assert.ok(buf.equals(damaged.subarray(0, 2 * PS)), 'pages before the damage');
    assert.throws(() => fs.readSync(fd, buf, 0, PS, 2 * PS), { code: 'EIO' });
    assert.equal(fs.readSync(fd, buf, 0, PS, 3 * PS), PS, 'the page after it');
    assert.ok(buf.subarray(0, PS).equals(damaged.subarray(3 * PS)));
    fs.closeSync(fd);
    const u = pram(['umount', mnt], { env, timeoutMs: 60_000 });
    assert.equal(u.code, 0, u.err);
  });
});

// The pram command on an arena: each command its own process (mount, act, unmount).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.resolve(here, '../../../bin/pram.js');
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'pram-cli-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));

function pram(...args) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '' } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('format refuses to replace an arena without --force', () => {
  const a = path.join(dir, 'f.arena');
  assert.equal(pram('format', '--arena', a, '--size', '8M').code, 0);
  const again = pram('format', '--arena', a, '--size', '8M');
  assert.notEqual(again.code, 0);
  assert.match(again.err, /^pram: EEXIST: .*f\.arena exists; give --force/);
  assert.equal(again.err.trim().split('\n').length, 1, 'one line');
  assert.equal(pram('format', '--arena', a, '--size', '16M', '--force').code, 0);
  const info = JSON.parse(pram('info', '--json', '--arena', a).out);
  assert.equal(info.pageSize, 4096);
  assert.equal(info.pageCount, 4096);
  assert.equal(info.headPfn, 0, 'a fresh arena has no checkpoint');
});

test('put a tree, list it, get it back identical with modes, times and symlinks', () => {
  const a = path.join(dir, 'p.arena');
  const src = path.join(dir, 'src');
  fs.mkdirSync(path.join(src, 'sub'), { recursive: true });
  fs.writeFileSync(path.join(src, 'a.txt'), 'hello pram\n');
  fs.writeFileSync(path.join(src, 'sub', 'big.bin'), Buffer.alloc(300_000, 7));
  fs.chmodSync(path.join(src, 'sub', 'big.bin'), 0o640);
  fs.symlinkSync('a.txt', path.join(src, 'link'));
  fs.utimesSync(path.join(src, 'a.txt'), new Date('2010-01-01T00:00:00Z'), new Date('2011-01-01T00:00:00Z'));
  assert.equal(pram('format', '--arena', a, '--size', '32M').code, 0);
  const put = pram('put', src, '/tree', '--arena', a);
  assert.equal(put.code, 0, put.err);
  assert.match(put.out, /put 2 files, 2 directories, 1 symlinks/);
  assert.deepEqual(pram('ls', '/tree', '--arena', a).out.trim().split('\n'), ['a.txt', 'link', 'sub']);
  const rows = JSON.parse(pram('ls', '--json', '/tree', '--arena', a).out);
  assert.equal(rows.find((r) => r.name === 'link').target, 'a.txt');
  assert.equal(rows.find((r) => r.name === 'a.txt').mtimeMs, Date.parse('2011-01-01T00:00:00Z'));
  assert.match(pram('ls', '-l', '/tree/sub', '--arena', a).out, /^-rw-r----- +1 .* 300000 .* big\.bin$/m);
  assert.equal(pram('cat', '/tree/a.txt', '--arena', a).out, 'hello pram\n');
  assert.equal(pram('mkdir', '-p', '/x/y/z', '--arena', a).code, 0);
  assert.notEqual(pram('rm', '/x', '--arena', a).code, 0);
  assert.equal(pram('rm', '-r', '/x', '--arena', a).code, 0);
  const out = path.join(dir, 'out');
  const got = pram('get', '/tree', out, '--arena', a);
  assert.equal(got.code, 0, got.err);
  assert.equal(fs.readFileSync(path.join(out, 'a.txt'), 'utf8'), 'hello pram\n');
  assert.deepEqual(fs.readFileSync(path.join(out, 'sub', 'big.bin')), Buffer.alloc(300_000, 7));
  assert.equal(fs.statSync(path.join(out, 'sub', 'big.bin')).mode & 0o777, 0o640);
  assert.equal(fs.statSync(path.join(out, 'a.txt')).mtimeMs, Date.parse('2011-01-01T00:00:00Z'));
  assert.equal(fs.readlinkSync(path.join(out, 'link')), 'a.txt');
  const missing = pram('cat', '/nope', '--arena', a);
  assert.equal(missing.code, 1);
  assert.equal(missing.err, "pram: ENOENT: no such file or directory, open '/nope'\n");
});

test('check reports a damaged page by path and exits 3; the rest is salvaged', () => {
  const a = path.join(dir, 'c.arena');
  const src = path.join(dir, 'csrc');
  fs.mkdirSync(src);
  const marker = Buffer.alloc(4096, 'DAMAGE-ME-');
  fs.writeFileSync(path.join(src, 'victim'), Buffer.concat([Buffer.alloc(4096, 1), marker, Buffer.alloc(4096, 2)]));
  fs.writeFileSync(path.join(src, 'healthy'), 'fine\n');
  assert.equal(pram('format', '--arena', a, '--size', '8M').code, 0);
  assert.equal(pram('put', src, '/d', '--arena', a).code, 0);
  const ok = pram('check', '--arena', a);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /ok: 2 files/);
  // Flip one byte in the page holding the marker.
  const bytes = fs.readFileSync(a);
  const at = bytes.indexOf(marker);
  assert.ok(at > 0 && at % 4096 === 0);
  const fd = fs.openSync(a, 'r+');
  fs.writeSync(fd, Buffer.from([0]), 0, 1, at + 100);
  fs.closeSync(fd);
  const before = fs.readFileSync(a);
  const bad = pram('check', '--arena', a);
  assert.equal(bad.code, 3, bad.out + bad.err);
  assert.match(bad.out, /LOST \/d\/victim: .*crc32c/);
  assert.doesNotMatch(bad.out, /healthy/);
  const j = JSON.parse(pram('check', '--json', '--arena', a).out);
  assert.equal(j.ok, false);
  assert.ok(j.losses.every((l) => l.path === '/d/victim'), JSON.stringify(j.losses));
  assert.deepEqual(fs.readFileSync(a), before, 'check writes nothing');
  assert.equal(pram('cat', '/d/healthy', '--arena', a).out, 'fine\n');
});

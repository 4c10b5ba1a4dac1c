// Bad input to the read-only commands (ls, map, check) through the one arena
// opener: a clear one-line error naming the arena or a clear warning, never an
// internal invariant error, and not one byte written to the arena.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';
import { FORMAT_VERSION, FORMAT_VERSIONS } from '../../../dist/format/header.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = fs.mkdtempSync('/dev/shm/refactor-bad-input-');
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function pram(args, env = {}) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/pram.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '', ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function arena(name) {
  const file = path.join(tmp, name);
  const pfs = await mount({ arena: file, create: { sizeBytes: 64 << 20, overwrite: true }, cmdline: '', warn: () => {} });
  await pfs.writeFile('/hello', 'hello');
  await pfs.unmount();
  return file;
}

test('PRAM_CMDLINE pram_banned=1G-2G on a 64 MiB arena: ls, map and check go on (the range names nothing there), nothing written', async () => {
  const file = await arena('banned.pram');
  const before = fs.readFileSync(file);
  const env = { PRAM_CMDLINE: 'pram_banned=1G-2G' };
  const ls = pram(['ls', '--arena', file], env);
  assert.deepEqual([ls.code, ls.stdout, ls.stderr], [0, 'hello\n', '']);
  const map = pram(['map', '--arena', file, '--out', path.join(tmp, 'm.svg')], env);
  assert.equal(map.code, 0, map.stderr);
  const check = pram(['check', '--arena', file], env);
  assert.equal(check.code, 0, check.stderr);
  assert.ok(fs.readFileSync(file).equals(before), 'the arena is unchanged');
});

test('a header of another format version: a version error naming the arena (exit 1), nothing written', async () => {
  const file = await arena('version.pram');
  const fd = fs.openSync(file, 'r+');
  const b = Buffer.alloc(8);
  const future = FORMAT_VERSION + 1;
  b.writeUInt32LE(future, 0);  // a format version past this pram's
  b.writeUInt32LE(3000, 4);    // and a page size no mapping can take (was applied before the version was read)
  fs.writeSync(fd, b, 0, 8, 4);
  fs.closeSync(fd);
  const before = fs.readFileSync(file);
  for (const args of [['ls'], ['map', '--out', path.join(tmp, 'v.svg')], ['check']]) {
    const r = pram([...args, '--arena', file]);
    assert.equal(r.code, 1, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stderr.split('\n').length, 2, `${args[0]}: one line: ${r.stderr}`);
    assert.ok(r.stderr.includes(`format version ${future}, this pram reads versions ${FORMAT_VERSIONS.slice(0, -1).join(', ')} and ${FORMAT_VERSION}`), `${args[0]}: ${r.stderr}`);
    assert.ok(r.stderr.includes(file), `${args[0]} names the arena: ${r.stderr}`);
  }
  assert.ok(fs.readFileSync(file).equals(before), 'the arena is unchanged');
});

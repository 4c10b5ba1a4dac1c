// Damaged arena header slots through the library and `pram check` (issue 7):
// a damaged newest slot mounts the older checkpoint and is reported (exit 3,
// JSON loss naming the slot); a damaged only slot refuses the mount with EIO
// (exit 1, the message names the slot, its crc values and `pram format
// --force`), and the arena file is left untouched.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';

const bin = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/pram.js');
const dir = fs.mkdtempSync('/dev/shm/pram-rel-slots-');
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const pram = (...args) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '' } });
const SLOT = [64, 128];
const flip = (file, at) => { const b = fs.readFileSync(file); b[at] ^= 0x20; fs.writeFileSync(file, b); };
/** The slot holding the newest generation (0 = A, 1 = B). */
const newest = (file) => { const b = fs.readFileSync(file); return b.readBigUInt64LE(64) >= b.readBigUInt64LE(128) ? 0 : 1; };

test('a damaged newest slot: the older checkpoint is mounted and the damage reported; pram check exits 3', async () => {
  const arena = path.join(dir, 'two.arena');
  let pfs = await mount({ arena, create: { sizeBytes: 1 << 20, overwrite: true }, cmdline: '' });
  await pfs.writeFile('/f', 'old');
  await pfs.sync();
  await pfs.writeFile('/f', 'new!');
  await pfs.unmount();
  const w = newest(arena);
  flip(arena, SLOT[w] + 16);
  pfs = await mount({ arena, cmdline: '' });
  try {
    assert.equal((await pfs.readFile('/f')).toString(), 'old');
    const slotLosses = pfs.losses.filter((l) => /^arena header slot/.test(l.what));
    assert.equal(slotLosses.length, 1);
    assert.match(slotLosses[0].what, new RegExp(`^arena header slot ${'AB'[w]} is damaged \\(crc saved 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\\); ` +
      `mounted the checkpoint of slot ${'AB'[1 - w]}, generation \\d+; anything newer may be lost$`));
  } finally { await pfs.unmount({ save: false }); }
  const r = pram('check', '--json', '--arena', arena);
  assert.equal(r.status, 3, r.stderr);
  const j = JSON.parse(r.stdout);
  assert.equal(j.ok, false);
  assert.ok(j.losses.some((l) => /^arena header slot [AB] is damaged/.test(l.what)), r.stdout);
});

test('a damaged only slot: the mount is refused with EIO, pram check exits 1 and says how out', async () => {
  const arena = path.join(dir, 'one.arena');
  const pfs = await mount({ arena, create: { sizeBytes: 1 << 20, overwrite: true }, cmdline: '' });
  await pfs.writeFile('/f', 'data');
  await pfs.unmount();
  const b = fs.readFileSync(arena);
  assert.ok(b.subarray(128, 192).every((x) => x === 0), 'slot B was never written');
  flip(arena, 64 + 8);
  const before = fs.readFileSync(arena);
  await assert.rejects(mount({ arena, cmdline: '' }), (e) => e.code === 'EIO' &&
    /arena header slot A is damaged \(crc saved 0x[0-9a-f]{8}, computed 0x[0-9a-f]{8}\) and no slot holds a valid checkpoint/.test(e.message));
  const r = pram('check', '--arena', arena);
  assert.equal(r.status, 1);
  assert.match(r.stderr + r.stdout, /arena header slot A is damaged.*pram format --force/);
  assert.ok(fs.readFileSync(arena).equals(before), 'the refused arena is untouched');
  // The way out: format --force gives an empty, mountable arena.
  assert.equal(pram('format', '--force', '--arena', arena, '--size', '1M').status, 0);
  const fresh = await mount({ arena, cmdline: '' });
  assert.deepEqual(await fresh.readdir('/'), []);
  await fresh.unmount();
});

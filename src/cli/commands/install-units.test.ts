import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installUnits, shippedUnits } from './install-units.js';

const PRAM = fileURLToPath(new URL('../../../bin/pram.js', import.meta.url));

test('install-units writes every shipped unit with this installation\'s paths, and keeps existing files', () => {
  const dir = fs.mkdtempSync(join(os.tmpdir(), 'systemd-units-'));
  const r = spawnSync(process.execPath, [PRAM, 'install-units', '--dir', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(fs.readdirSync(dir).sort(), shippedUnits());
  assert.deepEqual(shippedUnits(), ['pram-example.service', 'pram-mount@.service']);
  const mountUnit = fs.readFileSync(join(dir, 'pram-mount@.service'), 'utf8');
  assert.ok(!mountUnit.includes('@NODE@') && !mountUnit.includes('@PRAM'), 'placeholders left');
  assert.match(mountUnit, new RegExp(`^ExecStart=${process.execPath} \\S+/bin/pram\\.js mount \\$\\{PRAM_DIR\\} --arena memfd:%i --size \\$\\{PRAM_SIZE\\} --foreground$`, 'm'));
  assert.match(mountUnit, /^Type=notify$/m);
  assert.match(mountUnit, /^FileDescriptorStorePreserve=yes$/m);
  const again = spawnSync(process.execPath, [PRAM, 'install-units', '--dir', dir], { encoding: 'utf8' });
  assert.equal(again.status, 1);
  assert.match(again.stderr, /pram-example\.service exists; give --force to replace it/);
  assert.equal(installUnits(dir, { force: true }).length, 2);
  const bad = spawnSync(process.execPath, [PRAM, 'install-units', '--dir', join(dir, 'nope')], { encoding: 'utf8' });
  assert.equal(bad.status, 1);
  assert.match(bad.stderr, /nope is not a directory/);
});

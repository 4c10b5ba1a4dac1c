// pram sim --map DIR: one SVG per boot, drawn at that boot's unmount. Each one
// accounts for every page of the machine exactly once (checked by an XML parser,
// see test/e2e/cli/svgcheck.mjs) and outlines the scenario's real kexec range.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { readMap, accountedPages } from '../cli/svgcheck.mjs';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-sim-map-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const MiB = 1 << 20, PAGE = 4096;

test('pram sim --map DIR, 2 cycles: boot-1..3.svg, each accounting for every page once, with the kexec range drawn', () => {
  const dir = path.join(tmp, 'maps');
  const ram = 256 * MiB, memMin = 32 * MiB, memMax = 160 * MiB;
  const r = spawnSync(process.execPath, ['bin/pram.js', 'sim', '--seed', '4', '--ram', '256M', '--files', '2', '--big-file', '8M',
    '--cycles', '2', '--mem-min', '32M', '--mem-max', '160M', '--map', dir, '--json'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr + r.stdout.slice(-2000));
  const report = JSON.parse(r.stdout);
  assert.equal(report.ok, true);
  assert.ok(report.console.includes('[1] Command line: console=ttyS0 root=/dev/vda ro pram_banned=32M-160M'));
  assert.deepEqual(fs.readdirSync(dir).sort(), ['boot-1.svg', 'boot-2.svg', 'boot-3.svg']);
  assert.deepEqual(report.maps, [1, 2, 3].map((n) => path.join(dir, `boot-${n}.svg`)));
  for (let boot = 1; boot <= 3; boot++) {
    const map = readMap(fs.readFileSync(path.join(dir, `boot-${boot}.svg`), 'utf8'));
    assert.deepEqual(accountedPages(map), { cellPages: ram / PAGE, classPages: ram / PAGE }, `boot ${boot}`);
    const range = map.summary.marks.find((m) => m.what === 'kexec target range');
    assert.deepEqual([range.start, range.pages], [memMin / PAGE, (memMax - memMin) / PAGE], `boot ${boot}: the real --mem-min/--mem-max`);
    const names = map.summary.classes.map((c) => c.name);
    // The last boot removed every file before its unmount: no chain left to draw.
    for (const n of ['reserved: kernel image', 'reserved: initrd', 'kernel', ...(boot < 3 ? ['link pages'] : [])]) {
      assert.ok(names.some((x) => x === n || x.startsWith(n)), `boot ${boot}: ${n} drawn (have ${names.join(', ')})`);
    }
    if (boot < 3) assert.ok(names.includes(`/pages-${boot}.img`), `boot ${boot}: the dump file saved at this unmount`);
    if (boot > 1) assert.ok(map.marks.includes('written by the last kexec'), `boot ${boot}`);
  }
});

test('pram sim: a kexec range that does not fit the machine is a usage error (exit 2)', () => {
  const r = spawnSync(process.execPath, ['bin/pram.js', 'sim', '--seed', '1', '--ram', '64M', '--mem-max', '128M'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--mem-max \(128M\) is beyond the RAM \(64M\)/);
});

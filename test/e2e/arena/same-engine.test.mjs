// One engine, two memories: an image saved by fs/'s Volume on the simulated
// machine's RAM (SimRam) is, byte for byte, an arena that the library API
// mounts in another process — and back. No fork of boot/, pram/ or fs/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import { SimRam } from '../../../dist/mem/simram.js';
import { ArenaHeaderHandoff } from '../../../dist/pram/handoff.js';
import { Volume } from '../../../dist/fs/volume.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(fs.existsSync('/dev/shm') ? '/dev/shm' : os.tmpdir(), 'pram-same-'));
process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
const PAGES = 4096, PS = 4096;

function ramToFile(ram, file) {
  const fd = fs.openSync(file, 'w', 0o600);
  for (let pfn = 0; pfn < ram.pageCount; pfn++) fs.writeSync(fd, ram.page(pfn));
  fs.closeSync(fd);
}

function fileToRam(file) {
  const ram = new SimRam({ pageSize: PS, pageCount: PAGES });
  const bytes = fs.readFileSync(file);
  for (let pfn = 0; pfn < PAGES; pfn++) bytes.copy(ram.page(pfn), 0, pfn * PS, (pfn + 1) * PS);
  return ram;
}

test('an image saved on simulated RAM mounts as an arena in a new process, and back', () => {
  const ram = new SimRam({ pageSize: PS, pageCount: PAGES });
  let vol = Volume.mount({ mem: ram, handoff: ArenaHeaderHandoff.format(ram), keepMemOpen: true });
  const d = vol.mkdir(1, 'from-sim', 0o755, 0, 0).ino;
  const f = vol.mknod(d, 'data', 0o100644, 0, 0, 0).ino;
  const content = Buffer.alloc(5 * PS + 3, 0xab);
  assert.equal(vol.write(f, 0, content), content.length);
  vol.symlink(1, 'link', 'from-sim/data', 0, 0);
  assert.equal(vol.unmount(), 0);

  const file = path.join(dir, 'sim.arena');
  ramToFile(ram, file);
  const dump = JSON.parse(execFileSync(process.execPath, [path.join(here, 'child.mjs'), 'dump', file], { encoding: 'utf8' }).trim().split('\n').pop());
  assert.equal(dump['/from-sim/data'].size, String(content.length));
  assert.equal(dump['/link'].target, 'from-sim/data');
  assert.equal(dump['/from-sim/data'].sha256, createHash('sha256').update(content).digest('hex'));

  // The arena process's checkpoint, loaded back on simulated RAM.
  const ram2 = fileToRam(file);
  const handoff = ArenaHeaderHandoff.attach(ram2);
  assert.ok(handoff instanceof ArenaHeaderHandoff, 'the arena header checks out on SimRam');
  vol = Volume.mount({ mem: ram2, handoff, keepMemOpen: true });
  const back = vol.resolve('/link');
  assert.ok(back > 0);
  assert.deepEqual(vol.read(back, 0, content.length + 10), content);
  vol.unmount();
});


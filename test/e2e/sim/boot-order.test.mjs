// The RFC's order at early boot: pram's chain is reserved before the page
// allocator takes over memory, so the running kernel's own allocations (which
// land anywhere free) can never touch a saved page. Shown both ways: with the
// reservation, every saved page verifies over many cycles; without it (no
// pram=), the same kind of allocations do land on the old image.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, mountOnMachine } from '../../../dist/cli/scenario.js';
import { Machine } from '../../../dist/machine/machine.js';
import { Owner } from '../../../dist/boot/frames.js';
import { SMALL, SMALL_MACHINE, MiB } from './small.mjs';

// Heavy runtime allocations: about a quarter of the small machine's free pages each boot.
const HEAVY = { ...SMALL_MACHINE, runtimeAllocsMin: 200, runtimeAllocsMax: 400, runtimeAllocPagesMax: 32 };

function savedPages(m) {
  const { owner } = m.kernel.frames;
  const out = new Set();
  for (let p = 0; p < owner.length; p++) if (owner[p] === Owner.Link || owner[p] === Owner.Meta || owner[p] === Owner.Data) out.add(p);
  return out;
}

test('30 kexec cycles with heavy kernel allocations after boot: none touches a reserved page, every file verifies', () => {
  let previous = null, kernelPages = 0, onSaved = 0, boots = 0;
  const r = runScenario({
    ...SMALL, machine: HEAVY, seed: 31, files: 3, cycles: 30,
    onUnmount: (m) => {
      boots++;
      if (previous) assert.equal(m.kernel.reserved.pages, previous.size, 'this boot reserved exactly the pages saved before kexec');
      for (const a of m.kernel.kernelAllocs) {
        kernelPages += a.pages;
        for (let p = a.start; p < a.start + a.pages; p++) {
          if (previous?.has(p)) onSaved++;
          assert.equal(m.kernel.frames.owner[p], Owner.Kernel, `pfn ${p} stays the kernel's`);
        }
      }
      previous = savedPages(m);
    },
  });
  assert.equal(r.error, undefined);
  assert.equal(boots, 31);
  assert.equal(onSaved, 0, 'no kernel allocation on a page saved by the previous boot');
  assert.ok(kernelPages > 31 * 1000, `the kernel allocated ${kernelPages} pages over 31 boots`);
  for (const c of r.cycles) {
    assert.equal(c.reservation, 'ok', `cycle ${c.cycle}`);
    assert.deepEqual(c.files.map((f) => f.ok), [true, true, true], `cycle ${c.cycle}`);
    assert.deepEqual(c.losses, [], `cycle ${c.cycle}: every saved page verified`);
  }
  assert.equal(r.ok, true);
});

test('without pram= (nothing reserved) the same kind of kernel allocations land on the old image: what reserving first prevents', () => {
  const m = new Machine({ ...HEAVY, ramBytes: 64 * MiB, seed: 12, cmdline: 'ro pram_banned=0-16M' });
  const vol = mountOnMachine(m);
  assert.equal(typeof vol, 'object', String(vol));
  const attr = vol.mknod(1, 'dump.img', 0o100600, 0, 0, 0);
  assert.equal(vol.write(attr.ino, 0, Buffer.alloc(4 * MiB, 0x5a)), 4 * MiB);
  assert.equal(vol.unmount(), 0);
  const saved = savedPages(m);
  // The same kexec, but the command line does not name the image.
  assert.equal(m.kexecLoad({ cmdline: 'ro pram_banned=0-16M', memMinBytes: 0, memMaxBytes: 16 * MiB }), 0);
  assert.equal(m.kexecExec(), 0);
  let hit = 0;
  for (const a of m.kernel.kernelAllocs) for (let p = a.start; p < a.start + a.pages; p++) if (saved.has(p)) hit++;
  assert.ok(hit > 0, 'some kernel allocation overwrote a page of the unreserved image');
});

// Seeded random operations on files against a plain-Buffer model: writes at
// any offset, truncates, fallocate (all modes), punched holes, remounts in
// between. Every read must match the model byte for byte, and SEEK_HOLE must
// never point into data. A failure names its seed and step.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Prng } from '../machine/prng.js';
import { FALLOC_FL_KEEP_SIZE, FALLOC_FL_PUNCH_HOLE, S_IFREG, SEEK_HOLE } from './mode.js';
import { ino, ok, remount, simVolume } from './testkit.js';

const PS = 1024;
const MAX = 40 * PS;

function grow(model: Buffer, size: number): Buffer {
  if (size <= model.length) return model.subarray(0, size);
  return Buffer.concat([model, Buffer.alloc(size - model.length)]);
}

for (const seed of [1, 2, 3, 4, 5]) {
  test(`random file operations match the model (seed ${seed})`, () => {
    const prng = new Prng(seed);
    let s = simVolume({ pageSize: PS, pageCount: 600 });
    const names = ['a', 'b', 'c'];
    const models = new Map<string, Buffer>(names.map((n) => [n, Buffer.alloc(0)]));
    for (const n of names) ino(s.vol.mknod(1, n, S_IFREG | 0o644, 0, 0, 0));
    for (let step = 0; step < 400; step++) {
      const name = names[prng.below(names.length)]!;
      const f = s.vol.resolve(`/${name}`);
      let m = models.get(name)!;
      const op = prng.below(10);
      const off = prng.below(MAX);
      const len = 1 + prng.below(3 * PS);
      const where = `seed ${seed} step ${step} op ${op} ${name} off ${off} len ${len}`;
      if (op < 4) {
        const data = prng.bytes(len);
        assert.equal(s.vol.write(f, off, data), len, where);
        m = grow(m, Math.max(m.length, off + len));
        data.copy(m, off);
      } else if (op === 4) {
        const size = prng.below(MAX);
        ok(s.vol.setattr(f, { size }));
        m = grow(m, size);
      } else if (op === 5) {
        const mode = prng.below(2) ? FALLOC_FL_KEEP_SIZE : 0;
        assert.equal(s.vol.fallocate(f, mode, off, len), 0, where);
        if (mode === 0) m = grow(m, Math.max(m.length, off + len));
      } else if (op === 6) {
        assert.equal(s.vol.fallocate(f, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, off, len), 0, where);
        if (off < m.length) m.fill(0, off, Math.min(m.length, off + len));
      } else if (op === 7 && prng.below(4) === 0) {
        s = remount(s);
      } else if (m.length > 0) {
        const at = prng.below(m.length);
        const h = s.vol.seek(f, at, SEEK_HOLE);
        assert.ok(h >= at && h <= m.length, where);
        // A hole reads as zeros (the model agrees: it never held data there).
        const n = Math.min(PS - (h % PS), m.length - h); // holes are whole pages: to the end of this one
        assert.ok(ok(s.vol.read(f, h, n)).equals(Buffer.alloc(n)) && m.subarray(h, h + n).equals(Buffer.alloc(n)), where);
      }
      models.set(name, m);
      const back = ok(s.vol.read(s.vol.resolve(`/${name}`), 0, MAX * 2));
      assert.equal(back.length, m.length, where);
      assert.ok(back.equals(m), where);
    }
  });
}

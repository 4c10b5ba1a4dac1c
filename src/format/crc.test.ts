// The addon's batch crc32c (three interleaved streams joined by shift tables)
// against @node-rs/crc32's: every length class around its block sizes (256 and
// 8192 bytes, three of each), any alignment, one thread or two, from buffers
// or from a file by pread. Every sum the CPU has: where it folds (AVX-512
// VPCLMULQDQ), folding beside crc32 streams (buffers of 16 KiB and more, in
// blocks of up to 256 KiB), then in child runs folding alone
// (PRAM_CRC_NO_MIX=1) and the crc32 instruction (PRAM_CRC_NO_FOLD=1).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { crc32c, crc32cFile, crc32cImpl, crc32cMany, crc32cReadCheck, crc32cReadInto } from './crc.js';

const SEED = Number(process.env.SEED ?? 0x5eed13);

/** xorshift32: the same bytes for a seed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
}

function lengths(next: () => number): number[] {
  // 376: a step of the folding-beside-streams loop; 697 steps: its longest block.
  const mix = [16383, 16384, 16385, 376 * 44, 376 * 44 + 375, 376 * 697, 376 * 697 + 1, 376 * 698 + 7, 262143, 262144, 262145, (1 << 20) + 13, 3 * (1 << 20) + 4095];
  const edges = [0, 1, 7, 8, 9, 255, 256, 511, 512, 513, 575, 576, 577, 767, 768, 769, 1023, 1024, 1088, 4096, 4097, 4159, 24575, 24576, 24577, 32768, 131072, 131072 + 4096 + 5, ...mix];
  const out = [...edges];
  for (let i = 0; i < 120; i++) out.push(next() % (3 * 8192 * 2 + 1000));
  return out;
}

test('crc32cMany equals crc32c per buffer: random bytes, lengths around the block sizes, unaligned views, 1 and 2 threads', () => {
  const next = rng(SEED);
  const pool = Buffer.alloc(4 << 20);
  for (let i = 0; i < pool.length; i++) pool[i] = next() & 0xff;
  const views = lengths(next).map((len) => { const at = next() % (pool.length - len); return pool.subarray(at, at + len); });
  const want = views.map((v) => crc32c(v));
  for (const threads of [1, 2]) {
    const got = crc32cMany(views, { threads });
    views.forEach((v, i) => assert.equal(got[i], want[i], `SEED=${SEED} threads ${threads} length ${v.length} at ${v.byteOffset}`));
  }
});

test('crc32cFile equals crc32c of the same file bytes, neighbouring ranges read together', () => {
  const next = rng(SEED ^ 0xabcdef);
  const file = path.join(os.tmpdir(), `crcread-crc-${process.pid}.bin`);
  const bytes = Buffer.alloc(2 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    const lens = lengths(next).filter((l) => l > 0 && l < bytes.length);
    const offsets = new Float64Array(lens.length), lengthsArr = new Uint32Array(lens);
    let at = 0;
    lens.forEach((l, i) => {
      if (next() % 3 === 0 || at + l > bytes.length) at = next() % (bytes.length - l);   // a jump, or the next neighbour
      offsets[i] = at; at += l;
    });
    for (const threads of [1, 2]) {
      const got = crc32cFile(fd, offsets, lengthsArr, { threads });
      lens.forEach((l, i) => assert.equal(got[i], crc32c(bytes.subarray(offsets[i]!, offsets[i]! + l)), `SEED=${SEED} threads ${threads} range ${offsets[i]}+${l}`));
    }
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
});

test('crc32cReadInto copies the bytes and sums every range as crc32c of the copy, in any order, errors thrown', () => {
  const next = rng(SEED ^ 0x1234567);
  const file = path.join(os.tmpdir(), `crcread-readinto-${process.pid}.bin`);
  const bytes = Buffer.alloc(3 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    for (let round = 0; round < 40; round++) {
      const len = round === 0 ? 0 : 1 + (next() % (2 << 20)), pos = next() % (bytes.length - len), at = next() % 5000;
      const target = Buffer.alloc(at + len + 7, 0xa5);
      const n = round % 5 === 1 ? 1 : next() % 300;
      const offsets = new Uint32Array(n), lens = new Uint32Array(n), out = new Uint32Array(n);
      for (let i = 0; i < n && len > 0; i++) {
        const l = next() % 4 === 0 ? 4096 : next() % Math.min(len, 70_000);
        lens[i] = Math.min(l, len); offsets[i] = next() % (len - lens[i]! + 1);
      }
      crc32cReadInto(fd, pos, target, at, len, offsets, lens, len > 0 ? n : 0, out);
      assert.ok(target.subarray(at, at + len).equals(bytes.subarray(pos, pos + len)), `SEED=${SEED} round ${round}: the bytes copied`);
      assert.ok(target.subarray(0, at).every((b) => b === 0xa5) && target.subarray(at + len).every((b) => b === 0xa5), `SEED=${SEED} round ${round}: nothing else written`);
      for (let i = 0; i < (len > 0 ? n : 0); i++) {
        assert.equal(out[i], crc32c(bytes.subarray(pos + offsets[i]!, pos + offsets[i]! + lens[i]!)), `SEED=${SEED} round ${round} range ${offsets[i]}+${lens[i]}`);
      }
    }
    const t = Buffer.alloc(8192), o = new Uint32Array([0, 4096]), l = new Uint32Array([4096, 4096]), out = new Uint32Array(2);
    assert.throws(() => crc32cReadInto(fd, bytes.length - 4096, t, 0, 8192, o, l, 2, out), { code: 'EIO' }, 'the file ends first');
    assert.throws(() => crc32cReadInto(fd, 0, t, 1, 8192, o, l, 2, out), RangeError, 'past the target');
    assert.throws(() => crc32cReadInto(fd, 0, t, 0, 4096, o, l, 2, out), RangeError, 'a range past the bytes read');
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
});

test('crc32cReadCheck copies as crc32cReadInto and finds the first range whose sum differs, neighbours joined or not', () => {
  const next = rng(SEED ^ 0x7654321);
  const file = path.join(os.tmpdir(), `crcread-check-${process.pid}.bin`);
  const bytes = Buffer.alloc(3 << 20);
  for (let i = 0; i < bytes.length; i++) bytes[i] = next() & 0xff;
  fs.writeFileSync(file, bytes);
  const fd = fs.openSync(file, 'r');
  try {
    for (let round = 0; round < 60; round++) {
      // A read's ranges: pages of 4 KiB and runs of up to 32 pages, mostly one after another, some gaps, some short.
      const len = 4096 + (next() % (2 << 20)), pos = next() % (bytes.length - len), at = next() % 5000;
      const offsets: number[] = [], lens: number[] = [];
      for (let o = next() % 3 === 0 ? next() % 4096 : 0; o < len;) {
        const l = Math.min(len - o, next() % 4 === 0 ? 4096 * (1 + (next() % 32)) : next() % 5 === 0 ? 1 + (next() % 9) : 4096);
        offsets.push(o); lens.push(l);
        o += l + (next() % 6 === 0 ? next() % 9000 : 0);
      }
      const n = offsets.length, o = new Uint32Array(offsets), l = new Uint32Array(lens), out = new Uint32Array(n);
      const sums = offsets.map((x, i) => crc32c(bytes.subarray(pos + x, pos + x + lens[i]!)));
      const bad = round % 3 === 0 ? -1 : next() % n;    // the range whose expected sum is wrong (-1: none)
      const expected = new Uint32Array(sums.map((c, i) => i === bad ? (c ^ (1 << (next() % 32))) >>> 0 : c));
      const target = Buffer.alloc(at + len, 0xa5);
      const g = crc32cReadCheck(fd, pos, target, at, len, o, l, n, expected, out);
      const want = bad < 0 ? n : bad;
      assert.equal(g, want, `SEED=${SEED} round ${round}: ranges good from the first`);
      for (let i = 0; i < g; i++) assert.equal(out[i], sums[i], `SEED=${SEED} round ${round} range ${i}`);
      if (g < n) assert.equal(out[g], sums[g], `SEED=${SEED} round ${round}: the differing range's own sum`);
      const copied = bad < 0 ? len : Math.min(len, offsets[bad]! + lens[bad]!);
      assert.ok(target.subarray(at, at + copied).equals(bytes.subarray(pos, pos + copied)), `SEED=${SEED} round ${round}: the bytes copied`);
    }
    const t = Buffer.alloc(8192), e = new Uint32Array(2), out = new Uint32Array(2);
    assert.throws(() => crc32cReadCheck(fd, 0, t, 0, 8192, new Uint32Array([4096, 0]), new Uint32Array([4096, 4096]), 2, e, out), RangeError, 'out of order');
    assert.throws(() => crc32cReadCheck(fd, 0, t, 0, 8192, new Uint32Array([0, 100]), new Uint32Array([4096, 4096]), 2, e, out), RangeError, 'overlapping');
    assert.throws(() => crc32cReadCheck(fd, bytes.length - 4096, t, 0, 8192, new Uint32Array([0]), new Uint32Array([4096]), 1, e, out), { code: 'EIO' }, 'the file ends first');
  } finally {
    fs.closeSync(fd);
    fs.rmSync(file, { force: true });
  }
});

test('the CPU\'s fastest sum is the one used: folding beside crc32 streams where it has AVX-512 VPCLMULQDQ, else the crc32 instruction', () => {
  const flags = fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1]?.split(/\s+/) ?? [];
  const fold = ['avx512f', 'vpclmulqdq', 'pclmulqdq', 'sse4_2'].every((f) => flags.includes(f)) && !process.env.PRAM_CRC_NO_FOLD;
  const want = fold ? (process.env.PRAM_CRC_NO_MIX ? 'fold' : 'fold+crc32') : flags.includes('sse4_2') ? 'crc32' : 'table';
  assert.equal(crc32cImpl(), want);
});

/** Every test above in a child with `name`=1 in its environment: all pass there. */
function childPasses(name: string): void {
  const env: NodeJS.ProcessEnv = { ...process.env, [name]: '1' };
  delete env.NODE_TEST_CONTEXT;   // else the child reports to this runner, not to its stdout
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', fileURLToPath(import.meta.url)], { env, encoding: 'utf8' });
  assert.equal(r.status, 0, `SEED=${SEED}\n${r.stdout}\n${r.stderr}`);
  // Every test but these ones ran there, and passed.
  assert.match(r.stdout, /# pass (\d+)\n/);
  assert.ok(Number(/# pass (\d+)\n/.exec(r.stdout)![1]) >= 4, r.stdout);
  assert.match(r.stdout, /# fail 0\n/);
}

// (Registered only in the parent run: the children are those runs.)
const child = process.env.PRAM_CRC_NO_FOLD || process.env.PRAM_CRC_NO_MIX;
if (!child) test('every test above also passes with folding alone (PRAM_CRC_NO_MIX=1)', () => childPasses('PRAM_CRC_NO_MIX'));
if (!child) test('every test above also passes with folding off (PRAM_CRC_NO_FOLD=1: the crc32 instruction streams)', () => childPasses('PRAM_CRC_NO_FOLD'));

// The FUSE data path under concurrency: large READ replies are pinned views of
// the arena written by a pool thread while the main thread serves further
// requests (src/fuse/loop.ts). Writers, truncaters and O_DIRECT readers race
// on two files through a real mount; every page a reader gets must be a whole
// state of its own file, never bytes of a page freed meanwhile and reused by
// the other file, and never an older generation than one it saw before; on
// the file nobody truncates, each 1 MiB reply must be one state (data-racer.mjs
// holds the model; sending replies from unpinned views fails it at once). Also: the mount's bdi gets the dirty bound
// and the readahead window the server sets. Runs as root.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, pram, tearDown } from './helpers.mjs';

const T = { timeout: 120_000 };
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'data-fuse-'));
const mnt = path.join(tmp, 'mnt');
const arena = `/dev/shm/data-e2e-${process.pid}.pram`;
const env = { PRAM_RUN_DIR: path.join(tmp, 'run'), PRAM_CMDLINE: '' };
const RACER = path.join(ROOT, 'test/e2e/fuse/data-racer.mjs');
const SIZE = 128 << 20;

function racer(mode, file, seconds, seed, tag, blocks = 4) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [RACER, mode, path.join(mnt, file), String(seconds), String(seed), String(tag), String(blocks)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '';
    p.stdout.on('data', (d) => { out += d; });
    p.stderr.on('data', (d) => { err += d; });
    p.on('close', (code) => resolve({ mode, file, seed, code, err, result: code === 0 ? JSON.parse(out.trim().split('\n').pop()) : null }));
  });
}

/** /sys/class/bdi/<dev>-fuseblk (or <dev> for a fuse mount) of the mount at dir. */
function bdiOf(dir) {
  const line = fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === dir);
  const dev = line.split(' ')[2];
  const type = line.split(' - ')[1].split(' ')[0];
  return `/sys/class/bdi/${dev}${type.startsWith('fuseblk') ? '-fuseblk' : ''}`;
}

describe('FUSE data path', () => {
  before(() => {
    fs.mkdirSync(mnt);
    const r = pram(['mount', mnt, '--arena', arena, '--size', String(SIZE)], { env, timeoutMs: 60_000 });
    assert.equal(r.code, 0, r.err + r.out);
  });

  after(() => tearDown({ mnt, arena, tmp, env }));

  test("the mount's own bdi carries the dirty bound (half the headroom) and a 4 MiB readahead", T, () => {
    const bdi = bdiOf(mnt);
    const st = fs.statfsSync(mnt);
    const headroom = Math.min(64 << 20, Math.max(1 << 20, Math.floor((st.blocks * st.bsize) / 16)));
    const maxBytes = Number(fs.readFileSync(`${bdi}/max_bytes`, 'utf8'));
    // The kernel keeps the bound as a ratio of its dirty limit: what it reads back is rounded.
    assert.ok(Math.abs(maxBytes - headroom / 2) <= headroom / 20, `${bdi}/max_bytes ${maxBytes}, want ~${headroom / 2}`);
    assert.equal(fs.readFileSync(`${bdi}/strict_limit`, 'utf8').trim(), '1');
    assert.equal(Number(fs.readFileSync(`${bdi}/read_ahead_kb`, 'utf8')), 4096);
  });

  test('racing writers, truncaters and direct readers on two files see only whole, own, ordered pages', T, async () => {
    const seed = Number(process.env.PRAM_TEST_SEED ?? Date.now() % 1_000_000);
    // Lay both files out first, so the readers open existing files.
    const first = await Promise.all([racer('writer', 'f', 0, seed, 1), racer('writer', 'g', 0, seed + 1, 2, 1)]);
    for (const r of first) assert.equal(r.code, 0, r.err);
    const secs = 5;
    const runs = await Promise.all([
      racer('writer', 'f', secs, seed + 2, 1), racer('truncater', 'f', secs, seed + 3, 1),
      racer('reader', 'f', secs, seed + 4, 1),
      // g: one 1 MiB block, so every write lands on the block every reply shows. Replies sent from
      // unpinned views fail this in most runs of this length (4 of 5 when it was tried).
      racer('writer', 'g', secs, seed + 6, 2, 1), racer('block-reader', 'g', secs, seed + 7, 2, 1),
      racer('block-reader', 'g', secs, seed + 8, 2, 1), racer('block-reader', 'g', secs, seed + 9, 2, 1),
    ]);
    for (const r of runs) {
      assert.equal(r.code, 0, `${r.mode} on ${r.file} (seed ${r.seed}) failed: ${r.err}`);
      assert.equal(r.result.bad, null, `${r.mode} on ${r.file} saw a bad page (seed ${seed}, PRAM_TEST_SEED reruns it): ${r.result.bad}`);
      assert.ok(r.result.ops > 0, `${r.mode} on ${r.file} did nothing`);
    }
    const read = runs.filter((r) => r.mode.endsWith('reader')).reduce((n, r) => n + r.result.bytes, 0);
    assert.ok(read > 8 << 20, `readers read ${read} bytes: too few to have raced`);
  });
});

// A frozen copy of the built package for the length of one run. Others rebuild
// dist/ while they work; a run of several minutes must not load half of one
// build and half of the next. The copy lives in .cache/bench-snap/ (ignored by
// git) with build/ and node_modules/ linked, so native.js and bare imports
// resolve as in the real package. Children find it through PRAM_BENCH_ROOT.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

// Loads each entry point the bench uses that exists (a missing one is reported later as its rows' reason).
const CHECK = `
import { existsSync } from 'node:fs';
const root = process.env.PRAM_BENCH_ROOT;
for (const f of ['dist/api/index.js', 'dist/fs/volume.js', 'dist/api/arena.js', 'dist/cli/commands/index.js']) {
  if (existsSync(root + '/' + f)) await import(root + '/' + f);
}
`;

/** Copies dist/ and bin/ under ROOT/.cache/bench-snap and checks that they load; retries while a build is half-written. */
export async function snapshot(root, status, { triesMax = 12, waitMs = 5000 } = {}) {
  const snap = path.join(root, '.cache/bench-snap');
  for (let i = 1; i <= triesMax; i++) {
    fs.rmSync(snap, { recursive: true, force: true });
    fs.mkdirSync(snap, { recursive: true });
    fs.cpSync(path.join(root, 'dist'), path.join(snap, 'dist'), { recursive: true, filter: (p) => !p.endsWith('.map') && !p.endsWith('.d.ts') && !p.endsWith('.test.js') });
    fs.cpSync(path.join(root, 'bin'), path.join(snap, 'bin'), { recursive: true });
    fs.copyFileSync(path.join(root, 'package.json'), path.join(snap, 'package.json'));
    for (const d of ['build', 'node_modules']) if (fs.existsSync(path.join(root, d))) fs.symlinkSync(path.join(root, d), path.join(snap, d));
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', CHECK], { env: { ...process.env, PRAM_BENCH_ROOT: snap }, encoding: 'utf8' });
    if (r.status === 0) return { root: snap, ok: true };
    const why = (r.stderr || '').split('\n').find((l) => /Error/.test(l)) ?? `exit ${r.status}`;
    status(`snapshot of dist/ does not load yet (${why.trim()}); try ${i}/${triesMax}`);
    if (i < triesMax) await new Promise((res) => setTimeout(res, waitMs));
    else return { root: snap, ok: false, why: why.trim() };
  }
  return { root: snap, ok: false, why: 'no tries' };
}

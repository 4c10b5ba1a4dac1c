// Every figure a committed benchmark report shows comes from the JSON of the
// same run (issue 15): same run id in latest.md and latest.json, and every
// number in a table row of the markdown is a number of the JSON. Reads files
// only: fast, no measuring.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { unbackedFigures } from '../../../bench/lib/figures.js';

const RESULTS = fileURLToPath(new URL('../../../bench/results/', import.meta.url));
// The full run's results, the quick run's, and any flagged run's (blackout/, blackout/quick/).
const dirs = [RESULTS, ...fs.readdirSync(RESULTS, { recursive: true })
  .filter((f) => f.endsWith('latest.md') && f !== 'latest.md').map((f) => RESULTS + f.slice(0, -'latest.md'.length))];

for (const dir of dirs) {
  test(`${dir.slice(RESULTS.length - 'bench/results/'.length)}latest.md: every figure from latest.json of the same run`, () => {
    const md = fs.readFileSync(dir + 'latest.md', 'utf8');
    const json = JSON.parse(fs.readFileSync(dir + 'latest.json', 'utf8'));
    assert.deepEqual(unbackedFigures(md, json), []);
  });
}

test('the full run and the quick run both have results to check', () => {
  assert.ok(dirs.includes(RESULTS) && dirs.includes(RESULTS + 'quick/'), `results found: ${dirs.join(', ')}`);
});

test('the check catches a figure that is not in the JSON, and a run id that differs', () => {
  const md = fs.readFileSync(RESULTS + 'latest.md', 'utf8');
  const json = JSON.parse(fs.readFileSync(RESULTS + 'latest.json', 'utf8'));
  const row = md.split('\n').find((l) => l.startsWith('| ') && /\d\.\d\d/.test(l));
  assert.ok(row, 'latest.md has a table row with a figure');
  const forged = md.replace(row, row.replace(/\d\.\d\d/, '987.654'));
  assert.match(unbackedFigures(forged, json).join('\n'), /987\.654/);
  assert.match(unbackedFigures(md, { ...json, runId: 'another-run' }).join('\n'), /run id/);
});

// The check that a report says only what its run measured: every number in a
// table row of latest.md must be a number of latest.json (as the report
// formats it), and both files must carry the same run id. Used by
// test/e2e/bench/figures.test.mjs; no measuring here.
import { bsName, fmtNum, sizeName } from './stats.js';

const NUM = /\d+(?:\.\d+)?/g;

/** Every numeric token the JSON can produce when formatted as the report formats it. */
function tokens(json) {
  const out = new Set();
  const addText = (t) => { for (const m of String(t).match(NUM) ?? []) out.add(m); };
  const walk = (v) => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return;
      addText(String(v));
      for (let d = 0; d <= 3; d++) addText(fmtNum(v, d));
      if (Number.isInteger(v) && v > 0) { addText(sizeName(v)); addText(bsName(v)); }
    } else if (typeof v === 'string') addText(v);
    else if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(json);
  return out;
}

/** The run id line of a latest.md, or null. */
export function runIdOf(md) {
  return /^Run id: (\S+)/m.exec(md)?.[1] ?? null;
}

/** Problems found: [] when every table figure of `md` comes from `json` and the run ids agree. */
export function unbackedFigures(md, json) {
  const problems = [];
  const id = runIdOf(md);
  if (!json.runId) problems.push('latest.json has no runId');
  if (id !== json.runId) problems.push(`run id: latest.md says ${id}, latest.json says ${json.runId}`);
  const have = tokens(json);
  const lines = md.split('\n');
  const separator = (l) => /^\|[-|]+\|$/.test(l ?? '');
  let unchecked = false;   // a section marked <!-- unchecked --> (its own table from raw runs), up to the next heading
  for (const [i, line] of lines.entries()) {
    if (line.startsWith('## ')) unchecked = false;
    if (line === '<!-- unchecked -->') unchecked = true;
    if (unchecked || !line.startsWith('|') || separator(line) || separator(lines[i + 1])) continue;   // not a row, or a header
    for (const m of line.match(NUM) ?? []) if (!have.has(m)) problems.push(`${m} in "${line.trim().slice(0, 100)}" is in no figure of latest.json`);
  }
  return problems;
}

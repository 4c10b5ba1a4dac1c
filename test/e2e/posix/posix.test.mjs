// The conformance suite (test/e2e/posix): every case in cases.mjs runs on a
// tmpfs (the oracle) and on a pram mount, as root and as nobody (the mount is
// made with --allow-other), and pram's record must equal tmpfs's — or, where a
// case says pram differs, the difference it names. Runs as root. POSIX_SHOW=1
// prints tmpfs's records (what the cases saw).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { ACTORS, makeTargets } from './targets.mjs';
import { cases, context } from './cases.mjs';

let made;
const T = { timeout: 600_000 };

/** A fresh directory for one case, owned by its actor. */
function caseDir(target, actor, i) {
  const dir = `${target.dir}/${actor.name}-${i}`;
  fs.mkdirSync(dir, { mode: 0o755 });
  fs.chownSync(dir, actor.uid, actor.gid);
  return dir;
}

describe('POSIX conformance: pram against tmpfs', () => {
  before(() => { made = makeTargets('fuse-posix'); });
  after(() => made?.close());

  cases.forEach((c, i) => {
    for (const actor of ACTORS.filter((a) => !c.actors || c.actors.includes(a.name))) {
      test(`${c.name} (as ${actor.name})`, T, () => {
        const [oracle, mount] = made.targets.map((target) => c.run(context(caseDir(target, actor, i), actor)));
        if (process.env.POSIX_SHOW) process.stderr.write(`${c.name} (${actor.name}): ${JSON.stringify(oracle)}\n`);
        const want = c.differs ? c.differs.pram(structuredClone(oracle), actor) : oracle;
        assert.deepEqual(mount, want, c.differs ? `pram differs from tmpfs on purpose: ${c.differs.why}` : 'pram answers as tmpfs does');
      });
    }
  });
});

// Issue 19's in-process reads (lib/reads.js, self-contained: its own child
// processes and its own table) as a scenario of the run. Its table is computed
// in its markdown from the raw runs kept in latest.json, so the figures check
// is told to leave that section out (unchecked), and the report says so.
import { readsBench } from './reads.js';
import { scenario } from './registry.js';

scenario({
  name: 'reads', title: 'In-process reads (issue 19)', unchecked: true,
  run: ({ quick, reps, status }) => readsBench({ quick, reps, status }),
  report: (raw) => ({ figures: {}, markdown: raw.markdown.replace(/^## [^\n]*\n\n/, ''), targets: [] }),
});

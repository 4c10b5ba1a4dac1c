// The scenario registry. A scenario is one section of the report: what it
// measures (run, in the parent), what its children do (ops, each in a fresh
// `node bench/child.js OP` process) and how its figures read (report). A new
// file joins the benchmark with one line in lib/all.js:
//   import './reads.js';
// where reads.js calls scenario({...}) and, for its child processes, childOps({...}).
// Built-in sections 1-6 register here too; their tables live in lib/report.js.

/** @type {Array<{name: string, title: string, flag?: string, plan?: (quick: boolean) => object, run: Function, report?: Function}>} */
export const scenarios = [];
/** op name -> async function(args) returning the JSON the parent reads. */
export const ops = {};

/**
 * Adds a section. name: the key in latest.json and for --only; flag: a run.js
 * option (e.g. 'blackout') without which it does not run; plan(quick, flags): its sizes (flags: run.js's --big...);
 * run({ plan, reps, quick, status }) -> raw figures (JSON); report(raw, r) ->
 * { figures, markdown, targets: [{ what, goal, measured, status }], charts?: [{ file, svg }] }
 * (charts are written beside latest.md).
 */
export function scenario(def) {
  if (scenarios.some((s) => s.name === def.name)) throw new Error(`bench scenario ${def.name} registered twice`);
  scenarios.push(def);
}

/** Adds child-process operations: { opName: async (args) => result }. */
export function childOps(table) {
  for (const [k, f] of Object.entries(table)) {
    if (ops[k]) throw new Error(`bench child op ${k} registered twice`);
    ops[k] = f;
  }
}

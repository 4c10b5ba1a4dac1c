// Every scenario of the benchmark, in report order. A new one joins with one
// line here (its file calls scenario() and, for child processes, childOps()).
import './scenarios.js';
import './fio.js';
import './reads-scenario.js';
import './change.js';
import './blackout.js';

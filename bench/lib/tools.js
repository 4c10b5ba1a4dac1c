// The real tools the bench drives: fio (file-system throughput), hyperfine
// (whole-process timings), a C compiler for the metadata harness and libfuse3's
// headers for the FUSE floor (lib/floorfs.c). Missing
// ones are installed with apt-get as scripts/test.sh does, or the run stops
// naming them: a figure from a tool that is not there is never made up.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ROOT } from './sys.js';

const PACKAGES = { fio: 'fio', hyperfine: 'hyperfine', cc: 'gcc', libfuse3: 'libfuse3-dev' };
/** Tools that are files, not commands. */
const FILES = { libfuse3: '/usr/include/fuse3/fuse_lowlevel.h' };

const have = (cmd) => (FILES[cmd] ? fs.existsSync(FILES[cmd]) : spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0);

/** Installs the Debian packages of the missing `cmds`; throws naming them when that is not possible. */
export function ensureTools(cmds, status) {
  const missing = cmds.filter((c) => !have(c));
  if (!missing.length) return;
  const debs = missing.map((c) => PACKAGES[c] ?? c);
  if (process.getuid?.() !== 0) throw new Error(`bench needs ${missing.join(', ')} (Debian: ${debs.join(' ')}); run as root to install them or apt-get install them`);
  status(`installing ${debs.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  let r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...debs], { env, encoding: 'utf8' });
  if (r.status !== 0) {
    spawnSync('apt-get', ['update', '-qq'], { env, stdio: 'ignore' });
    r = spawnSync('apt-get', ['install', '-y', '-qq', '--no-install-recommends', ...debs], { env, encoding: 'utf8' });
  }
  const still = cmds.filter((c) => !have(c));
  if (still.length) throw new Error(`bench needs ${still.join(', ')}: apt-get install ${debs.join(' ')} failed: ${(r.stderr || '').trim().split('\n').pop()}`);
}

/** bench/lib/NAME.c compiled into .cache/bench-NAME, rebuilt when the source is newer. */
function cBinary(name, libs = []) {
  const src = path.join(ROOT, `bench/lib/${name}.c`);
  const bin = path.join(ROOT, `.cache/bench-${name}`);
  if (!fs.existsSync(bin) || fs.statSync(bin).mtimeMs < fs.statSync(src).mtimeMs) {
    fs.mkdirSync(path.dirname(bin), { recursive: true });
    const r = spawnSync('cc', ['-O2', '-o', bin, src, ...libs], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`cc bench/lib/${name}.c: ${r.stderr.trim()}`);
  }
  return bin;
}

/** The metadata harness (lib/metaops.c). */
export const metaopsBinary = () => cBinary('metaops');
/** The FUSE floor server (lib/floorfs.c, libfuse3's low-level API). */
export const floorfsBinary = () => cBinary('floorfs', ['-I/usr/include/fuse3', '-lfuse3', '-lpthread']);

/** fio with JSON output; returns the parsed report or throws with fio's last error line. */
export function fio(args) {
  const r = spawnSync('fio', ['--output-format=json', ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`fio ${args.join(' ')}: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  return JSON.parse(r.stdout.slice(r.stdout.indexOf('{')));
}

/** hyperfine over `cmds` (argv arrays, run without a shell), `runs` each; returns per command the run times in ms. */
export function hyperfine(cmds, { runs, prepare, names }) {
  const out = path.join(ROOT, `.cache/bench-hyperfine-${process.pid}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  const args = ['-N', '--runs', String(runs), '--export-json', out, '--style', 'none'];
  if (prepare) args.push('--prepare', prepare);
  cmds.forEach((c, i) => { if (names?.[i]) args.push('-n', names[i]); args.push(c.map(shellWord).join(' ')); });
  const r = spawnSync('hyperfine', args, { encoding: 'utf8', maxBuffer: 16 << 20 });
  if (r.status !== 0) throw new Error(`hyperfine: ${(r.stderr || r.stdout).trim().split('\n').pop()}`);
  const j = JSON.parse(fs.readFileSync(out, 'utf8'));
  fs.rmSync(out, { force: true });
  return j.results.map((x) => ({ command: x.command, ms: x.times.map((s) => s * 1000), exitCodes: x.exit_codes }));
}

// hyperfine -N splits on spaces and honours quotes: quote words with spaces or quotes.
function shellWord(w) {
  return /^[\w@%+=:,./-]+$/.test(w) ? w : `'${w.replace(/'/g, `'\\''`)}'`;
}

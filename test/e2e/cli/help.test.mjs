// The conventions every `pram` command keeps (docs/CLI.md): --help exits 0
// and shows an example; every reporting command has --json, and its output is
// one JSON document; sizes are typed in memparse form; errors are one line on
// stderr naming the path and the cause, with the documented exit status.
// Commands are discovered from `pram --help`, so a new command is held to the
// same rules without editing this file (except to add its --json recipe).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-help-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

function pram(...args) {
  const r = spawnSync(process.execPath, [path.join(root, 'bin/pram.js'), ...args], {
    encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '' }, timeout: 120_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const arena = path.join(tmp, 'a.arena');
const pfs = await mount({ arena, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '', warn: () => {} });
await pfs.mkdir('/dir');
await pfs.writeFile('/dir/f.txt', 'hello\n');
await pfs.unmount();
// An image v1 can hold (regular files in the root), for save --format v1.
const v1arena = path.join(tmp, 'v1.arena');
const v1pfs = await mount({ arena: v1arena, create: { sizeBytes: 16 << 20, overwrite: true }, cmdline: '', warn: () => {} });
await v1pfs.writeFile('/f.txt', 'hello\n');
await v1pfs.unmount();
const kernel = path.join(tmp, 'vmlinuz');
fs.writeFileSync(kernel, 'not a kernel');

const top = pram('--help');
const commands = top.stdout.slice(top.stdout.indexOf('Commands:')).split('\n').slice(1)
  .map((l) => /^ {2}([a-z][\w-]*)/.exec(l)?.[1]).filter((c) => c && c !== 'help');

test('pram --help lists the commands and the exit statuses', () => {
  assert.equal(top.code, 0);
  assert.ok(commands.length >= 5, commands.join(' '));
  assert.match(top.stdout, /Exit status: 0 ok, 1 error, 2 usage, 3 image damaged and partly salvaged/);
});

for (const cmd of commands) {
  test(`${cmd} --help: exits 0 and shows an example`, () => {
    const r = pram(cmd, '--help');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^Usage: pram /);
    assert.match(r.stdout, /Examples?:/, `${cmd} --help has no "Examples:" section (commander addHelpText('after', ...))`);
    assert.match(r.stdout, new RegExp(`^\\s+\\$ pram ${cmd}\\b`, 'm'), `${cmd} --help shows no "$ pram ${cmd} ..." example line`);
  });
}

// Commands that report something, and one invocation each that must print one JSON document.
const JSON_RECIPES = {
  info: ['info', '--arena', arena, '--json'],
  check: ['check', '--arena', arena, '--json'],
  ls: ['ls', '-l', '--arena', arena, '--json', '/dir'],
  map: ['map', '--arena', arena, '--out', path.join(tmp, 'm.svg'), '--json'],
  sim: ['sim', '--seed', '7', '--ram', '256M', '--big-file', '1M', '--files', '2', '--json'],
  kexec: ['kexec', '--dry-run', '--json', '--arena', arena, kernel],
  save: ['save', '--format', 'v1', '--json', '--arena', v1arena],
  demo: ['demo', '--json', '--arena', path.join(tmp, 'demo.arena'), '--size', '16M'],
  bench: null, // minutes long: only its --help is held to having --json
};

for (const [cmd, args] of Object.entries(JSON_RECIPES)) {
  if (!commands.includes(cmd)) continue; // not registered yet: nothing to hold to the rule
  test(`${cmd} --json: one JSON document on stdout`, () => {
    const help = pram(cmd, '--help');
    assert.match(help.stdout, /--json/, `${cmd} reports but has no --json option`);
    if (args === null) return;
    const r = pram(...args);
    assert.ok(r.code === 0 || r.code === 3, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    assert.doesNotThrow(() => JSON.parse(r.stdout), `${args.join(' ')}: stdout is not one JSON document: ${r.stdout.slice(0, 200)}`);
  });
}

test('reporting commands are all covered by a --json recipe', () => {
  for (const cmd of commands) {
    const help = pram(cmd, '--help').stdout;
    if (/--json/.test(help)) assert.ok(cmd in JSON_RECIPES, `${cmd} has --json: add a recipe above`);
  }
});

test('errors: one line on stderr naming the path and the cause, exit 1', () => {
  const cases = [
    ['cat', '--arena', arena, '/dir/missing.txt'],
    ['ls', '--arena', arena, '/nope'],
    ['info', '--arena', path.join(tmp, 'no.arena')],
    ['map', '--arena', path.join(tmp, 'no.arena'), '--out', path.join(tmp, 'x.svg')],
  ].filter((args) => commands.includes(args[0]));
  assert.ok(cases.length > 0);
  for (const args of cases) {
    const r = pram(...args);
    const named = args.find((a) => a.includes('missing') || a.includes('nope') || a.includes('no.arena'));
    assert.equal(r.code, 1, `${args.join(' ')}: exit ${r.code}`);
    const lines = r.stderr.trim().split('\n');
    assert.equal(lines.length, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(lines[0], /^pram: /);
    assert.ok(lines[0].includes(named), `${args[0]}: the error names ${named}: ${lines[0]}`);
    assert.match(lines[0], /ENOENT|no such|does not exist/i, `${args[0]}: the error says why: ${lines[0]}`);
  }
});

test('save --format v1: pram=<hex> on stdout; an image v1 cannot hold is one line naming the path, exit 1; no --format is usage', () => {
  if (!commands.includes('save')) return;
  const ok = pram('save', '--format', 'v1', '--arena', v1arena);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(ok.stdout, /^pram=[0-9a-f]+\n$/);
  const r = pram('save', '--format', 'v1', '--arena', arena);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^pram: .*v1 cannot hold \/dir: not a regular file \(a directory\)/);
  assert.equal(pram('save', '--arena', v1arena).code, 2);
});

test('usage errors exit 2: unknown option, bad size (memparse form expected, named in the message)', () => {
  const unknown = pram('info', '--no-such-option');
  assert.equal(unknown.code, 2, unknown.stderr);
  assert.equal(unknown.stderr, "pram: unknown option '--no-such-option' (see pram info --help)\n");
  const missing = pram('nosuch');
  assert.deepEqual([missing.code, missing.stderr], [2, "pram: unknown command 'nosuch' (see pram --help)\n"]);
  for (const args of [['sim', '--ram', '12Q'], ['format', '--arena', path.join(tmp, 'f.arena'), '--size', 'lots']]) {
    if (!commands.includes(args[0])) continue;
    const r = pram(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: exit ${r.code}: ${r.stderr}`);
    assert.ok(r.stderr.includes(args[args.length - 1]), `${args.join(' ')}: names the bad value: ${r.stderr}`);
  }
});

test('sizes are printed in human form (KiB, MiB, GiB), not raw byte counts', () => {
  if (!commands.includes('info')) return;
  const r = pram('info', '--arena', arena);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /16(\.0)? MiB/, r.stdout);
});

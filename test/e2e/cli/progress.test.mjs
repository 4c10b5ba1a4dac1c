// Progress bars appear on a terminal and nowhere else. The CLI runs under a
// pseudo-terminal (util-linux `script`), with stdout sent to a file so the
// test also sees that the bar goes to stderr only; then with plain pipes,
// where stderr must stay empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mount } from '../../../dist/api/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pramBin = path.join(root, 'bin/pram.js');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pram-progress-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));
const quote = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

// 256 MiB: the size from which long operations publish progress (PROGRESS_MIN_BYTES).
const arena = path.join(tmp, 'p.arena');
const pfs = await mount({ arena, create: { sizeBytes: 256 << 20, overwrite: true }, cmdline: '', warn: () => {} });
await pfs.writeFile('/f', Buffer.alloc(1 << 20, 1));
await pfs.unmount();

test('on a terminal: pram map draws a progress bar with rate and time on stderr, not on stdout', () => {
  const stdoutFile = path.join(tmp, 'stdout.txt');
  const cmd = `${quote(process.execPath)} ${quote(pramBin)} map --arena ${quote(arena)} --out ${quote(path.join(tmp, 'm.svg'))} > ${quote(stdoutFile)}`;
  const r = spawnSync('script', ['-qfec', cmd, '/dev/null'], { encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '', TERM: 'xterm' } });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const tty = r.stdout;
  assert.match(tty, /map \[[^\]]+\]\s+100% \| 256 MiB \/ 256 MiB \| [\d.]+ [KMG]?i?B\/s \| done in \d+s/, JSON.stringify(tty.slice(0, 400)));
  assert.match(tty, /map \[[^\]]+\]\s+0% \| 0 B \/ 256 MiB/, 'the bar starts at 0');
  const out = fs.readFileSync(stdoutFile, 'utf8');
  assert.doesNotMatch(out, /\[=|%/, 'stdout keeps only the result');
  assert.match(out, /m\.svg: 65536 pages/);
});

test('without a terminal: the same command prints nothing on stderr', () => {
  const r = spawnSync(process.execPath, [pramBin, 'map', '--arena', arena, '--out', path.join(tmp, 'n.svg')], {
    encoding: 'utf8', env: { ...process.env, PRAM_CMDLINE: '' },
  });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
  assert.match(r.stdout, /n\.svg: 65536 pages/);
  assert.doesNotMatch(r.stdout, /%/);
});

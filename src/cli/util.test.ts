// The shared CLI helpers: sizes in and out, the one-line error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { errorLine, formatSize, parseDuration, parseSize, usageError, EXIT } from './util.js';

test('parseSize: memparse suffixes in, a usage error naming the bad value', () => {
  assert.equal(parseSize('512M'), 512 << 20);
  assert.equal(parseSize('4G'), 4 * 2 ** 30);
  assert.equal(parseSize('4096'), 4096);
  assert.equal(parseSize('0x1000'), 4096);
  assert.equal(parseSize('1KiB'), 1024);
  assert.throws(() => parseSize('12Q', '--ram'), (e: Error & { exitCode?: number }) => e.exitCode === EXIT.usage && /--ram '12Q'/.test(e.message));
});

test('formatSize: human form out', () => {
  assert.equal(formatSize(512), '512 B');
  assert.equal(formatSize(1536), '1.50 KiB');
  assert.equal(formatSize(256 << 20), '256 MiB');
  assert.equal(formatSize(4 * 2 ** 30), '4.00 GiB');
});

test('errorLine: one line, the errno code and the path named once', () => {
  const e = Object.assign(new Error('no such file or directory\nstack noise'), { code: 'ENOENT', path: '/a/b' });
  assert.equal(errorLine(e), '/a/b: ENOENT: no such file or directory');
  const node = Object.assign(new Error("ENOENT: no such file or directory, open '/x'"), { code: 'ENOENT', path: '/x' });
  assert.equal(errorLine(node), "ENOENT: no such file or directory, open '/x'");
  assert.equal(errorLine('plain'), 'plain');
  assert.equal(usageError('--out x.png: bad').exitCode, EXIT.usage);
});

test('parseDuration: ms/s/m/h, bare seconds, 0 and off disable; anything else a usage error naming it', () => {
  assert.equal(parseDuration('500ms'), 500);
  assert.equal(parseDuration('5s'), 5000);
  assert.equal(parseDuration('1.5m'), 90_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('2'), 2000);
  assert.equal(parseDuration('0'), 0);
  assert.equal(parseDuration('0s'), 0);
  assert.equal(parseDuration('OFF'), 0);
  for (const bad of ['', '-1s', '5 sec', 'abc', '1e3', '0.1ms', '30d', '25000h']) {
    assert.throws(() => parseDuration(bad, '--checkpoint-interval'), (e: any) => e.exitCode === EXIT.usage && e.message.includes('--checkpoint-interval') && e.message.includes(`'${bad}'`), bad);
  }
});

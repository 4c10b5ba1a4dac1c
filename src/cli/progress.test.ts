// The progress bar's wiring without a real terminal: a fake TTY stream
// collects what the bar draws; a non-TTY stream must receive nothing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { publishProgress, progressWanted } from '../format/progress.js';
import { progressLine, showProgress } from './progress.js';

function fakeStream(isTTY: boolean): { stream: NodeJS.WriteStream; text: () => string } {
  let out = '';
  const w = new Writable({ write(chunk, _enc, cb) { out += chunk.toString(); cb(); } });
  Object.assign(w, { isTTY, columns: 120 });
  return { stream: w as unknown as NodeJS.WriteStream, text: () => out };
}

test('progressLine: percentage, amounts in human units, rate and time left', () => {
  const line = progressLine({ op: 'save', done: 256 << 20, total: 512 << 20, unit: 'bytes' }, 2000, '====----');
  assert.equal(line, 'save [====----]  50% | 256 MiB / 512 MiB | 128 MiB/s | 2s left');
  assert.match(progressLine({ op: 'check', done: 10, total: 10, unit: 'files' }, 61_000, '=='), /100% \| 10 files \/ 10 files \| 0 files\/s \| done in 1m01s$/);
});

test('not a terminal: nobody subscribes, nothing is written', () => {
  const { stream, text } = fakeStream(false);
  const stop = showProgress(stream);
  assert.equal(progressWanted(), false);
  publishProgress('save', 1, 2);
  publishProgress('save', 2, 2);
  stop();
  assert.equal(text(), '');
});

test('a terminal: one bar per operation; a nested operation gets its own line; the outer one resumes', () => {
  const { stream, text } = fakeStream(true);
  const stop = showProgress(stream, { delayMs: 0 });
  assert.equal(progressWanted(), true);
  publishProgress('put /tree', 0, 100, 'files');
  publishProgress('save', 0, 1 << 30);
  publishProgress('save', 1 << 30, 1 << 30);
  publishProgress('put /tree', 100, 100, 'files');
  stop();
  assert.equal(progressWanted(), false, 'stop unsubscribes');
  const plain = text().replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');
  assert.match(plain, /put \/tree \[[^\]]*\]\s+0% \| 0 files \/ 100 files/);
  assert.match(plain, /save \[[^\]]*\] 100% \| 1\.00 GiB \/ 1\.00 GiB/);
  assert.match(plain, /put \/tree \[[^\]]*\] 100% \| 100 files \/ 100 files .*done in/);
  assert.ok(!text().includes('\x1b[?25l'), 'the cursor is never hidden: a signal mid-operation must not leave it so');
  assert.ok(text().endsWith('\n'), 'the last bar ends its line');
});

test('a small operation draws a bar only once it has run for delayMs; big byte counts at once', () => {
  const { stream, text } = fakeStream(true);
  let t = 0;
  const stop = showProgress(stream, { delayMs: 500, now: () => t });
  publishProgress('load', 0, 10, 'items');
  t = 100; publishProgress('load', 5, 10, 'items');
  t = 200; publishProgress('load', 10, 10, 'items');
  assert.equal(text(), '', 'a quick load: no bar');
  publishProgress('check', 0, 10, 'files');
  t = 800; publishProgress('check', 5, 10, 'files');
  assert.match(text(), /check \[[^\]]*\]\s+50% \| 5 files \/ 10 files/, 'a slow one: a bar after the delay');
  publishProgress('check', 10, 10, 'files');
  publishProgress('save', 0, 256 << 20);
  assert.match(text(), /save \[[^\]]*\]\s+0% \| 0 B \/ 256 MiB/, '256 MiB of bytes: a bar at once');
  stop();
});

test('an operation that is over in its first message draws nothing', () => {
  const { stream, text } = fakeStream(true);
  const stop = showProgress(stream);
  publishProgress('load', 5, 5);
  stop();
  assert.equal(text(), '');
});

// The progress bar: long operations below cli/ publish on the 'pram:progress'
// channel (format/progress.ts); here one cli-progress bar per operation is
// drawn on stderr with rate and remaining time — only when stderr is a
// terminal, so pipes, logs and scripts see nothing. Engine work is
// synchronous, so the bar redraws synchronously from inside the publish
// (cli-progress's SingleBar, throttled), not from a timer that could not run.
// A bar appears at once for work of PROGRESS_MIN_BYTES or more, else only
// once the operation has run for `delayMs`: quick loads and checks of small
// images never flash a bar. One bar at a time: a nested operation ends the
// outer bar's line and starts its own; the outer one continues on a new line
// with its rate intact.
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import cliProgress from 'cli-progress';
import { PROGRESS_CHANNEL, PROGRESS_MIN_BYTES, type ProgressMessage } from '../format/progress.js';
import { beforeFail, formatSize } from './util.js';

interface Active { op: string; bar: cliProgress.SingleBar }

function amount(n: number, unit: ProgressMessage['unit']): string {
  return unit === 'bytes' ? formatSize(n) : `${n} ${unit}`;
}

function duration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  s = Math.max(0, Math.round(s));
  return s < 60 ? `${s}s` : s < 3600 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s` : `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, '0')}m`;
}

/** One line: `save [=====-----] 48% | 245 MiB / 512 MiB | 310 MiB/s | 1s left`. */
export function progressLine(m: ProgressMessage, elapsedMs: number, bar: string): string {
  const pct = m.total > 0 ? Math.floor((100 * m.done) / m.total) : 100;
  const rate = elapsedMs > 0 ? (m.done * 1000) / elapsedMs : 0;
  const left = rate > 0 ? (m.total - m.done) / rate : Infinity;
  return `${m.op} [${bar}] ${String(pct).padStart(3)}% | ${amount(m.done, m.unit)} / ${amount(m.total, m.unit)} | ` +
    `${rate > 0 ? `${amount(Math.round(rate), m.unit)}/s` : '-'} | ${m.done >= m.total ? `done in ${duration(elapsedMs / 1000)}` : `${duration(left)} left`}`;
}

/**
 * Draw published progress on `stream` when it is a terminal. Returns the
 * function that stops listening (and closes an open bar).
 */
export function showProgress(stream: NodeJS.WriteStream = process.stderr, opts: { delayMs?: number; now?: () => number } = {}): () => void {
  if (!stream.isTTY) return () => {};
  const delayMs = opts.delayMs ?? 500, now = opts.now ?? Date.now;
  const started = new Map<string, number>(); // op -> wall-clock start, kept across nested interruptions
  let active: Active | null = null;
  let last: ProgressMessage | null = null;

  const close = () => {
    if (!active) return;
    active.bar.stop();
    active = null;
  };
  const onMessage = (raw: unknown) => {
    const m = raw as ProgressMessage;
    if (!started.has(m.op)) {
      if (m.done >= m.total) return; // over before it began: nothing worth a bar
      started.set(m.op, now());
    }
    if (!(active && active.op === m.op)) {
      const big = m.unit === 'bytes' && m.total >= PROGRESS_MIN_BYTES;
      if (!big && now() - started.get(m.op)! < delayMs) {
        if (m.done >= m.total) started.delete(m.op); // quick: over without a bar
        return;
      }
    }
    if (active && active.op !== m.op) close();
    last = m;
    if (!active) {
      const bar = new cliProgress.SingleBar({
        stream, hideCursor: false, clearOnComplete: false, barsize: 24, fps: 10,
        format: (options, params) => {
          const b = cliProgress.Format.BarFormat(params.progress, options);
          return progressLine(last!, now() - (started.get(last!.op) ?? now()), b);
        },
      });
      bar.start(Math.max(1, m.total), m.done);
      active = { op: m.op, bar };
    }
    active.bar.setTotal(Math.max(1, m.total));
    active.bar.update(m.done);
    if (m.done >= m.total) { close(); started.delete(m.op); }
  };
  subscribe(PROGRESS_CHANNEL, onMessage);
  process.once('exit', close); // an error mid-operation must not leave the cursor hidden
  beforeFail(close);            // and its one line must not be glued to the bar's
  return () => {
    unsubscribe(PROGRESS_CHANNEL, onMessage);
    process.removeListener('exit', close);
    close();
  };
}

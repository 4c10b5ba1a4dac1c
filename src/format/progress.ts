// Progress of long operations (save, load, check, put/get of large trees,
// bench), published on one named diagnostics channel. Any layer may publish;
// only cli/ subscribes (cli/progress.ts draws a bar when stderr is a terminal).
// It lives in the bottom layer because it touches nothing but
// node:diagnostics_channel: no clock, no I/O, no state. With nobody
// subscribed a publish is one boolean test, so hot loops may call it freely;
// still, publish every few hundred pages, not every page.
import { channel } from 'node:diagnostics_channel';

export const PROGRESS_CHANNEL = 'pram:progress';

/** Below this much work an operation is quick enough that nobody needs a bar. */
export const PROGRESS_MIN_BYTES = 256 * 1024 * 1024;

export type ProgressUnit = 'bytes' | 'pages' | 'files' | 'items';

/** One message: `done` of `total` units of operation `op` are finished; done === total ends it. */
export interface ProgressMessage {
  op: string;         // short and human: 'save', 'load', 'check', 'put /a/b'
  done: number;
  total: number;
  unit: ProgressUnit;
}

const progress = channel(PROGRESS_CHANNEL);

/** Publish progress of `op`. Publish (op, total, total) at the end, also on failure, so the bar closes. */
export function publishProgress(op: string, done: number, total: number, unit: ProgressUnit = 'bytes'): void {
  if (!progress.hasSubscribers) return;
  const message: ProgressMessage = { op, done: Math.min(done, total), total, unit };
  progress.publish(message);
}

/** Is anyone listening? Lets a caller skip computing totals it would only publish. */
export function progressWanted(): boolean {
  return progress.hasSubscribers;
}

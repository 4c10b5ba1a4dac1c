// The driver of a volume's background work (Volume.background), for the
// library (api/pramfs.ts) and the FUSE server (fuse/server.ts):
// slices of at most SLICE_MS between requests, every TICK_MS, chained with
// setImmediate while work is left, so I/O and timers run between slices: at
// most one slice per turn of the event loop. With
// it, a compaction is written in slices instead of inside a commit, and
// written pages get their checksum before the commit that names them.
/** What the driver needs of a volume (fs/'s Volume; fuse/ serves it through ServedVolume). */
export interface Driven {
  readonly isMounted: boolean;
  background(budgetMs: number): boolean;
  driveBackground(): void;
}

export const SLICE_MS = 2;
export const TICK_MS = 20;

/** Starts the driver; the function returned stops it. Nothing here keeps the process alive. */
export function startBackground(volume: Driven): () => void {
  volume.driveBackground();
  let running = false, stopped = false;
  const step = (): void => {
    if (!stopped && volume.isMounted && volume.background(SLICE_MS)) setImmediate(step).unref();
    else running = false;
  };
  // A kick only schedules the first slice: run in the timers phase it would add a slice to the one the
  // check phase runs next, two between the same two timer ticks (twice SLICE_MS of stall).
  const kick = (): void => { if (!running) { running = true; setImmediate(step).unref(); } };
  // The tick's timer is made at the first turn of the loop, as the first kick: no slice runs before it anyway,
  // and a fresh process's first setInterval (~0.3 ms of timer code not yet compiled) was a mount's to pay.
  let timer: NodeJS.Timeout | null = null;
  setImmediate(() => {
    if (stopped) return;
    timer = setInterval(kick, TICK_MS);
    timer.unref();
    kick();
  }).unref();
  return () => { stopped = true; if (timer) clearInterval(timer); };
}

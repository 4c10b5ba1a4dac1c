// The checkpoint interval of a mount: every `intervalMs` the volume is saved,
// but only when something changed since its last checkpoint (an idle mount
// costs one flag test per tick), and only between requests (FuseSession.between),
// never inside one. What it saves is what the server holds: writes the kernel
// still caches (writeback) arrive on close, fsync, sync or the kernel's own
// writeback, and are saved by the tick after that.
import type { FuseSession } from './session.js';
import { errnoName } from '../format/errno.js';

/** Start the ticks; returns the stop function. 0 (or less) starts nothing. */
export function startCheckpoints(s: FuseSession, intervalMs: number): () => void {
  if (!(intervalMs > 0)) return () => {};
  let failing = false;
  const tick = () => s.between(() => {
    if (!s.volume.unsaved()) return;
    const r = s.volume.sync();
    // One line when saving starts to fail and one when it works again, not one per tick.
    if (r < 0 && !failing) s.log(`pram: interval checkpoint failed: ${errnoName(r)}; the previous checkpoint stays; retrying every ${intervalMs} ms`);
    if (r === 0 && failing) s.log('pram: interval checkpoint saved again');
    failing = r < 0;
  });
  const timer = setInterval(tick, intervalMs);
  timer.unref();   // the mount's loop keeps the process alive, not this timer
  return () => clearInterval(timer);
}

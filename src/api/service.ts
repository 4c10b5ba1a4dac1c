// A library mount as a systemd service: READY=1 once mounted; on SIGTERM
// STOPPING=1, every mount still open unmounted (its final checkpoint), then
// exit — unless the program handles SIGTERM itself, in which case it decides
// when to exit (our unmount still runs first). Without $NOTIFY_SOCKET nothing
// is installed. The memfd arena's FD store part is in src/mem/fdstore.ts.
import { notify, underServiceManager } from '../mem/sd-notify.js';
import type { PramFs } from './pramfs.js';

const open = new Set<PramFs>();
let installed = false;

export function serveUnderSystemd(pfs: PramFs, warn: (line: string) => void): void {
  if (!underServiceManager()) return;
  for (const p of open) if (!p.volume.isMounted) open.delete(p);
  open.add(pfs);
  if (!installed) {
    installed = true;
    process.on('SIGTERM', onSigterm);
  }
  try {
    notify(`READY=1\nSTATUS=pram: ${pfs.arenaPath} mounted`);
  } catch (e) {
    warn(`pram: ${(e as Error).message}`);
  }
}

async function onSigterm(): Promise<void> {
  try { notify('STOPPING=1\nSTATUS=pram: saving a final checkpoint'); } catch { /* the manager is going away */ }
  for (const pfs of open) {
    if (!pfs.volume.isMounted) continue;
    try {
      await pfs.unmount();
    } catch (e) {
      console.error(`pram: SIGTERM: final checkpoint of ${pfs.arenaPath} failed: ${(e as Error).message}`);
      process.exitCode = 1;
    }
  }
  open.clear();
  // Ours is the only listener: Node would otherwise not exit on SIGTERM at all.
  if (process.listenerCount('SIGTERM') === 1) process.exit();
}

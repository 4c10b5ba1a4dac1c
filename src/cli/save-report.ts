// How a server's save result reaches `pram umount`, another process: the
// server writes one small JSON file beside its run file after each save that
// umount asked for (SIGUSR1) and after its final save; umount clears it, asks,
// and waits for it. A failed save is never reported as "saved".
import * as fs from 'node:fs';
import { runPath } from './runfile.js';

/** The signal that asks a server to checkpoint now and write a report. */
export const SAVE_SIGNAL = 'SIGUSR1';

export interface SaveReport {
  pid: number;
  /** 0, or the negative errno of the failed checkpoint. */
  errno: number;
  /** The save after the kernel let go of the mount (the server exits next). */
  final: boolean;
}

export function saveReportPath(dir: string): string {
  return runPath(dir, 'pid').replace(/\.pid$/, '.save');
}

export function writeSaveReport(dir: string, rep: SaveReport): void {
  const file = saveReportPath(dir);
  try {
    fs.writeFileSync(file + '.tmp', JSON.stringify(rep) + '\n');
    fs.renameSync(file + '.tmp', file);
  } catch { /* no run dir (a test serving in-process): nobody is waiting */ }
}

/** The report of server `pid`, or null while there is none. */
export function readSaveReport(dir: string, pid: number): SaveReport | null {
  try {
    const rep = JSON.parse(fs.readFileSync(saveReportPath(dir), 'utf8')) as SaveReport;
    return rep.pid === pid && typeof rep.errno === 'number' ? rep : null;
  } catch {
    return null;
  }
}

export function clearSaveReport(dir: string): void {
  fs.rmSync(saveReportPath(dir), { force: true });
}

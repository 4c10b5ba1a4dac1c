// What every command shares: exit codes, one-line errors, size parsing and
// printing in the forms people type and read (512M in, 512 MiB out).
import { errnoName } from '../format/errno.js';

export const EXIT = { ok: 0, error: 1, usage: 2, salvaged: 3 } as const;

/** Print one line naming what failed and why, then exit non-zero. */
export function fail(err: unknown, code: number = EXIT.error): never {
  const e = err as { message?: string; code?: string; path?: string; exitCode?: number };
  let msg = e?.message ?? String(err);
  if (e?.code && !msg.includes(e.code)) msg = `${e.code}: ${msg}`;
  process.stderr.write(`pram: ${msg.split('\n')[0]}\n`);
  process.exit(e?.exitCode ?? code);
}

const SUFFIX: Record<string, number> = { K: 10, M: 20, G: 30, T: 40, P: 50 };

/** '512M' / '4G' / '4096' -> bytes. Throws a usage error naming the bad value. */
export function parseSize(text: string, what = 'size'): number {
  const m = /^(0x[0-9a-f]+|\d+)([KMGTP])?(i?B)?$/i.exec(text.trim());
  if (!m) throw Object.assign(new Error(`${what} '${text}': expected a number with an optional K, M, G or T suffix`), { exitCode: EXIT.usage });
  const n = Number(m[1]) * 2 ** (m[2] ? SUFFIX[m[2].toUpperCase()]! : 0);
  if (!Number.isSafeInteger(n)) throw Object.assign(new Error(`${what} '${text}' is too large`), { exitCode: EXIT.usage });
  return n;
}

/** 1536 -> '1.5 KiB'. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

export { errnoName };

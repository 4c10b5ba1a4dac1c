// What every command shares: exit codes, one-line errors, size parsing and
// printing in the forms people type and read (512M in, 512 MiB out).
import { errnoName } from '../format/errno.js';
import { memparse } from '../boot/params.js';

export const EXIT = { ok: 0, error: 1, usage: 2, salvaged: 3 } as const;

const failHooks: (() => void)[] = [];

/** Run before fail's line is printed (the progress bar ends its line first, so the error stands alone). */
export function beforeFail(hook: () => void): void {
  failHooks.push(hook);
}

/**
 * Print one line naming what failed and why (`pram: PATH: CODE: cause`), then
 * exit with the error's exitCode, else `code`. A Node-style error's path is
 * added when its message does not already name it.
 */
export function fail(err: unknown, code: number = EXIT.error): never {
  for (const hook of failHooks) hook();
  process.stderr.write(`pram: ${errorLine(err)}\n`);
  process.exit((err as { exitCode?: number })?.exitCode ?? code);
}

/** The one line `fail` prints (without the `pram: ` prefix): first line only, code and path named once. */
export function errorLine(err: unknown): string {
  const e = err as { message?: string; code?: unknown; path?: unknown };
  let msg = (typeof e?.message === 'string' ? e.message : String(err)).split('\n')[0]!.trim();
  if (typeof e?.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && !msg.includes(e.code)) msg = `${e.code}: ${msg}`;
  if (typeof e?.path === 'string' && e.path !== '' && !msg.includes(e.path)) msg = `${e.path}: ${msg}`;
  return msg;
}

/** An error that exits with the usage status (2): a bad option value, named in the message. */
export function usageError(message: string): Error & { exitCode: number } {
  return Object.assign(new Error(message), { exitCode: EXIT.usage });
}

/** `--json` output: one JSON document on stdout; bigints (ns times) become numbers when exact, else strings. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? (Number.isSafeInteger(Number(v)) ? Number(v) : v.toString()) : v), 2) + '\n');
}

/**
 * '512M' / '4G' / '4096' / '0x1000' / '1KiB' -> bytes: the kernel's memparse
 * (boot/params.ts, the one size parser; pram_banned= uses it too) with an
 * optional 'B' / 'iB' after the suffix. Throws a usage error naming the bad value.
 */
export function parseSize(text: string, what = 'size'): number {
  const m = memparse(text.trim());
  if (!m || !/^(i?B)?$/i.test(m.rest)) throw Object.assign(new Error(`${what} '${text}': expected a number with an optional K, M, G or T suffix`), { exitCode: EXIT.usage });
  if (m.value > BigInt(Number.MAX_SAFE_INTEGER)) throw Object.assign(new Error(`${what} '${text}' is too large`), { exitCode: EXIT.usage });
  return Number(m.value);
}

const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
/** setInterval's limit (2^31 - 1 ms, about 24.8 days). */
export const DURATION_MS_MAX = 2 ** 31 - 1;

/**
 * '500ms', '5s', '1.5m', '1h' -> ms; '0' or 'off' -> 0 (disabled). A bare
 * number means seconds (as in systemd). A usage error (exit 2) otherwise.
 */
export function parseDuration(text: string, what = 'duration'): number {
  const t = text.trim().toLowerCase();
  if (t === 'off') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(t);
  if (!m) throw usageError(`${what} '${text}': expected a time such as 500ms, 5s, 2m or 1h, or 0/off`);
  const ms = Math.round(Number(m[1]) * DURATION_UNIT_MS[m[2] ?? 's']!);
  if (ms > DURATION_MS_MAX) throw usageError(`${what} '${text}' is too long (at most ${Math.floor(DURATION_MS_MAX / 86_400_000)} days)`);
  if (ms === 0 && Number(m[1]) !== 0) throw usageError(`${what} '${text}' is shorter than 1 ms`);
  return ms;
}

/** 1536 -> '1.5 KiB'. */
export function formatSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = bytes, i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)} ${units[i]}`;
}

export { errnoName };

// Node-style errors at the edge: a negative errno from fs/ becomes an Error
// with code, errno (negative, like node), syscall, path (and dest for two-path
// calls), and node's message shape: "ENOENT: no such file or directory, open '/a'".
import { getSystemErrorMap } from 'node:util';
import { errnoName } from '../format/errno.js';

export interface PramError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  dest?: string;
}

const FALLBACK: Record<string, string> = { ENODATA: 'no data available' };

function describe(errno: number): string {
  const sys = getSystemErrorMap().get(-Math.abs(errno));
  return sys?.[1] ?? FALLBACK[errnoName(errno)] ?? 'unknown error';
}

/** The error for `-errno` from `syscall` on `path` (and `dest`). */
export function errnoError(errno: number, syscall: string, path?: string, dest?: string, detail?: string): PramError {
  const code = errnoName(errno);
  let msg = `${code}: ${detail ?? describe(errno)}, ${syscall}`;
  if (path !== undefined) msg += ` '${path}'`;
  if (dest !== undefined) msg += ` -> '${dest}'`;
  const err = new Error(msg) as PramError;
  err.code = code;
  err.errno = -Math.abs(errno);
  err.syscall = syscall;
  if (path !== undefined) err.path = path;
  if (dest !== undefined) err.dest = dest;
  Error.captureStackTrace?.(err, errnoError);
  return err;
}


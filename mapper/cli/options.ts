// Parsers for option values shared by several subcommands. Each throws a UsageError that names the
// bad value and shows a valid one.
import { UsageError } from './errors.js';

const DURATION_UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Parses a duration such as `500ms`, `5s`, `10m`, `14d` into milliseconds. */
export function parseDurationMs(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(text.trim());
  if (!m)
    throw new UsageError(
      `${flag}: "${text}" is not a duration. Use a number and a unit, such as 5s, 10m, 14d.`,
    );
  const value = Number(m[1]) * DURATION_UNITS_MS[m[2] as keyof typeof DURATION_UNITS_MS];
  if (!Number.isFinite(value) || value <= 0)
    throw new UsageError(`${flag}: "${text}" must be greater than zero.`);
  return value;
}

/** Parses `HOST:PORT` (IPv6 hosts in brackets: `[::1]:8080`). */
export function parseListen(
  text: string,
  flag = '--listen',
): { readonly host: string; readonly port: number } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim());
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) {
    throw new UsageError(`${flag}: "${text}" is not HOST:PORT. Example: 127.0.0.1:8080 or [::1]:8080.`);
  }
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Parses a positive integer option. */
export function parsePositiveInt(text: string, flag: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0 || n > max) {
    throw new UsageError(`${flag}: "${text}" must be a whole number from 1 to ${max}.`);
  }
  return n;
}

// Parses graph filters (from a query string or CLI flags) into a GraphQuery. Pure: the clock is a
// parameter. Times are ISO 8601 instants or durations back from now (`1h`, `14d`).
import type { GraphQuery } from '../graph/model.js';

const UNITS_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/** Most edges one graph request may return. */
export const MAX_GRAPH_LIMIT = 100_000;

/** Parses a time bound: an ISO instant, epoch ms digits, or a duration meaning "that long ago". */
export function parseTimeBound(text: string, nowMs: number): number | null {
  const t = text.trim();
  const d = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)$/.exec(t);
  if (d !== null) return nowMs - Math.round(Number(d[1]) * UNITS_MS[d[2] as keyof typeof UNITS_MS]);
  if (/^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const ms = Date.parse(t);
    return Number.isFinite(ms) ? ms : null;
  }
  return null;
}

/** Raw filter values, as strings. */
export interface GraphFilterInput {
  readonly namespace?: string | undefined;
  readonly workload?: string | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly limit?: string | undefined;
}

/** Builds a GraphQuery, or a message naming the bad filter. */
export function parseGraphFilters(
  input: GraphFilterInput,
  nowMs: number,
): { readonly ok: true; readonly value: GraphQuery } | { readonly ok: false; readonly message: string } {
  const q: { -readonly [K in keyof GraphQuery]: GraphQuery[K] } = {};
  const name = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;
  if (input.namespace !== undefined) {
    if (!name.test(input.namespace))
      return { ok: false, message: `namespace: "${input.namespace}" is not a namespace name` };
    q.namespace = input.namespace;
  }
  if (input.workload !== undefined) {
    const parts = input.workload.split('/');
    if (parts.length > 2 || !parts.every((p) => p.length > 0 && p.length <= 253)) {
      return { ok: false, message: `workload: "${input.workload}" must be NAME or NAMESPACE/NAME` };
    }
    q.workload = input.workload;
  }
  for (const key of ['since', 'until'] as const) {
    const v = input[key];
    if (v === undefined) continue;
    const ms = parseTimeBound(v, nowMs);
    if (ms === null)
      return {
        ok: false,
        message: `${key}: "${v}" is neither an ISO time (2026-01-31T12:00:00Z) nor a duration (1h, 14d)`,
      };
    q[key] = ms;
  }
  if (input.limit !== undefined) {
    const n = Number(input.limit);
    if (!/^\d+$/.test(input.limit) || n < 1 || n > MAX_GRAPH_LIMIT)
      return {
        ok: false,
        message: `limit: "${input.limit}" must be a whole number from 1 to ${MAX_GRAPH_LIMIT}`,
      };
    q.limit = n;
  }
  return { ok: true, value: q };
}

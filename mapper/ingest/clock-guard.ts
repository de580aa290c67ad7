// Clock-skew guard for report batches. A sniffer's clock may be wrong; its timestamps must not
// poison the graph (an edge "last seen" in 2031 would never expire). Pure: the mapper's clock is a
// parameter.
import type { ReportBatch } from '../api/wire.js';

/** Bounds for batch timestamps. */
export interface ClockGuardOptions {
  /** How far a sniffer's clock may run ahead of the mapper's before its batch is refused, in ms. */
  readonly maxFutureSkewMs: number;
  /** Oldest acceptable sentAt, relative to the mapper's clock (spooled batches may be old), in ms. */
  readonly maxBatchAgeMs: number;
  /** How far a record may lie before the batch's sentAt before it is clamped, in ms. */
  readonly maxRecordAgeMs: number;
}

/** Defaults: 5 minutes ahead, 30 days old batches, records at most 1 day older than their batch. */
export const DEFAULT_CLOCK_GUARD: ClockGuardOptions = {
  maxFutureSkewMs: 5 * 60_000,
  maxBatchAgeMs: 30 * 86_400_000,
  maxRecordAgeMs: 86_400_000,
};

/** The outcome of guarding a batch. */
export type ClockGuardResult =
  | { readonly ok: true; readonly batch: ReportBatch; readonly clamped: number }
  | { readonly ok: false; readonly reason: 'future' | 'too-old'; readonly message: string };

/**
 * Refuses a batch whose sentAt is ahead of the mapper by more than maxFutureSkewMs, or older than
 * maxBatchAgeMs; clamps record timestamps into [sentAt - maxRecordAgeMs, min(sentAt, now) + maxFutureSkewMs]
 * and returns how many records were clamped. The input is not mutated.
 */
export function guardBatchClock(
  batch: ReportBatch,
  nowMs: number,
  options: ClockGuardOptions = DEFAULT_CLOCK_GUARD,
): ClockGuardResult {
  if (batch.sentAt > nowMs + options.maxFutureSkewMs) {
    const ahead = Math.round((batch.sentAt - nowMs) / 1000);
    return {
      ok: false,
      reason: 'future',
      message: `sentAt ${new Date(batch.sentAt).toISOString()} is ${ahead}s ahead of the mapper's clock (limit ${options.maxFutureSkewMs / 1000}s); fix the clock (NTP) on node "${batch.reporter}"`,
    };
  }
  if (batch.sentAt < nowMs - options.maxBatchAgeMs) {
    return {
      ok: false,
      reason: 'too-old',
      message: `sentAt ${new Date(batch.sentAt).toISOString()} is older than ${Math.round(options.maxBatchAgeMs / 86_400_000)} days, beyond the mapper's de-duplication window; drop it from the spool`,
    };
  }
  const high = Math.min(batch.sentAt, nowMs) + options.maxFutureSkewMs;
  const low = batch.sentAt - options.maxRecordAgeMs;
  let clamped = 0;
  const clamp = <T extends { readonly firstSeen: number; readonly lastSeen: number }>(r: T): T => {
    if (r.firstSeen >= low && r.lastSeen <= high) return r;
    clamped++;
    const firstSeen = Math.min(Math.max(r.firstSeen, low), high);
    const lastSeen = Math.max(Math.min(Math.max(r.lastSeen, low), high), firstSeen);
    return { ...r, firstSeen, lastSeen };
  };
  const connections = batch.connections.map(clamp);
  const dns = batch.dns.map(clamp);
  return clamped === 0
    ? { ok: true, batch, clamped }
    : { ok: true, batch: { ...batch, connections, dns }, clamped };
}

// Retention: deletes rows older than the retention period in bounded transactions, yielding to the
// event loop between them so ingest requests interleave (better-sqlite3 is synchronous: one long
// DELETE would stall every request behind it). VACUUM runs only on request (`--vacuum`).
import type { Database as Db } from 'better-sqlite3';
import { BUMP_GENERATION_SQL } from './store/graph-store.js';

/**
 * How long applied (reporter, sequence) records are kept for de-duplication: a sniffer re-sends a
 * batch only until it is acknowledged (minutes of backoff), so 7 days is ample; the clock guard
 * refuses batches older than this, so a batch can never be applied twice. Measured: 46 B per
 * record, 864,000 records (≈ 38 MiB) per day for 50 nodes at a 5 s report interval.
 */
export const BATCH_DEDUPE_WINDOW_MS = 7 * 86_400_000;

/** Rows deleted per transaction by default: a few milliseconds of work each. */
export const RETENTION_BATCH_ROWS = 5000;

/** Tables retention prunes, each with its time column. */
const TARGETS = [
  // Endpoints first: an edge's endpoint can be older than the edge itself. An edge's inline pair
  // (schema v3, migrations/0003_inline_endpoint.sql) is an endpoint like its edge_endpoints rows:
  // cleared on the same condition, and counted as a pruned endpoint.
  {
    table: 'edge_endpoints',
    sql: `UPDATE edges SET ep_client_ip = NULL, ep_server_ip = NULL, ep_first_seen = NULL, ep_last_seen = NULL, ep_count = NULL
          WHERE id IN (SELECT id FROM edges WHERE ep_last_seen < ? LIMIT ?)`,
  },
  {
    table: 'edge_endpoints',
    sql: `DELETE FROM edge_endpoints WHERE (edge_id, client_ip, server_ip) IN (SELECT edge_id, client_ip, server_ip FROM edge_endpoints WHERE last_seen < ? LIMIT ?)`,
  },
  { table: 'edges', sql: `DELETE FROM edges WHERE id IN (SELECT id FROM edges WHERE last_seen < ? LIMIT ?)` },
  {
    table: 'dns_names',
    sql: `DELETE FROM dns_names WHERE (client_id, name, ip) IN (SELECT client_id, name, ip FROM dns_names WHERE last_seen < ? LIMIT ?)`,
  },
  {
    table: 'ip_ownership',
    sql: `DELETE FROM ip_ownership WHERE id IN (SELECT id FROM ip_ownership WHERE valid_to IS NOT NULL AND valid_to < ? LIMIT ?)`,
  },
  // A batch this old can no longer be re-sent by a sniffer whose spool has been drained long since.
  {
    table: 'ingest_batches',
    sql: `DELETE FROM ingest_batches WHERE (reporter, sequence) IN (SELECT reporter, sequence FROM ingest_batches WHERE received_at < ? LIMIT ?)`,
  },
] as const;

/** A table retention prunes. */
export type RetentionTable = (typeof TARGETS)[number]['table'];

/** Options for pruneOldRows. */
export interface RetentionOptions {
  /** Rows last seen before this time (epoch ms) are deleted. */
  readonly cutoffMs: number;
  /**
   * Applied-batch records received before this time are deleted (default cutoffMs). The mapper
   * passes now - BATCH_DEDUPE_WINDOW_MS when that is later: batch records are the largest table
   * (one row per node per report interval) and only need to outlive a sniffer's retries.
   */
  readonly batchCutoffMs?: number;
  /** Most rows per transaction. */
  readonly batchRows?: number;
  /** Called between transactions; resolve to continue (e.g. a setImmediate promise). */
  readonly yieldBetween: () => Promise<void>;
  readonly signal?: AbortSignal;
  /** Called after each transaction with what it deleted. */
  readonly onDeleted?: (table: RetentionTable, rows: number) => void;
}

/**
 * Deletes rows older than the cutoff, at most `batchRows` per transaction (an edge's inline
 * endpoint pair is cleared, not deleted). edge_endpoints and edge_dns_names of deleted edges go
 * with them (ON DELETE CASCADE). Returns rows deleted per table.
 */
export async function pruneOldRows(
  db: Db,
  options: RetentionOptions,
): Promise<Record<RetentionTable, number>> {
  const limit = options.batchRows ?? RETENTION_BATCH_ROWS;
  const totals = { edge_endpoints: 0, edges: 0, dns_names: 0, ip_ownership: 0, ingest_batches: 0 };
  const bump = db.prepare(BUMP_GENERATION_SQL);
  for (const t of TARGETS) {
    const stmt = db.prepare(t.sql);
    for (;;) {
      if (options.signal?.aborted === true) return totals;
      const cutoff =
        t.table === 'ingest_batches' ? (options.batchCutoffMs ?? options.cutoffMs) : options.cutoffMs;
      const n = db.transaction(() => {
        const deleted = stmt.run(cutoff, limit).changes;
        // Readers cache per generation: a deletion is a change they must see.
        if (deleted > 0 && t.table !== 'ingest_batches') bump.run();
        return deleted;
      })();
      totals[t.table] += n;
      if (n > 0) options.onDeleted?.(t.table, n);
      if (n < limit) break;
      await options.yieldBetween();
    }
  }
  return totals;
}

/** Rebuilds the database file to return freed pages to the file system (blocks; run on request). */
export function vacuum(db: Db): void {
  db.exec('VACUUM');
  db.pragma('wal_checkpoint(TRUNCATE)');
}

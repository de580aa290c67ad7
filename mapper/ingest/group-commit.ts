// Group commit for the HTTP ingest. better-sqlite3 is synchronous, so while one transaction
// commits, the event loop is blocked and the requests that arrive meanwhile wait in their sockets.
// Instead of one transaction per batch, batches are queued as they are parsed and, once the event
// loop has read what arrived (the flush runs from `schedule`, setImmediate by default), written
// together: ONE outer transaction, each batch in its own savepoint (GraphStore.applyBatch nested in
// GraphStore.transaction), so a batch that fails rolls back alone and gets its own error. A promise
// settles only after the COMMIT that holds its batch: a 2xx never precedes durability in the WAL.
// If the outer transaction fails (BEGIN busy, COMMIT on a full disk) every batch of the group gets
// that error and nothing of the group is kept. Both the group and the queue are bounded: when the
// queue is full, `submit` refuses at once (the API answers 503 overloaded with Retry-After).
import type { ReportBatch } from '../api/wire.js';
import type { MapperMetrics } from '../metrics.js';
import type { GraphStore } from '../store/index.js';
import type { IngestResult, IngestService, PreparedBatch } from './ingest-service.js';

/** Bounds of one group commit and of the queue waiting for it. */
export interface GroupCommitLimits {
  /** Most batches written in one transaction. */
  readonly maxGroupBatches: number;
  /** Most records (connections + DNS) in one transaction; a larger single batch goes alone. */
  readonly maxGroupObservations: number;
  /** Most batches waiting; past it `submit` answers `overloaded`. */
  readonly maxQueueBatches: number;
  /** Most records waiting; a single batch is always accepted into an empty queue. */
  readonly maxQueueObservations: number;
}

/**
 * Defaults. A group of 128 batches or 50,000 records commits in well under a second on a slow
 * disk, which bounds the latency it adds; 4,096 waiting batches is one in flight from each sniffer
 * of a 4,096-node cluster, and 400,000 waiting records (about 100 MiB parsed) bounds the memory.
 */
export const DEFAULT_GROUP_COMMIT_LIMITS: GroupCommitLimits = {
  maxGroupBatches: 128,
  maxGroupObservations: 50_000,
  maxQueueBatches: 4096,
  maxQueueObservations: 400_000,
};

/** The outcome of submitting a batch: the ingest result, or refused because the queue is full. */
export type GroupCommitResult =
  IngestResult | { readonly ok: false; readonly reason: 'overloaded'; readonly message: string };

/** Dependencies of the group committer. */
export interface GroupCommitOptions {
  readonly store: GraphStore;
  readonly ingest: Pick<IngestService, 'prepare'>;
  readonly metrics?: MapperMetrics;
  readonly limits?: Partial<GroupCommitLimits>;
  /** Runs the flush later; default setImmediate (after the I/O that is ready has been read). */
  readonly schedule?: (flush: () => void) => void;
}

/** Queues batches and writes them in group commits. */
export interface GroupCommitter {
  /**
   * Checks the batch at once (refusals and known duplicates settle without waiting), queues it,
   * and settles after the commit that holds it. Rejects with the store's error when its savepoint
   * or its group's transaction failed.
   */
  submit(batch: ReportBatch): Promise<GroupCommitResult>;
  /** Writes everything queued now, group by group (at shutdown, before the database closes). */
  drain(): void;
  /** Batches and records waiting. */
  queued(): { readonly batches: number; readonly observations: number };
}

interface Waiting {
  readonly batch: PreparedBatch;
  readonly resolve: (r: GroupCommitResult) => void;
  readonly reject: (err: unknown) => void;
}

type Outcome =
  { readonly ok: true; readonly applied: boolean } | { readonly ok: false; readonly error: unknown };

/** Creates a group committer over a store. */
export function createGroupCommitter(options: GroupCommitOptions): GroupCommitter {
  const { store, ingest, metrics } = options;
  const limits: GroupCommitLimits = { ...DEFAULT_GROUP_COMMIT_LIMITS, ...options.limits };
  const schedule = options.schedule ?? ((flush: () => void) => void setImmediate(flush));
  const queue: Waiting[] = [];
  let queuedObservations = 0;
  let scheduled = false;

  /** Takes the next group off the queue: at least one batch, then as many as the bounds allow. */
  const takeGroup = (): Waiting[] => {
    let n = 0;
    let observations = 0;
    while (n < queue.length && n < limits.maxGroupBatches) {
      const next = (queue[n] as Waiting).batch.observations;
      if (n > 0 && observations + next > limits.maxGroupObservations) break;
      observations += next;
      n++;
    }
    queuedObservations -= observations;
    const group = queue.splice(0, n);
    metrics?.ingestQueue.set(queue.length);
    return group;
  };

  const commitGroup = (group: readonly Waiting[]): void => {
    const outcomes: Outcome[] = [];
    const end = metrics?.commitSeconds.startTimer();
    try {
      store.transaction(() => {
        for (const w of group) {
          try {
            outcomes.push({ ok: true, applied: w.batch.write() });
          } catch (error) {
            // SQLite rolls the whole transaction back on some errors (SQLITE_FULL, IOERR, BUSY,
            // NOMEM: https://sqlite.org/lang_transaction.html "Response To Errors Within A
            // Transaction"). Then the earlier batches are gone too, and a later applyBatch would
            // start a transaction of its own: fail the whole group with this error instead.
            if (!store.db.inTransaction) throw error;
            outcomes.push({ ok: false, error });
          }
        }
      });
    } catch (error) {
      end?.();
      for (const w of group) w.reject(error);
      return;
    }
    end?.();
    // Batches written (applied or found applied), not those that failed in their savepoint.
    metrics?.commitBatches.observe(outcomes.filter((o) => o.ok).length);
    group.forEach((w, i) => {
      const o = outcomes[i] as Outcome;
      if (!o.ok) {
        w.reject(o.error);
        return;
      }
      w.batch.countCommitted();
      w.resolve({
        ok: true,
        ack: { reporter: w.batch.reporter, sequence: w.batch.sequence, applied: o.applied },
        clamped: w.batch.clamped,
      });
    });
  };

  const flushOne = (): void => {
    scheduled = false;
    const group = takeGroup();
    if (group.length > 0) commitGroup(group);
    // One group per turn of the event loop: the answers go out and more requests are read in between.
    if (queue.length > 0 && !scheduled) {
      scheduled = true;
      schedule(flushOne);
    }
  };

  return {
    submit(input) {
      const p = ingest.prepare(input);
      if (!p.ok) return Promise.resolve(p);
      if (p.kind === 'duplicate') return Promise.resolve(p.result);
      const batch = p.batch;
      if (
        queue.length > 0 &&
        (queue.length + 1 > limits.maxQueueBatches ||
          queuedObservations + batch.observations > limits.maxQueueObservations)
      ) {
        return Promise.resolve({
          ok: false,
          reason: 'overloaded',
          message: `the ingest queue is full (${queue.length} batches, ${queuedObservations} records waiting for a commit; limits ${limits.maxQueueBatches} and ${limits.maxQueueObservations}); retry the batch later`,
        });
      }
      return new Promise<GroupCommitResult>((resolve, reject) => {
        queue.push({ batch, resolve, reject });
        queuedObservations += batch.observations;
        metrics?.ingestQueue.set(queue.length);
        if (!scheduled) {
          scheduled = true;
          schedule(flushOne);
        }
      });
    },
    drain() {
      while (queue.length > 0) commitGroup(takeGroup());
    },
    queued: () => ({ batches: queue.length, observations: queuedObservations }),
  };
}

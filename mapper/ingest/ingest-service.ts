// The ingest use case: guard the clock, skip known duplicates early, resolve, and apply at most once
// per (reporter, sequence). The HTTP handler and the offline importer both go through here; time and
// the resolver are injected. `ingest` applies one batch in its own transaction (the importer);
// `prepare` + `PreparedBatch.write` let a caller apply several batches in one outer transaction,
// each in its own savepoint (the HTTP API's group commit, group-commit.ts).
import type { ReportAck, ReportBatch } from '../api/wire.js';
import type { MapperMetrics } from '../metrics.js';
import type { GraphStore } from '../store/index.js';
import { applyResolvedReport } from './apply.js';
import { DEFAULT_CLOCK_GUARD, guardBatchClock, type ClockGuardOptions } from './clock-guard.js';
import type { ResolvedReport } from './resolved.js';

/** Resolves a (clock-guarded) batch's IPs to identities at each record's own time. */
export type ReportResolver = (batch: ReportBatch) => ResolvedReport;

/** Why a batch is refused before anything is written; each maps to an API error code. */
export type IngestRefusal = 'clock-skew' | 'cluster-state-behind';

/** The outcome of ingesting one batch. */
export type IngestResult =
  | { readonly ok: true; readonly ack: ReportAck; readonly clamped: number }
  | { readonly ok: false; readonly reason: IngestRefusal; readonly message: string };

/**
 * A batch that passed the checks and is waiting to be written. `write` resolves it and applies it
 * at most once (GraphStore.applyBatch: a savepoint when the caller holds a transaction), and throws
 * what the store throws; `countCommitted` counts its records in the metrics, and must be called
 * only once the transaction holding the write has committed.
 */
export interface PreparedBatch {
  readonly reporter: string;
  readonly sequence: number;
  /** Records in the batch (connections + DNS): what bounds a group commit. */
  readonly observations: number;
  /** Records whose timestamps the clock guard clamped. */
  readonly clamped: number;
  /** Resolves and writes the batch; false when this (reporter, sequence) was applied before. */
  write(): boolean;
  /** Counts what `write` applied (observations, resolution outcomes, ignored rows). */
  countCommitted(): void;
}

/** What `prepare` decided: refused, already applied (answer at once), or to be written. */
export type PrepareResult =
  | Exclude<IngestResult, { readonly ok: true }>
  | { readonly ok: true; readonly kind: 'duplicate'; readonly result: IngestResult & { readonly ok: true } }
  | { readonly ok: true; readonly kind: 'ready'; readonly batch: PreparedBatch };

/** Ingests report batches into a store. */
export interface IngestService {
  /** Checks, resolves and applies one batch in its own transaction. */
  ingest(batch: ReportBatch): IngestResult;
  /** Checks one batch (clock guard, known duplicate, cluster state) without writing anything. */
  prepare(batch: ReportBatch): PrepareResult;
}

/** Dependencies of the ingest service. */
export interface IngestServiceOptions {
  readonly store: GraphStore;
  readonly resolve: ReportResolver;
  readonly now: () => number;
  readonly metrics?: MapperMetrics;
  readonly clockGuard?: ClockGuardOptions;
  /**
   * Whether the cluster state is known to be complete for observations made at `atMs`. A batch
   * with a record the state cannot vouch for yet (the Kubernetes watch is down, so a pod deleted
   * meanwhile and its IP reused are unknown) is refused for a retry rather than misattributed.
   */
  readonly isStateCurrentAt?: (atMs: number) => boolean;
  /** Namespaces left out of the graph: edges with a client or server in them, and their clients' DNS rows. */
  readonly ignoreNamespaces?: readonly string[];
}

/**
 * Removes socket-scan edges between two external addresses. The /proc scan reads every network
 * namespace on the node, the host's own included; a connection of a host process to the outside
 * (neither end a pod, Service or node of the cluster) says nothing about the cluster's workloads.
 * Packet-derived edges are kept whatever their parties. Counted as
 * intentmap_ingest_ignored_total{kind="host-only"}.
 */
export function withoutHostOnlySockets(report: ResolvedReport): {
  readonly report: ResolvedReport;
  readonly dropped: number;
} {
  const edges = report.edges.filter(
    (e) => e.source !== 'socket-scan' || e.client.kind !== 'external' || e.server.kind !== 'external',
  );
  const dropped = report.edges.length - edges.length;
  return dropped === 0 ? { report, dropped } : { report: { ...report, edges }, dropped };
}

/**
 * Removes what involves an ignored namespace (an explicit choice of the operator, counted in
 * metrics, never silent). Returns the report unchanged when nothing is ignored.
 */
export function withoutIgnoredNamespaces(
  report: ResolvedReport,
  ignored: ReadonlySet<string>,
): { readonly report: ResolvedReport; readonly edges: number; readonly dns: number } {
  if (ignored.size === 0) return { report, edges: 0, dns: 0 };
  const edges = report.edges.filter(
    (e) =>
      !ignored.has(e.client.namespace) &&
      !ignored.has(e.server.namespace) &&
      (e.via === null || !ignored.has(e.via.namespace)),
  );
  const dns = report.dns.filter((d) => !ignored.has(d.client.namespace));
  return {
    report: { ...report, edges, dns },
    edges: report.edges.length - edges.length,
    dns: report.dns.length - dns.length,
  };
}

/** Creates the ingest service. */
export function createIngestService(options: IngestServiceOptions): IngestService {
  const { store, resolve, now, metrics } = options;
  const clockGuard = options.clockGuard ?? DEFAULT_CLOCK_GUARD;
  const ignored = new Set(options.ignoreNamespaces ?? []);

  const prepare = (input: ReportBatch): PrepareResult => {
    const receivedAt = now();
    const guarded = guardBatchClock(input, receivedAt, clockGuard);
    if (!guarded.ok) {
      metrics?.clockSkew.inc({ action: 'refused' });
      return { ok: false, reason: 'clock-skew', message: guarded.message };
    }
    if (guarded.clamped > 0) metrics?.clockSkew.inc({ action: 'clamped' }, guarded.clamped);
    const batch = guarded.batch;
    const { reporter, sequence } = batch;
    const clamped = guarded.clamped;
    // Cheap early exit for re-sent batches; applyBatch checks again inside its transaction (which
    // is what catches two copies of one batch waiting for the same group commit).
    if (store.hasBatch(reporter, sequence))
      return {
        ok: true,
        kind: 'duplicate',
        result: { ok: true, ack: { reporter, sequence, applied: false }, clamped },
      };
    if (options.isStateCurrentAt !== undefined) {
      const latest = latestRecordMs(batch);
      if (latest !== null && !options.isStateCurrentAt(latest)) {
        return {
          ok: false,
          reason: 'cluster-state-behind',
          message: `the mapper's view of the cluster is behind this batch (records up to ${new Date(latest).toISOString()}; the Kubernetes watch is not current); retry later`,
        };
      }
    }
    let count: (() => void) | null = null;
    return {
      ok: true,
      kind: 'ready',
      batch: {
        reporter,
        sequence,
        observations: batch.connections.length + batch.dns.length,
        clamped,
        write() {
          const end = metrics?.applySeconds.startTimer();
          const clusterOnly = withoutHostOnlySockets(resolve(batch));
          const kept = withoutIgnoredNamespaces(clusterOnly.report, ignored);
          const report = kept.report;
          const r = applyResolvedReport(store, { reporter, sequence, receivedAt }, report);
          end?.();
          if (r.applied && metrics !== undefined) {
            // Numbers only: the resolved report is not kept alive until the group commits.
            const connections = batch.connections.length;
            const dnsRecords = batch.dns.length;
            const { resolved, external, unresolved } = report.outcomes;
            const ignoredEdges = kept.edges;
            const ignoredDns = kept.dns;
            const hostOnly = clusterOnly.dropped;
            count = () => {
              metrics.ingestObservations.inc({ kind: 'connection' }, connections);
              metrics.ingestObservations.inc({ kind: 'dns' }, dnsRecords);
              metrics.resolutionOutcomes.inc({ outcome: 'resolved' }, resolved);
              metrics.resolutionOutcomes.inc({ outcome: 'external' }, external);
              metrics.resolutionOutcomes.inc({ outcome: 'unresolved' }, unresolved);
              if (ignoredEdges > 0) metrics.ignored.inc({ kind: 'edge' }, ignoredEdges);
              if (ignoredDns > 0) metrics.ignored.inc({ kind: 'dns' }, ignoredDns);
              if (hostOnly > 0) metrics.ignored.inc({ kind: 'host-only' }, hostOnly);
            };
          } else count = null;
          return r.applied;
        },
        countCommitted() {
          count?.();
          count = null;
        },
      },
    };
  };

  return {
    prepare,
    ingest(input) {
      const p = prepare(input);
      if (!p.ok) return p;
      if (p.kind === 'duplicate') return p.result;
      const b = p.batch;
      const applied = b.write(); // its own transaction: committed when it returns
      b.countCommitted();
      return { ok: true, ack: { reporter: b.reporter, sequence: b.sequence, applied }, clamped: b.clamped };
    },
  };
}

/** The latest time at which a record of the batch is resolved (its firstSeen), or null when empty. */
function latestRecordMs(batch: ReportBatch): number | null {
  let latest: number | null = null;
  for (const c of batch.connections) if (latest === null || c.firstSeen > latest) latest = c.firstSeen;
  for (const d of batch.dns) if (latest === null || d.firstSeen > latest) latest = d.firstSeen;
  return latest;
}

// The mapper's Prometheus metrics, in one registry per process (tests build their own). Names
// follow the Prometheus conventions: a unit suffix, `_total` on counters.
import { statSync } from 'node:fs';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Ingest outcomes counted by intentmap_ingest_batches_total. */
export const INGEST_OUTCOMES = [
  'applied',
  'duplicate',
  'unauthorized',
  'forbidden',
  'too_large',
  'malformed',
  'invalid',
  'clock_skew',
  'cluster_state_behind',
  'store_error',
  'shutting_down',
  'overloaded',
] as const;
/** An ingest outcome label. */
export type IngestOutcome = (typeof INGEST_OUTCOMES)[number];

/** What the live cluster watch shows at scrape time (see MapperMetrics.observeClusterProgress). */
export interface ClusterProgressSample {
  /** Seconds from the time through which the state is proven current to now (+Inf before the first proof). */
  readonly lagSeconds: number;
  /** Per watched resource: progress probes sent and failed, and resourceVersions that could not be compared. */
  readonly resources: readonly {
    readonly resource: string;
    readonly probes: number;
    readonly probeErrors: number;
    readonly unparsableResourceVersions: number;
    /** Comparison lists of an idle resource with the informer's cache, by outcome (mapper/kube/idle-proof.ts). */
    readonly idleProofs?: Readonly<Record<'proven' | 'behind' | 'too_large' | 'failed', number>>;
    /** Matched comparisons that a later watch event showed premature (mapper/kube/idle-proof.ts). */
    readonly idleProofContradictions?: number;
  }[];
}

/** The mapper's metrics. */
export interface MapperMetrics {
  readonly registry: Registry;
  readonly ingestBatches: Counter<'outcome'>;
  readonly ingestObservations: Counter<'kind'>;
  readonly resolutionOutcomes: Counter<'outcome'>;
  readonly clockSkew: Counter<'action'>;
  readonly ignored: Counter<'kind'>;
  readonly applySeconds: Histogram;
  /** Batches written per group commit (mapper/ingest/group-commit.ts). */
  readonly commitBatches: Histogram;
  /** Time of one group commit, BEGIN to COMMIT. */
  readonly commitSeconds: Histogram;
  /** Batches waiting for a group commit. */
  readonly ingestQueue: Gauge;
  readonly requestSeconds: Histogram<'method' | 'route' | 'status'>;
  readonly watchRestarts: Counter;
  readonly retentionDeleted: Counter<'table'>;
  /** Sets where the cluster-progress metrics are read at scrape time (the live cluster source calls it). */
  observeClusterProgress(source: () => ClusterProgressSample): void;
}

/** Options for createMetrics. */
export interface MetricsOptions {
  /** The database file, for intentmap_store_size_bytes (the file plus its -wal). */
  readonly dbFile?: string;
  /** Row counts for intentmap_store_rows, read at scrape time. */
  readonly rowCounts?: () => Readonly<Record<string, number>>;
  /** Also collect the Node.js process metrics (off in tests, which build many registries). */
  readonly processMetrics?: boolean;
}

/** Creates the metrics in a fresh registry. */
export function createMetrics(options: MetricsOptions = {}): MapperMetrics {
  const registry = new Registry();
  if (options.processMetrics === true) collectDefaultMetrics({ register: registry, prefix: 'intentmap_' });
  const registers = [registry];
  const ingestBatches = new Counter({
    name: 'intentmap_ingest_batches_total',
    help: 'Report batches received, by outcome.',
    labelNames: ['outcome'],
    registers,
  });
  for (const o of INGEST_OUTCOMES) ingestBatches.inc({ outcome: o }, 0);
  const ingestObservations = new Counter({
    name: 'intentmap_ingest_observations_total',
    help: 'Connection and DNS records applied from report batches.',
    labelNames: ['kind'],
    registers,
  });
  const resolutionOutcomes = new Counter({
    name: 'intentmap_resolution_outcomes_total',
    help: 'Addresses resolved to a known identity, to an external one, or to nothing known in the cluster CIDRs.',
    labelNames: ['outcome'],
    registers,
  });
  for (const o of ['resolved', 'external', 'unresolved']) resolutionOutcomes.inc({ outcome: o }, 0);
  const clockSkew = new Counter({
    name: 'intentmap_ingest_clock_skew_total',
    help: 'Batches refused, or records clamped, because their timestamps were out of range.',
    labelNames: ['action'],
    registers,
  });
  const ignored = new Counter({
    name: 'intentmap_ingest_ignored_total',
    help: 'Resolved edges and DNS rows left out: edge/dns for an ignored namespace (--ignore-namespaces), host-only for socket-scan connections with no cluster party.',
    labelNames: ['kind'],
    registers,
  });
  const applySeconds = new Histogram({
    name: 'intentmap_ingest_apply_seconds',
    help: 'Time to resolve and write one batch (in its own savepoint of a group commit).',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers,
  });
  const commitBatches = new Histogram({
    name: 'intentmap_ingest_commit_batches',
    help: 'Report batches written in one group commit (one SQLite transaction).',
    buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256],
    registers,
  });
  const commitSeconds = new Histogram({
    name: 'intentmap_ingest_commit_seconds',
    help: 'Time of one group commit, from BEGIN to COMMIT, its batches resolved and written included.',
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const ingestQueue = new Gauge({
    name: 'intentmap_ingest_queue_batches',
    help: 'Report batches received and waiting for a group commit.',
    registers,
  });
  const requestSeconds = new Histogram({
    name: 'intentmap_http_request_duration_seconds',
    help: 'HTTP request latency, by route.',
    labelNames: ['method', 'route', 'status'],
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers,
  });
  const watchRestarts = new Counter({
    name: 'intentmap_watch_restarts_total',
    help: 'Kubernetes watch restarts (dropped watches, 410 relists).',
    registers,
  });
  const retentionDeleted = new Counter({
    name: 'intentmap_retention_deleted_rows_total',
    help: 'Rows deleted by retention, by table.',
    labelNames: ['table'],
    registers,
  });
  let clusterProgress: (() => ClusterProgressSample) | null = null;
  new Gauge({
    name: 'intentmap_cluster_state_lag_seconds',
    help: 'How far behind now the cluster state is proven current (progress probes reached by the Kubernetes watch, or comparison lists of idle resources; only resources attribution reads count); records newer than this minus 2 s are deferred (503 cluster-state-behind).',
    registers,
    collect() {
      if (clusterProgress !== null) this.set(clusterProgress().lagSeconds);
    },
  });
  // Totals kept by the cluster watch, copied at scrape time (reset + inc sets a counter to a total
  // that only grows).
  new Counter({
    name: 'intentmap_watch_progress_probes_total',
    help: 'Kubernetes progress probes (limit=1 lists), by resource and outcome (sent, failed).',
    labelNames: ['resource', 'outcome'],
    registers,
    collect() {
      if (clusterProgress === null) return;
      this.reset();
      for (const r of clusterProgress().resources) {
        this.inc({ resource: r.resource, outcome: 'sent' }, r.probes);
        this.inc({ resource: r.resource, outcome: 'failed' }, r.probeErrors);
      }
    },
  });
  new Counter({
    name: 'intentmap_watch_idle_proofs_total',
    help: 'Comparison lists of a Kubernetes resource with the informer cache, sent when its progress probe waits (an idle resource reaches the moving revision only through bookmarks), by resource and outcome: proven (identical, current through the list), behind (the informer has changes to deliver), too_large (over --watch-idle-proof-max-objects; bookmarks prove it), failed.',
    labelNames: ['resource', 'outcome'],
    registers,
    collect() {
      if (clusterProgress === null) return;
      this.reset();
      for (const r of clusterProgress().resources) {
        if (r.idleProofs === undefined) continue;
        for (const [outcome, n] of Object.entries(r.idleProofs))
          this.inc({ resource: r.resource, outcome }, n);
      }
    },
  });
  new Counter({
    name: 'intentmap_watch_idle_proof_contradictions_total',
    help: 'Comparison lists that proved a Kubernetes resource current and were contradicted afterwards: the watch delivered a change committed before the list (an object created and deleted while the watch lagged; records ingested meanwhile were resolved without it). Comparisons of that resource then pause for 10 minutes.',
    labelNames: ['resource'],
    registers,
    collect() {
      if (clusterProgress === null) return;
      this.reset();
      for (const r of clusterProgress().resources)
        if (r.idleProofContradictions !== undefined)
          this.inc({ resource: r.resource }, r.idleProofContradictions);
    },
  });
  new Counter({
    name: 'intentmap_watch_unparsable_resource_versions_total',
    help: 'Kubernetes resourceVersions that are not decimal integers (KEP-5504), so no progress could be proven from them, by resource.',
    labelNames: ['resource'],
    registers,
    collect() {
      if (clusterProgress === null) return;
      this.reset();
      for (const r of clusterProgress().resources)
        this.inc({ resource: r.resource }, r.unparsableResourceVersions);
    },
  });
  const dbFile = options.dbFile;
  new Gauge({
    name: 'intentmap_store_size_bytes',
    help: 'Size of the SQLite database file plus its write-ahead log.',
    registers,
    collect() {
      if (dbFile === undefined) return;
      let size = 0;
      for (const f of [dbFile, `${dbFile}-wal`]) {
        try {
          size += statSync(f).size;
        } catch {
          // The -wal file does not exist after a checkpoint on close; that is size 0, not an error.
        }
      }
      this.set(size);
    },
  });
  const rowCounts = options.rowCounts;
  new Gauge({
    name: 'intentmap_store_rows',
    help: 'Rows in the main store tables.',
    labelNames: ['table'],
    registers,
    collect() {
      if (rowCounts === undefined) return;
      for (const [table, n] of Object.entries(rowCounts())) this.set({ table }, n);
    },
  });
  return {
    registry,
    ingestBatches,
    ingestObservations,
    resolutionOutcomes,
    clockSkew,
    ignored,
    applySeconds,
    commitBatches,
    commitSeconds,
    ingestQueue,
    requestSeconds,
    watchRestarts,
    retentionDeleted,
    observeClusterProgress(source) {
      clusterProgress = source;
    },
  };
}

// The mapper process's composition root: it reads the configuration, builds the adapters (SQLite
// store, cluster state, HTTP server, metrics, logger), injects them, and owns the lifecycle:
// graceful SIGTERM (stop accepting, finish the batches being applied, close the database) and the
// retention timer.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { createMapperApp, type ExtraRouter, type MapperApp } from './api/app.js';
import { FailedAuthLimiter } from './api/auth-limiter.js';
import { createAuthenticator, parseNodeTokens, type Authenticator } from './api/auth.js';
import { UserError } from './cli/errors.js';
import type { MapperConfig } from './config.js';
import { DEFAULT_CLOCK_GUARD } from './ingest/clock-guard.js';
import { createIngestService, type ReportResolver } from './ingest/ingest-service.js';
import { createMetrics, type MapperMetrics } from './metrics.js';
import { BATCH_DEDUPE_WINDOW_MS, pruneOldRows, vacuum } from './retention.js';
import { GraphStore, openDatabase, StoreError } from './store/index.js';

/** Cluster state as the mapper uses it: a resolver over the current (and past) cluster view. */
export interface ClusterSource {
  /** Resolves a batch's addresses at each record's own time. */
  readonly resolve: ReportResolver;
  /** True once the informers have synced (or the snapshot is loaded). */
  isSynced(): boolean;
  /** Whether cluster state is complete for observations made at `atMs` (default: always). */
  isCurrentAt?(atMs: number): boolean;
  /** Stops watching. */
  stop(): Promise<void>;
}

/** What a cluster source factory gets from the composition root. */
export interface ClusterContext {
  readonly config: MapperConfig;
  readonly logger: Logger;
  readonly metrics: MapperMetrics;
  readonly store: GraphStore;
  /** The shared API token (for routers that authenticate themselves), or null on an open loopback mapper. */
  readonly sharedToken: string | null;
  /** Wrong-token counts per client address, shared by the read API and routers that authenticate themselves. */
  readonly authLimiter: FailedAuthLimiter;
}

/** Builds the cluster source (informers, snapshot, ...); throws UserError when no cluster is reachable. */
export type ClusterSourceFactory = (ctx: ClusterContext) => Promise<ClusterSource>;

/** Injected pieces of the mapper process. */
export interface MapperDeps {
  readonly startCluster: ClusterSourceFactory;
  /** Routers other parts (the web UI) mount into the app. */
  readonly extraRouters?: (ctx: ClusterContext) => readonly ExtraRouter[];
  readonly now?: () => number;
  /** Where logs go (default stdout). */
  readonly logDestination?: NodeJS.WritableStream;
}

/** A running mapper. */
export interface RunningMapper {
  readonly url: string;
  readonly server: Server;
  readonly store: GraphStore;
  readonly metrics: MapperMetrics;
  readonly logger: Logger;
  /** Graceful stop: refuse new batches, finish in-flight ones, stop watching, close the database. */
  close(): Promise<void>;
}

const RETENTION_INTERVAL_MS = 3_600_000;

function readToken(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new UserError(
      `cannot read --token-file ${file} (${(err as NodeJS.ErrnoException).code ?? String(err)}). Create it, e.g. \`openssl rand -hex 32 > ${file}\`.`,
    );
  }
  if (text.length < 16 || /\s/.test(text)) {
    throw new UserError(
      `--token-file ${file} must hold one token of at least 16 characters without spaces (e.g. \`openssl rand -hex 32\`).`,
    );
  }
  return text;
}

function buildAuth(config: MapperConfig, sharedToken: string | null): Authenticator {
  let nodeTokens: Map<string, string> | undefined;
  if (config.nodeTokensFile !== null) {
    let text: string;
    try {
      text = readFileSync(config.nodeTokensFile, 'utf8');
    } catch (err) {
      throw new UserError(
        `cannot read --node-tokens-file ${config.nodeTokensFile} (${(err as NodeJS.ErrnoException).code ?? String(err)}).`,
      );
    }
    const parsed = parseNodeTokens(text);
    if (!parsed.ok) throw new UserError(`--node-tokens-file ${config.nodeTokensFile}: ${parsed.message}`);
    nodeTokens = parsed.value;
  }
  return createAuthenticator({ sharedToken, ...(nodeTokens === undefined ? {} : { nodeTokens }) });
}

/** Checks the database accepts a write lock (a read-only remount, a held lock, ...). */
function checkWritable(store: GraphStore): { ok: boolean; message: string } {
  try {
    store.db.prepare('BEGIN IMMEDIATE').run();
    store.db.prepare('ROLLBACK').run();
    return { ok: true, message: 'writable' };
  } catch (err) {
    return { ok: false, message: `database not writable: ${(err as Error).message}` };
  }
}

/** Starts the mapper: opens the store, starts the cluster source and the HTTP server. */
export async function startMapper(config: MapperConfig, deps: MapperDeps): Promise<RunningMapper> {
  const now = deps.now ?? Date.now;
  const logger = pino(
    { level: config.logLevel, base: { component: 'mapper' } },
    deps.logDestination ?? process.stdout,
  );
  const sharedToken = config.tokenFile === null ? null : readToken(config.tokenFile);
  const auth = buildAuth(config, sharedToken);
  if (!auth.required)
    logger.warn(
      { listen: config.listen },
      'no --token-file: accepting unauthenticated reports on the loopback address only',
    );

  let store: GraphStore;
  try {
    store = new GraphStore(openDatabase(config.db));
  } catch (err) {
    if (err instanceof StoreError) throw new UserError(err.message);
    throw err;
  }
  const metrics = createMetrics({
    dbFile: store.db.name,
    rowCounts: () => store.counts(),
    processMetrics: true,
  });
  const authLimiter = new FailedAuthLimiter();
  const ctx: ClusterContext = { config, logger, metrics, store, sharedToken, authLimiter };
  let cluster: ClusterSource;
  try {
    cluster = await deps.startCluster(ctx);
  } catch (err) {
    store.db.close();
    throw err;
  }

  const retentionAbort = new AbortController();
  const yieldBetween = (): Promise<void> => new Promise((r) => setImmediate(r));
  const runRetention = async (): Promise<void> => {
    const totals = await pruneOldRows(store.db, {
      cutoffMs: now() - config.retentionMs,
      batchCutoffMs: now() - Math.min(config.retentionMs, BATCH_DEDUPE_WINDOW_MS),
      yieldBetween,
      signal: retentionAbort.signal,
      onDeleted: (table, rows) => metrics.retentionDeleted.inc({ table }, rows),
    });
    logger.info({ deleted: totals, retentionDays: config.retentionMs / 86_400_000 }, 'retention pass done');
  };
  if (config.vacuum) {
    await runRetention();
    logger.info('VACUUM requested: rebuilding the database file');
    vacuum(store.db);
  }

  const ingest = createIngestService({
    store,
    resolve: cluster.resolve,
    now,
    metrics,
    ignoreNamespaces: config.ignoreNamespaces,
    ...(cluster.isCurrentAt !== undefined
      ? { isStateCurrentAt: (at: number) => cluster.isCurrentAt?.(at) ?? true }
      : {}),
    clockGuard: {
      ...DEFAULT_CLOCK_GUARD,
      maxFutureSkewMs: config.maxClockSkewMs,
      // Older batches are refused: their (reporter, sequence) record may already be pruned.
      maxBatchAgeMs: Math.min(config.retentionMs, BATCH_DEDUPE_WINDOW_MS),
    },
  });
  const extraRouters = deps.extraRouters?.(ctx) ?? [];
  const mapperApp: MapperApp = createMapperApp({
    store,
    ingest,
    auth,
    metrics,
    logger,
    now,
    readiness: () => ({
      cluster: cluster.isSynced()
        ? { ok: true, message: 'cluster state synced' }
        : { ok: false, message: 'waiting for the cluster state to sync' },
      database: checkWritable(store),
    }),
    extraRouters,
    authLimiter,
  });

  // Repeated graph reads whose answer is already computed skip express (see MapperApp.serveCached).
  const server = createServer((req, res) => {
    if (!mapperApp.serveCached(req, res)) void mapperApp.app(req, res);
  });
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      reject(
        new UserError(
          `cannot listen on ${config.listen.host}:${config.listen.port} (${err.code ?? err.message}). Choose another --listen.`,
        ),
      );
    });
    server.listen(config.listen.port, config.listen.host, () => resolve());
  }).catch(async (err: unknown) => {
    await cluster.stop();
    store.db.close();
    throw err;
  });
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  logger.info({ url, db: store.db.name, auth: auth.required }, 'mapper listening');

  const runRetentionLogged = (): void => {
    runRetention().catch((err: unknown) => logger.error({ err }, 'retention pass failed'));
  };
  if (!config.vacuum) runRetentionLogged();
  const retentionTimer = setInterval(runRetentionLogged, RETENTION_INTERVAL_MS);
  retentionTimer.unref();

  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      logger.info(
        { inFlight: mapperApp.inFlight() },
        'shutting down: refusing new batches, finishing in-flight ones',
      );
      mapperApp.beginShutdown();
      clearInterval(retentionTimer);
      retentionAbort.abort();
      for (const r of extraRouters) r.close?.();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const grace = setTimeout(() => {
        logger.warn('shutdown grace period over: closing the remaining connections');
        server.closeAllConnections();
      }, config.shutdownGraceMs);
      grace.unref();
      await closed;
      clearTimeout(grace);
      await cluster.stop();
      // A batch whose connection was cut at the end of the grace period may still wait for its
      // group commit: write it (its sniffer retries it, and the retry is applied as a duplicate).
      // Group commits are synchronous, so after this no transaction is open: closing checkpoints
      // the WAL into the file.
      mapperApp.drainIngest();
      store.db.close();
      logger.info('mapper stopped');
    })();
    return closing;
  };
  return { url, server, store, metrics, logger, close };
}

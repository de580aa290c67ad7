// The mapper's HTTP API (express 5): ingest (POST /api/v1/reports), the graph (GET /api/v1/graph),
// probes and metrics. Other parts (the web UI) mount their routers through `extraRouters`.
// Every error goes through one catalogue (errors.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import type { Logger } from 'pino';
import type { GraphStore } from '../store/index.js';
import {
  createGroupCommitter,
  type GroupCommitLimits,
  type GroupCommitResult,
} from '../ingest/group-commit.js';
import type { IngestService } from '../ingest/ingest-service.js';
import type { IngestOutcome, MapperMetrics } from '../metrics.js';
import type { Authenticator, Principal } from './auth.js';
import { clientKey, type FailedAuthLimiter } from './auth-limiter.js';
import { compareEdges, edgeToJson } from './edge-json.js';
import { ApiError, sendApiError, toApiError } from './errors.js';
import { GraphBodyCache, gzipOf, ifNoneMatchHits, type GraphBody } from './graph-body-cache.js';
import { parseGraphFilters } from './graph-query.js';
import { parseJsonBounded } from './json-guard.js';
import { parseReportBatch, WIRE_LIMITS } from './wire.js';

/** One readiness check. */
export interface ReadinessCheck {
  readonly ok: boolean;
  readonly message: string;
}

/** A router another part mounts into the mapper's app. */
export interface ExtraRouter {
  /** Mount path, e.g. '/' or '/ui'. */
  readonly path: string;
  readonly router: RequestHandler;
  /** Require the API token (default false: the router does its own access control). */
  readonly requireAuth?: boolean;
  /** Called when the mapper shuts down, before it waits for connections to end (e.g. to end live streams). */
  readonly close?: () => void;
  /**
   * Answers a request it has a ready answer for straight from node:http and returns true, or
   * returns false without touching the response (see MapperApp.serveCached).
   */
  readonly serveCached?: (req: IncomingMessage, res: ServerResponse) => boolean;
}

/** Dependencies of the mapper app. */
export interface MapperAppOptions {
  readonly store: GraphStore;
  readonly ingest: IngestService;
  readonly auth: Authenticator;
  readonly metrics: MapperMetrics;
  readonly logger: Logger;
  readonly now: () => number;
  /** Named readiness checks, e.g. cluster state synced, database writable. */
  readonly readiness: () => Readonly<Record<string, ReadinessCheck>>;
  readonly extraRouters?: readonly ExtraRouter[];
  /** Counts wrong tokens per client address on the read routes and answers 429 beyond its limit (default: none). */
  readonly authLimiter?: FailedAuthLimiter;
  /** Largest request body in bytes (default WIRE_LIMITS.maxBodyBytes). */
  readonly maxBodyBytes?: number;
  /** Bounds of a group commit and of its queue (default DEFAULT_GROUP_COMMIT_LIMITS). */
  readonly groupCommit?: Partial<GroupCommitLimits>;
  /** Runs a group commit later (default setImmediate); tests hold it to fill a group. */
  readonly scheduleCommit?: (flush: () => void) => void;
}

/** The app plus the switches the composition root needs for a graceful shutdown. */
export interface MapperApp {
  readonly app: express.Express;
  /**
   * The HTTP server's first stop: answers repeated reads whose answer is already computed for the
   * store's generation (`GET /api/v1/graph` without relative times, the UI's graph views) straight
   * from node:http, and returns true; returns false for everything else, which goes to `app`.
   * Express costs ~0.15 ms of CPU per request on its own, more than such an answer (bench/web).
   */
  serveCached(req: IncomingMessage, res: ServerResponse): boolean;
  /** Refuse new ingest requests with 503 shutting-down (in-flight ones finish). */
  beginShutdown(): void;
  /** Ingest requests received and not yet answered. */
  inFlight(): number;
  /** Batches parsed and waiting for their group commit. */
  queuedBatches(): number;
  /** Writes every batch still waiting for a group commit (before the database closes). */
  drainIngest(): void;
}

type Locals = { principal?: Principal };

/** Builds the express app. */
export function createMapperApp(options: MapperAppOptions): MapperApp {
  const { store, ingest, auth, metrics, logger, now } = options;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  let shuttingDown = false;
  let inFlight = 0;
  const committer = createGroupCommitter({
    store,
    ingest,
    metrics,
    ...(options.groupCommit !== undefined ? { limits: options.groupCommit } : {}),
    ...(options.scheduleCommit !== undefined ? { schedule: options.scheduleCommit } : {}),
  });

  app.use((req, res, next) => {
    const end = metrics.requestSeconds.startTimer();
    res.on('finish', () => {
      const route = (req.route as { path?: string } | undefined)?.path;
      end({
        method: req.method,
        route: route === undefined ? 'other' : `${req.baseUrl}${route}`,
        status: String(res.statusCode),
      });
    });
    next();
  });

  const requireAuth: RequestHandler = (req, res, next) => {
    const r = auth.authenticate(req.get('authorization'));
    if (!r.ok) {
      throw new ApiError(
        r.code,
        r.code === 'missing-token'
          ? 'missing "Authorization: Bearer <token>" header; use the token from the mapper\'s --token-file'
          : "the bearer token does not match; use the token from the mapper's --token-file (or this node's entry in --node-tokens-file)",
      );
    }
    (res.locals as Locals).principal = r.principal;
    next();
  };

  // Reads share the web UI's failed-token count (one token, one count per address). Ingest does
  // not: a sniffer treats a 4xx as "drop this batch", and sniffers behind one proxy share an address.
  const limiter = options.authLimiter;
  const requireReadAuth: RequestHandler = (req, res, next) => {
    if (limiter !== undefined) {
      const key = clientKey(req.socket.remoteAddress);
      const state = limiter.check(key, now());
      if (state.blocked) {
        res.setHeader('Retry-After', String(state.retryAfterSeconds));
        throw new ApiError(
          'too-many-attempts',
          `too many failed sign-ins from this address; try again in ${state.retryAfterSeconds} s`,
        );
      }
      if (auth.authenticate(req.get('authorization')).ok === false && req.get('authorization') !== undefined)
        limiter.fail(key, now());
    }
    requireAuth(req, res, next);
  };

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', (_req, res) => {
    const checks = options.readiness();
    const ready = !shuttingDown && Object.values(checks).every((c) => c.ok);
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not-ready', shuttingDown, checks });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', metrics.registry.contentType);
    res.send(await metrics.registry.metrics());
  });

  const countOutcome = (outcome: IngestOutcome): void => metrics.ingestBatches.inc({ outcome });
  const maxBodyBytes = options.maxBodyBytes ?? WIRE_LIMITS.maxBodyBytes;
  const rawBody = express.raw({ type: () => true, limit: maxBodyBytes });

  app.post(
    '/api/v1/reports',
    (_req, _res, next) => {
      if (shuttingDown) {
        countOutcome('shutting_down');
        throw new ApiError('shutting-down', 'the mapper is shutting down; retry the batch later');
      }
      next();
    },
    (req, res, next) => {
      try {
        requireAuth(req, res, next);
      } catch (err) {
        countOutcome('unauthorized');
        throw err;
      }
    },
    (req, _res, next) => {
      const type = req.get('content-type') ?? '';
      if (!/^application\/json\b/i.test(type)) {
        countOutcome('invalid');
        throw new ApiError('unsupported-media-type', `Content-Type must be application/json, not "${type}"`);
      }
      next();
    },
    (req, res, next) => {
      inFlight++;
      res.on('close', () => inFlight--);
      rawBody(req, res, (err?: unknown) => {
        if (err !== undefined)
          countOutcome((err as { type?: string }).type === 'entity.too.large' ? 'too_large' : 'malformed');
        next(err);
      });
    },
    async (req, res) => {
      const body = req.body as unknown;
      // Let go of the raw body now: the parsed batch may wait for its group commit, and whatever
      // it still references then survives young-generation GCs and is promoted.
      req.body = undefined;
      const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
      const parsed = parseJsonBounded(text);
      if (!parsed.ok) {
        countOutcome('malformed');
        throw new ApiError(parsed.reason === 'too-deep' ? 'json-too-deep' : 'malformed-json', parsed.message);
      }
      const batch = parseReportBatch(parsed.value);
      if (!batch.ok) {
        countOutcome('invalid');
        throw new ApiError('invalid-batch', batch.message);
      }
      const principal = (res.locals as Locals).principal;
      if (principal?.kind === 'node' && principal.node !== batch.value.reporter) {
        countOutcome('forbidden');
        logger.warn(
          { node: principal.node, reporter: batch.value.reporter },
          'a node token was used to report as another node',
        );
        throw new ApiError(
          'reporter-mismatch',
          `this token belongs to node "${principal.node}" and cannot report as "${batch.value.reporter}"`,
        );
      }
      let result: GroupCommitResult;
      try {
        result = await committer.submit(batch.value);
      } catch (err) {
        countOutcome('store_error');
        logger.error(
          { err, reporter: batch.value.reporter, sequence: batch.value.sequence },
          'applying a batch failed',
        );
        throw err;
      }
      if (!result.ok) {
        countOutcome(OUTCOME_OF_REFUSAL[result.reason]);
        // Deferring a batch until the cluster state is proven current is routine (a fresh batch
        // waits for a progress probe, mapper/kube/watch-progress.ts), so it is not a warning: the
        // outcome counter and intentmap_cluster_state_lag_seconds show it.
        const log = result.reason === 'cluster-state-behind' ? logger.debug : logger.warn;
        log.call(logger, { reporter: batch.value.reporter, sequence: batch.value.sequence }, result.message);
        throw new ApiError(result.reason, result.message);
      }
      countOutcome(result.ack.applied ? 'applied' : 'duplicate');
      logger.debug(
        {
          reporter: result.ack.reporter,
          sequence: result.ack.sequence,
          applied: result.ack.applied,
          clamped: result.clamped,
        },
        'batch ingested',
      );
      // Settled after the COMMIT of its group: only now may the sniffer drop its copy.
      res.status(result.ack.applied ? 201 : 200).json(result.ack);
    },
  );

  const graphBodies = new GraphBodyCache();
  const queryOf = (url: string): string => {
    const q = url.indexOf('?');
    return q < 0 ? '' : url.slice(q + 1);
  };
  // Straight to node:http (no express send(): the ETag, encoding and length are known).
  const sendGraphBody = (req: IncomingMessage, res: ServerResponse, hit: GraphBody): void => {
    res.setHeader('ETag', hit.etag);
    res.setHeader('Vary', 'Accept-Encoding');
    if (ifNoneMatchHits(req.headers['if-none-match'], hit.etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    let body = hit.body;
    if (/\bgzip\b/.test(req.headers['accept-encoding'] ?? '')) {
      res.setHeader('Content-Encoding', 'gzip');
      body = gzipOf(hit);
    }
    res.setHeader('Content-Length', body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  app.get('/api/v1/graph', requireReadAuth, (req, res) => {
    const q = req.query as Record<string, unknown>;
    const str = (k: string): string | undefined => {
      const v = q[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string') throw new ApiError('invalid-query', `${k}: give it once, as a single value`);
      return v;
    };
    const filters = parseGraphFilters(
      {
        namespace: str('namespace'),
        workload: str('workload'),
        since: str('since'),
        until: str('until'),
        limit: str('limit'),
      },
      now(),
    );
    if (!filters.ok) throw new ApiError('invalid-query', filters.message);
    // Relative times are already resolved to instants here, so the key is exact.
    const generation = store.generation();
    const key = JSON.stringify(filters.value);
    let hit = graphBodies.get(generation, key);
    if (hit === undefined) {
      const edges = store.queryEdges(filters.value).sort(compareEdges);
      hit = graphBodies.set(generation, key, Buffer.from(JSON.stringify({ edges: edges.map(edgeToJson) })));
    }
    const rawQuery = queryOf(req.url);
    if (!/(^|&)(since|until)=/.test(rawQuery)) graphBodies.alias(generation, rawQuery, hit);
    sendGraphBody(req, res, hit);
  });

  for (const extra of options.extraRouters ?? []) {
    if (extra.requireAuth === true) app.use(extra.path, requireAuth, extra.router);
    else app.use(extra.path, extra.router);
  }

  app.use((req) => {
    throw new ApiError('not-found', `no route for ${req.method} ${req.path}`);
  });
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const apiErr = toApiError(err);
    if (apiErr.code === 'internal')
      logger.error({ err, method: req.method, path: req.path }, 'request failed');
    if (res.headersSent) {
      res.end();
      return;
    }
    sendApiError(res, apiErr);
  });

  const isPath = (url: string, path: string): boolean =>
    url.startsWith(path) && (url.length === path.length || url[path.length] === '?');
  const serveCached = (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const url = req.url ?? '';
    const end = metrics.requestSeconds.startTimer();
    let route: string | null = null;
    if (isPath(url, '/api/v1/graph')) {
      if (limiter?.check(clientKey(req.socket.remoteAddress), now()).blocked === true) return false; // 429
      if (!auth.authenticate(req.headers.authorization).ok) return false; // The app answers 401.
      const hit = graphBodies.getRaw(store.generation(), queryOf(url));
      if (hit === undefined) return false;
      sendGraphBody(req, res, hit);
      route = '/api/v1/graph';
    } else {
      for (const extra of options.extraRouters ?? []) {
        if (extra.serveCached?.(req, res) === true) {
          route = url.slice(0, url.indexOf('?') < 0 ? url.length : url.indexOf('?'));
          break;
        }
      }
    }
    if (route === null) return false;
    end({ method: req.method, route, status: String(res.statusCode) });
    return true;
  };

  return {
    app,
    serveCached,
    beginShutdown() {
      shuttingDown = true;
    },
    inFlight: () => inFlight,
    queuedBatches: () => committer.queued().batches,
    drainIngest: () => committer.drain(),
  };
}

const OUTCOME_OF_REFUSAL: Readonly<
  Record<Exclude<GroupCommitResult, { ok: true }>['reason'], IngestOutcome>
> = {
  'clock-skew': 'clock_skew',
  'cluster-state-behind': 'cluster_state_behind',
  overloaded: 'overloaded',
};

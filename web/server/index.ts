// The web explorer's express router: the login page, the app shell, its static assets, and the
// UI's JSON API under /ui/api. The mapper mounts it at `/` beside its own /api/v1 routes.
import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import helmet from 'helmet';
import { ApiError, sendApiError, toApiError } from '../../mapper/api/errors.js';
import { ifNoneMatchHits } from '../../mapper/api/graph-body-cache.js';
import type { GraphStore } from '../../mapper/store/graph-store.js';
import { DEFAULT_NODE_BUDGET, decodeFilter, describeFilterError, type ViewFilter } from '../shared/view.js';
import { storeReportProvider, suggestedIntentsProvider } from './adapters.js';
import {
  SESSION_COOKIE,
  WebAuth,
  clearedSessionCookie,
  isSafeNext,
  sessionCookie,
  type WebAuthOptions,
} from './auth.js';
import { FailedAuthLimiter, clientKey } from '../../mapper/api/auth-limiter.js';
import { LiveHub, type LiveOptions } from './live.js';
import { renderAppPage, renderLoginPage, renderNotBuiltPage } from './pages.js';
import type { IntentsProvider, ReportProvider } from './providers.js';
import { WINDOW_CACHE_MS, WebGraphService } from './service.js';
import { writeZip } from './zip.js';
import { RawResponseCache, applyHeaderOps, recordHeaderOps, type CachedBody } from './http-fast.js';

export { isLoopbackHost } from './auth.js';
export { storeReportProvider, suggestedIntentsProvider } from './adapters.js';
export type { WebAuthOptions } from './auth.js';
export { FailedAuthLimiter, type AuthLimitOptions } from '../../mapper/api/auth-limiter.js';
export type { IntentsProvider, ReportProvider, ReportVerdicts, PolicyDecision } from './providers.js';
export type { LiveOptions } from './live.js';

/** What the mapper passes to createWebRouter. */
export interface WebDeps {
  /** The graph store (read only). */
  readonly store: GraphStore;
  /** Token and anonymous access rules. */
  readonly auth: WebAuthOptions;
  /** The clock, epoch ms (time windows, sessions). */
  readonly now: () => number;
  /**
   * Suggested ClientIntents (issue 6). Default: mapper/intents over the store
   * (suggestedIntentsProvider); null: the panel says "not available".
   */
  readonly intents?: IntentsProvider | null;
  /**
   * The safe-to-enforce report (issue 6). Default: mapper/report over the store with the suggested
   * intents as the candidate (storeReportProvider); null: verdicts and the report say "not available".
   */
  readonly report?: ReportProvider | null;
  /** Live update settings. */
  readonly live?: LiveOptions;
  /** Node budget above which namespaces start collapsed (default 250). */
  readonly nodeBudget?: number;
  /** Folder of the built browser bundle (default: dist/web/public of this package). */
  readonly assetsDir?: string;
  /** The URL sniffers report to, shown in the empty state (default: this request's origin). */
  readonly mapperUrl?: string;
  /**
   * Failed-token limiting per client address (default: a FailedAuthLimiter of its own, 10 wrong
   * tokens per 5 minutes). The mapper passes the one its /api/v1 routes share: one token, one count.
   */
  readonly authLimiter?: FailedAuthLimiter;
  /** Where unexpected errors are reported (the mapper passes its logger); default console.error. */
  readonly logError?: (message: string, err: unknown) => void;
}

/** The router plus a handle to end live streams on shutdown, and its node:http fast path. */
export type WebRouter = Router & {
  readonly closeWeb: () => void;
  /**
   * Answers a request for an already computed graph view (the UI's most repeated request) without
   * going through express, and returns true; returns false, touching nothing, for anything else
   * (other routes, cache misses, failed auth), which the caller then hands to the express app.
   * The mapper's HTTP server calls it first: express costs ~0.1 ms of CPU per request on its own.
   */
  readonly serveCached: (req: IncomingMessage, res: ServerResponse) => boolean;
};

type AuthDecision =
  | { readonly kind: 'ok' | 'missing' | 'invalid' }
  | { readonly kind: 'blocked'; readonly retryAfterSeconds: number };

/** The path the fast path answers (mounted at `/`). */
const GRAPH_PATH = '/ui/api/graph';

/** The built browser bundle shipped with this package, found from this file in dist/ or the source tree. */
export function defaultAssetsDir(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    for (const c of [join(dir, 'public'), join(dir, 'dist', 'web', 'public')])
      if (existsSync(join(c, 'app.js'))) return c;
    dir = dirname(dir);
  }
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'public');
}

/** Content-Security-Policy of every UI response: same-origin scripts and styles only, no inline code, no eval. */
export const CSP_DIRECTIVES = {
  defaultSrc: ["'none'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", 'data:', 'blob:'],
  connectSrc: ["'self'"],
  fontSrc: ["'self'"],
  manifestSrc: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
  baseUri: ["'none'"],
  objectSrc: ["'none'"],
} as const;

function filterOf(req: Request): ViewFilter {
  const params = new URLSearchParams(req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '');
  const r = decodeFilter(params);
  if (!r.ok) throw new ApiError('invalid-query', describeFilterError(r.reason));
  return r.value;
}

function defaultLogError(message: string, err: unknown): void {
  console.error(message, err);
}

function param(req: Request, name: string): string {
  const v = req.query[name];
  return typeof v === 'string' ? v : '';
}

/** Builds the web UI router. Throws if the auth options would leave it open without consent. */
export function createWebRouter(deps: WebDeps): WebRouter {
  const auth = new WebAuth(deps.auth, deps.now);
  const intents = deps.intents === undefined ? suggestedIntentsProvider() : (deps.intents ?? undefined);
  const report = deps.report === undefined ? storeReportProvider(deps.store) : (deps.report ?? undefined);
  const service = new WebGraphService({
    store: deps.store,
    now: deps.now,
    intents,
    report,
    nodeBudget: deps.nodeBudget,
  });
  const live = new LiveHub(service, deps.live);
  const assetsDir = deps.assetsDir ?? defaultAssetsDir();
  const router = express.Router() as WebRouter;
  Object.defineProperty(router, 'closeWeb', { value: () => live.close() });

  // helmet's directives are static: record its headers once and set them in one loop per request
  // (its chain of 12 middlewares showed in the graph API's profile).
  const securityHeaders = recordHeaderOps(
    helmet({
      contentSecurityPolicy: { useDefaults: false, directives: CSP_DIRECTIVES },
      referrerPolicy: { policy: 'no-referrer' },
      crossOriginResourcePolicy: { policy: 'same-origin' },
    }),
  );
  router.use(applyHeaderOps(securityHeaders));

  const secure = (req: Request): boolean => req.secure;
  const limiter = deps.authLimiter ?? new FailedAuthLimiter();
  /**
   * Who a request is: a live session admits it (even from a blocked address); otherwise its bearer
   * token does, unless its address has failed too often (then the token is not even checked).
   * Wrong tokens are counted per address.
   */
  const authorize = (req: IncomingMessage, count = true): AuthDecision => {
    if (auth.anonymous || auth.hasSession(req.headers.cookie)) return { kind: 'ok' };
    const authorization = req.headers.authorization;
    if (authorization === undefined)
      return { kind: (req.headers.cookie ?? '').includes(`${SESSION_COOKIE}=`) ? 'invalid' : 'missing' };
    const key = clientKey(req.socket.remoteAddress);
    const state = limiter.check(key, deps.now());
    if (state.blocked) return { kind: 'blocked', retryAfterSeconds: state.retryAfterSeconds };
    const b = auth.bearer(authorization);
    if (b === 'ok') return { kind: 'ok' };
    if (b === 'bad' && count) limiter.fail(key, deps.now());
    return { kind: 'invalid' };
  };
  const tooMany = (retryAfterSeconds: number): string =>
    `too many failed sign-ins from this address; try again in ${retryAfterSeconds} s`;
  const requirePage = (req: Request, res: Response, next: NextFunction): void => {
    const a = authorize(req);
    if (a.kind === 'ok') return next();
    if (a.kind === 'blocked') {
      res.setHeader('Retry-After', String(a.retryAfterSeconds));
      res
        .status(429)
        .type('html')
        .send(renderLoginPage({ next: '/', error: `${tooMany(a.retryAfterSeconds)}.` }));
      return;
    }
    res.redirect(303, `/login?next=${encodeURIComponent(req.originalUrl)}`);
  };
  const requireApi = (req: Request, res: Response, next: NextFunction): void => {
    const a = authorize(req);
    if (a.kind === 'ok') return next();
    if (a.kind === 'blocked') {
      res.setHeader('Retry-After', String(a.retryAfterSeconds));
      sendApiError(res, new ApiError('too-many-attempts', tooMany(a.retryAfterSeconds)));
      return;
    }
    sendApiError(
      res,
      a.kind === 'invalid'
        ? new ApiError('invalid-token', 'the token or session is not valid; sign in again at /login')
        : new ApiError('missing-token', 'sign in at /login, or send Authorization: Bearer <token>'),
    );
  };
  const noStore = (_req: Request, res: Response, next: NextFunction): void => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };

  // Static assets hold no cluster data: served without a session so the login page has its style.
  router.use(
    '/assets',
    express.static(assetsDir, { index: false, fallthrough: true, maxAge: '1h', immutable: false }),
  );

  router.get('/login', noStore, (req, res) => {
    const next = param(req, 'next');
    if (auth.anonymous) {
      res.redirect(303, isSafeNext(next) ? next : '/');
      return;
    }
    res.type('html').send(renderLoginPage({ next: isSafeNext(next) ? next : '/', error: '' }));
  });

  router.post(
    '/login',
    noStore,
    express.urlencoded({ extended: false, limit: '4kb', parameterLimit: 10 }),
    (req, res) => {
      const body = (req.body ?? {}) as Record<string, unknown>;
      const token = typeof body['token'] === 'string' ? body['token'] : '';
      const nextRaw = typeof body['next'] === 'string' ? body['next'] : '/';
      const next = isSafeNext(nextRaw) ? nextRaw : '/';
      // SameSite=Strict protects the session; also refuse cross-site login posts (login CSRF).
      const origin = req.headers.origin;
      if (
        origin !== undefined &&
        origin !== 'null' &&
        origin !== `${req.protocol}://${req.headers.host ?? ''}`
      ) {
        res
          .status(403)
          .type('html')
          .send(renderLoginPage({ next, error: 'Sign-in from another site was refused.' }));
        return;
      }
      const key = clientKey(req.socket.remoteAddress);
      const state = limiter.check(key, deps.now());
      if (state.blocked) {
        res.setHeader('Retry-After', String(state.retryAfterSeconds));
        res
          .status(429)
          .type('html')
          .send(
            renderLoginPage({
              next,
              error: `Too many failed sign-ins: ${tooMany(state.retryAfterSeconds)}.`,
            }),
          );
        return;
      }
      if (token === '' || !auth.checkToken(token)) {
        if (token !== '') limiter.fail(key, deps.now());
        res
          .status(401)
          .type('html')
          .send(
            renderLoginPage({
              next,
              error: 'That token is not valid. Check the mapper’s --token-file and try again.',
            }),
          );
        return;
      }
      const s = auth.createSession();
      res.setHeader('Set-Cookie', sessionCookie(s.id, s.maxAgeSeconds, secure(req)));
      res.redirect(303, next);
    },
  );

  router.post('/logout', noStore, (req, res) => {
    auth.endSession(req.headers.cookie);
    res.setHeader('Set-Cookie', clearedSessionCookie(secure(req)));
    res.redirect(303, '/login');
  });

  router.get(['/', '/ui'], noStore, requirePage, (req, res) => {
    if (!existsSync(join(assetsDir, 'app.js'))) {
      res.status(503).type('html').send(renderNotBuiltPage());
      return;
    }
    const mapperUrl = deps.mapperUrl ?? `${req.protocol}://${req.headers.host ?? 'MAPPER:PORT'}`;
    res.type('html').send(renderAppPage({ mapperUrl, signedIn: !auth.anonymous }));
  });

  const api = express.Router();
  api.use(noStore, requireApi);

  const rawCache = new RawResponseCache();
  const isGzip = (req: IncomingMessage): boolean => /\bgzip\b/.test(req.headers['accept-encoding'] ?? '');
  const queryOf = (url: string): string => {
    const q = url.indexOf('?');
    return q < 0 ? '' : url.slice(q + 1);
  };
  const sendCached = (req: IncomingMessage, res: ServerResponse, hit: CachedBody): void => {
    res.setHeader('Vary', 'Accept-Encoding');
    res.setHeader('ETag', hit.etag);
    if (ifNoneMatchHits(req.headers['if-none-match'], hit.etag)) {
      res.statusCode = 304;
      res.end();
      return;
    }
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    if (hit.gzip) res.setHeader('Content-Encoding', 'gzip');
    res.setHeader('Content-Length', hit.body.length);
    res.statusCode = 200;
    res.end(req.method === 'HEAD' ? undefined : hit.body);
  };
  // Straight to node:http once the view is known: express's send() would re-check freshness and
  // the body type.
  api.get('/graph', (req, res) => {
    const query = queryOf(req.url);
    const gzip = isGzip(req);
    const version = service.version();
    const bucket = Math.floor(deps.now() / WINDOW_CACHE_MS);
    let hit = rawCache.get(version, query, gzip, bucket);
    if (hit === undefined) {
      const f = filterOf(req);
      const budgetText = param(req, 'budget');
      const budget = budgetText === '' ? (deps.nodeBudget ?? DEFAULT_NODE_BUDGET) : Number(budgetText);
      if (!Number.isSafeInteger(budget) || budget < 1 || budget > 100_000)
        throw new ApiError('invalid-query', `budget must be 1-100000, got "${budgetText}"`);
      const v = gzip ? service.viewGzip(f, budget, version) : service.viewBuffer(f, budget, version);
      hit = { body: v.body, etag: v.etag, gzip, bucket: f.window === '' ? null : bucket };
      rawCache.set(version, query, hit);
    }
    sendCached(req, res, hit);
  });
  Object.defineProperty(router, 'serveCached', {
    value: (req: IncomingMessage, res: ServerResponse): boolean => {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const url = req.url ?? '';
      if (!url.startsWith(GRAPH_PATH) || (url.length > GRAPH_PATH.length && url[GRAPH_PATH.length] !== '?'))
        return false;
      // Not counted here: the router answers (401 or 429) and counts the failure once.
      if (authorize(req, false).kind !== 'ok') return false;
      const hit = rawCache.get(
        service.version(),
        queryOf(url),
        isGzip(req),
        Math.floor(deps.now() / WINDOW_CACHE_MS),
      );
      if (hit === undefined) return false;
      for (const [name, value] of securityHeaders) if (value !== null) res.setHeader(name, value);
      res.setHeader('Cache-Control', 'no-store');
      sendCached(req, res, hit);
      return true;
    },
  });

  api.get('/suggest', (req, res) => {
    const q = param(req, 'q').slice(0, 256);
    const limitText = param(req, 'limit');
    const limit = limitText === '' ? 20 : Math.min(100, Math.max(1, Number(limitText) || 20));
    res.json(service.suggest(q, limit));
  });

  api.get('/node', (req, res) => {
    const id = param(req, 'id');
    if (id === '') throw new ApiError('invalid-query', 'missing "id": the node id from the graph');
    const d = service.nodeDetail(id, filterOf(req));
    if (d === null) throw new ApiError('not-found', `no node "${id.slice(0, 200)}" in the graph`);
    res.json(d);
  });

  api.get('/edge', (req, res) => {
    const source = param(req, 'source');
    const target = param(req, 'target');
    if (source === '' || target === '')
      throw new ApiError('invalid-query', 'missing "source" or "target": the node ids of the edge');
    res.json(service.edgeDetail(source, target, filterOf(req)));
  });

  api.get('/intents.yaml', (req, res) => {
    const client = param(req, 'client');
    const yaml = service.intentsYaml(filterOf(req), client);
    if (yaml === null)
      throw new ApiError(
        'not-found',
        'suggested intents are not available in this mapper (no intents provider)',
      );
    const name =
      client === ''
        ? 'intents.yaml'
        : `intents-${client.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 100)}.yaml`;
    res.setHeader('Content-Disposition', `attachment; filename="${name}"`);
    res.type('application/yaml').send(yaml);
  });

  api.get('/intents.zip', (req, res) => {
    const files = service.intentsFiles(filterOf(req));
    if (files === null)
      throw new ApiError(
        'not-found',
        'suggested intents are not available in this mapper (no intents provider)',
      );
    const zip = writeZip(
      files.map((f) => ({ name: f.name, data: Buffer.from(f.yaml, 'utf8') })),
      deps.now(),
    );
    if (!zip.ok)
      throw new ApiError(
        'invalid-query',
        `the intents of this filter do not fit in one zip (${zip.reason}); narrow the filter or use the YAML export`,
      );
    res.setHeader('Content-Disposition', 'attachment; filename="intents.zip"');
    res.type('application/zip').send(zip.value);
  });

  api.get('/report.html', (_req, res) => {
    const html = service.reportHtml();
    if (html === null)
      throw new ApiError(
        'not-found',
        'the safe-to-enforce report is not available in this mapper (no report provider)',
      );
    res.setHeader('Content-Disposition', 'attachment; filename="intentmap-report.html"');
    res.type('html').send(html);
  });

  api.get('/events', (req, res) => {
    const f = filterOf(req);
    if (!live.hasRoom())
      throw new ApiError('shutting-down', 'too many live connections; the page falls back to manual reloads');
    live.attach(res, f, param(req, 'since'));
  });

  api.use((_req, _res, next) => next(new ApiError('not-found', 'no such UI API route')));
  api.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const apiErr = toApiError(err);
    if (apiErr.code === 'internal' || apiErr.code === 'store-unavailable')
      (deps.logError ?? defaultLogError)('web UI request failed', err);
    sendApiError(res, apiErr);
  });
  router.use('/ui/api', api);
  return router;
}

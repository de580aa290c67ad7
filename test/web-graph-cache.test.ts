// The cached graph answers over real HTTP: the UI's `/ui/api/graph` and the API's
// `GET /api/v1/graph` are computed once per store generation and filter, then answered by the
// node:http fast path (MapperApp.serveCached / WebRouter.serveCached) with the same body and
// headers as the express route; a write (the generation) makes the next request recompute.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MapperApp } from '../mapper/api/app.js';
import {
  GRAPH_BODY_CACHE_BYTES,
  GraphBodyCache,
  MAX_CACHED_BODY_BYTES,
  ifNoneMatchHits,
} from '../mapper/api/graph-body-cache.js';
import type { GraphStore } from '../mapper/store/index.js';
import type { ViewGraph } from '../web/shared/view.js';
import { createWebRouter } from '../web/server/index.js';
import { openTempStore, seedBoutique, seedEdges, workload } from './browser/harness.js';
import { createInProcessMapper } from './helpers/in-process-mapper.js';
import { rmSync } from 'node:fs';

const TOKEN = 'cache-token-0123456789';
const NOW = Date.UTC(2026, 10, 20, 12, 0, 0);
const auth = { Authorization: `Bearer ${TOKEN}` };

let store: GraphStore;
let dir: string;
let server: Server;
let base: string;
let mapperApp: MapperApp;
let fast = 0;

beforeAll(async () => {
  ({ store, dir } = openTempStore());
  seedBoutique(store, NOW);
  const web = createWebRouter({ store, auth: { token: TOKEN }, now: () => NOW, intents: null, report: null });
  ({ app: mapperApp } = createInProcessMapper({
    store,
    token: TOKEN,
    now: () => NOW,
    extraRouters: [{ path: '/', router: web, close: () => web.closeWeb(), serveCached: web.serveCached }],
  }));
  server = createServer((req, res) => {
    if (mapperApp.serveCached(req, res)) fast++;
    else void mapperApp.app(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A raw GET (fetch would decompress and hide Content-Encoding / Content-Length). */
function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, { headers: { ...auth, ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Response headers that must not differ between the express route and the fast path. */
const STABLE_HEADERS = [
  'content-type',
  'content-encoding',
  'content-length',
  'etag',
  'vary',
  'cache-control',
  'content-security-policy',
  'x-content-type-options',
  'referrer-policy',
  'x-frame-options',
  'strict-transport-security',
  'cross-origin-resource-policy',
];
const pick = (h: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(STABLE_HEADERS.map((k) => [k, h[k]]));

describe('If-None-Match', () => {
  it('compares weakly, accepts lists and *', () => {
    expect(ifNoneMatchHits('W/"a1"', 'W/"a1"')).toBe(true);
    expect(ifNoneMatchHits('"a1"', 'W/"a1"')).toBe(true);
    expect(ifNoneMatchHits('W/"zz", W/"a1"', 'W/"a1"')).toBe(true);
    expect(ifNoneMatchHits('*', 'W/"a1"')).toBe(true);
    expect(ifNoneMatchHits('W/"a2"', 'W/"a1"')).toBe(false);
    expect(ifNoneMatchHits(undefined, 'W/"a1"')).toBe(false);
  });
});

describe('GraphBodyCache bounds', () => {
  it('keeps no body above MAX_CACHED_BODY_BYTES and stays within GRAPH_BODY_CACHE_BYTES', () => {
    const c = new GraphBodyCache();
    const huge = c.set(1, 'all', Buffer.alloc(MAX_CACHED_BODY_BYTES + 1));
    expect(huge.etag).toMatch(/^W\/"1-/);
    c.alias(1, '', huge);
    expect(c.get(1, 'all')).toBeUndefined();
    expect(c.getRaw(1, '')).toBeUndefined();
    const part = Buffer.alloc(Math.floor(MAX_CACHED_BODY_BYTES / 2));
    for (let i = 0; i < 10; i++) c.alias(1, `q${i}`, c.set(1, `k${i}`, part));
    expect(c.stats().bytes).toBeLessThanOrEqual(GRAPH_BODY_CACHE_BYTES);
    expect(c.get(1, 'k9')).toBeDefined();
    expect(c.get(1, 'k0')).toBeUndefined(); // evicted, and its raw alias with it
    expect(c.getRaw(1, 'q0')).toBeUndefined();
    expect(c.getRaw(1, 'q9')).toBe(c.get(1, 'k9'));
    expect(c.get(2, 'k9')).toBeUndefined(); // a new generation empties it
    expect(c.stats()).toEqual({ entries: 0, bytes: 0 });
  });
});

describe('the UI graph view, /ui/api/graph', () => {
  it('answers the second identical request from the fast path with the same body and headers', async () => {
    for (const enc of [{}, { 'Accept-Encoding': 'gzip' }] as Record<string, string>[]) {
      const before = fast;
      const first = await get('/ui/api/graph?ns=shop', enc);
      expect(first.status).toBe(200);
      expect(fast).toBe(before); // computed by the express route
      const second = await get('/ui/api/graph?ns=shop', enc);
      expect(fast).toBe(before + 1);
      expect(second.body.equals(first.body)).toBe(true);
      expect(pick(second.headers)).toEqual(pick(first.headers));
      expect(second.headers['cache-control']).toBe('no-store');
      expect(second.headers['content-security-policy']).toContain("default-src 'none'");
    }
    const gz = await get('/ui/api/graph?ns=shop', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const view = JSON.parse(gunzipSync(gz.body).toString('utf8')) as ViewGraph;
    expect(view.meta.matchedEdges).toBeGreaterThan(0);
  });

  it('answers 304 to a matching If-None-Match from either path', async () => {
    const first = await get('/ui/api/graph?ns=monitoring');
    const etag = String(first.headers['etag']);
    const before = fast;
    const again = await get('/ui/api/graph?ns=monitoring', { 'If-None-Match': `W/"other", ${etag}` });
    expect(again.status).toBe(304);
    expect(again.body.length).toBe(0);
    expect(fast).toBe(before + 1);
  });

  it('recomputes after a write, and never serves a failed credential or another spelling of the path', async () => {
    const first = await get('/ui/api/graph?ns=shop');
    const etag = String(first.headers['etag']);
    seedEdges(store, [
      {
        client: workload('shop', 'frontend'),
        server: workload('shop', 'brand-new'),
        port: 8443,
        firstSeen: NOW - 1000,
        lastSeen: NOW - 500,
      },
    ]);
    const before = fast;
    const after = await get('/ui/api/graph?ns=shop', { 'If-None-Match': etag });
    expect(after.status).toBe(200);
    expect(fast).toBe(before);
    expect(String(after.headers['etag'])).not.toBe(etag);
    expect(after.body.toString('utf8')).toContain('brand-new');
    const bad = await get('/ui/api/graph?ns=shop', { Authorization: 'Bearer wrong-token-00000000' });
    expect(bad.status).toBe(401);
    const slash = await get('/ui/api/graph/?ns=shop');
    expect(slash.status).toBe(200);
    expect(fast).toBe(before);
  });
});

describe('GET /api/v1/graph', () => {
  it('serves a repeated namespace query from the cache, identical to the computed answer', async () => {
    const first = await get('/api/v1/graph?namespace=shop');
    expect(first.status).toBe(200);
    const before = fast;
    const second = await get('/api/v1/graph?namespace=shop');
    expect(fast).toBe(before + 1);
    expect(second.body.equals(first.body)).toBe(true);
    expect(second.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(second.headers['etag']).toBe(first.headers['etag']);
    const edges = (JSON.parse(first.body.toString('utf8')) as { edges: unknown[] }).edges;
    expect(edges.length).toBeGreaterThan(10);
    const gz = await get('/api/v1/graph?namespace=shop', { 'Accept-Encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).equals(first.body)).toBe(true);
    const nm = await get('/api/v1/graph?namespace=shop', { 'If-None-Match': String(first.headers['etag']) });
    expect(nm.status).toBe(304);
  });

  it('changes its answer with the next write, and never caches relative times by their text', async () => {
    const first = await get('/api/v1/graph?namespace=shop');
    seedEdges(store, [
      {
        client: workload('shop', 'frontend'),
        server: workload('shop', 'later-one'),
        port: 9443,
        firstSeen: NOW - 100,
        lastSeen: NOW - 50,
      },
    ]);
    const before = fast;
    const second = await get('/api/v1/graph?namespace=shop');
    expect(fast).toBe(before);
    expect(second.body.equals(first.body)).toBe(false);
    expect(second.body.toString('utf8')).toContain('later-one');
    await get('/api/v1/graph?namespace=shop&since=1h');
    await get('/api/v1/graph?namespace=shop&since=1h');
    expect(fast).toBe(before);
    const bad = await get('/api/v1/graph?namespace=shop', { Authorization: 'Bearer nope-nope-nope' });
    expect(bad.status).toBe(401);
    expect(fast).toBe(before);
  });
});

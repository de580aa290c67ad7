// Test harness for the web UI: a real SQLite store in a temp folder (migrations applied, filled
// through GraphStore), the real web router in an express app on 127.0.0.1:0, and helpers to seed
// graphs. Used by the API tests, the Chromium tests and bench/web.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import type { Identity } from '../../mapper/graph/model.js';
import { party, seedEdges, workload, type SeedEdge } from '../../bench/web/seed.js';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
export { party, seedEdges, workload, type SeedEdge } from '../../bench/web/seed.js';
import { createWebRouter, type WebDeps, type WebRouter } from '../../web/server/index.js';

/** A running test server. */
export interface WebTestServer {
  readonly url: string;
  readonly store: GraphStore;
  readonly dir: string;
  readonly router: WebRouter;
  /** Requests the router's node:http fast path answered (cached graph views). */
  fastServed(): number;
  close(): Promise<void>;
}

/** Options for startWebServer. */
export interface StartOptions extends Partial<Omit<WebDeps, 'store'>> {
  /** Fills the store before the server starts. */
  readonly seed?: (store: GraphStore) => void;
  /** Try the router's serveCached fast path before express, as the mapper does (default true). */
  readonly fastPath?: boolean;
}

/** Opens a fresh store in a temp folder. */
export function openTempStore(): { store: GraphStore; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-web-'));
  const db = openDatabase(join(dir, 'graph.db'));
  return { store: new GraphStore(db), dir };
}

/** Starts the web router on 127.0.0.1:0 over a fresh store. */
export async function startWebServer(options: StartOptions = {}): Promise<WebTestServer> {
  const { store, dir } = openTempStore();
  options.seed?.(store);
  const router = createWebRouter({
    store,
    auth: options.auth ?? { token: 'test-token-0123456789' },
    now: options.now ?? (() => Date.now()),
    ...(options.intents !== undefined ? { intents: options.intents } : {}),
    ...(options.report !== undefined ? { report: options.report } : {}),
    ...(options.live !== undefined ? { live: options.live } : {}),
    ...(options.nodeBudget !== undefined ? { nodeBudget: options.nodeBudget } : {}),
    ...(options.assetsDir !== undefined ? { assetsDir: options.assetsDir } : {}),
    ...(options.mapperUrl !== undefined ? { mapperUrl: options.mapperUrl } : {}),
  });
  const app = express();
  app.use(router);
  let fastServed = 0;
  const fast = options.fastPath ?? true;
  const server = createServer((req, res) => {
    if (fast && router.serveCached(req, res)) fastServed++;
    else void app(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    store,
    dir,
    router,
    fastServed: () => fastServed,
    close: async () => {
      router.closeWeb();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      store.db.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The pod name from issue 7's escaping test. */
export const XSS_NAME = '<img src=x onerror=alert(1)>';

/** A small online-boutique graph (issue 6's topology) plus an external API, an unresolved address and an XSS-named pod. */
export function seedBoutique(store: GraphStore, now: number): void {
  const hour = 3_600_000;
  const shop = (n: string): Identity => workload('shop', n);
  const e = (c: string, s: string, port: number, count = 20): SeedEdge => ({
    client: shop(c),
    server: shop(s),
    port,
    count,
    firstSeen: now - 10 * 24 * hour,
    lastSeen: now - hour,
  });
  seedEdges(store, [
    e('frontend', 'cartservice', 7070, 400),
    e('frontend', 'productcatalogservice', 3550, 900),
    e('frontend', 'currencyservice', 7000, 300),
    e('frontend', 'recommendationservice', 8080, 200),
    e('frontend', 'shippingservice', 50051, 50),
    e('frontend', 'checkoutservice', 5050, 40),
    e('frontend', 'adservice', 9555, 120),
    e('checkoutservice', 'cartservice', 7070, 40),
    e('checkoutservice', 'productcatalogservice', 3550, 40),
    e('checkoutservice', 'currencyservice', 7000, 40),
    e('checkoutservice', 'shippingservice', 50051, 40),
    e('checkoutservice', 'emailservice', 8080, 40),
    e('checkoutservice', 'paymentservice', 50051, 40),
    e('cartservice', 'redis-cart', 6379, 800),
    e('recommendationservice', 'productcatalogservice', 3550, 200),
    {
      client: shop('paymentservice'),
      server: party('external', '198.51.100.7'),
      port: 443,
      count: 35,
      firstSeen: now - 9 * 24 * hour,
      lastSeen: now - 2 * hour,
      dnsNames: ['api.payments.example'],
    },
    {
      client: party('unresolved', '10.0.9.9'),
      server: shop('frontend'),
      port: 8080,
      count: 3,
      firstSeen: now - 2 * hour,
      lastSeen: now - hour,
    },
    {
      client: workload('evil', XSS_NAME, { app: XSS_NAME }),
      server: shop('frontend'),
      port: 8080,
      count: 7,
      firstSeen: now - 3 * hour,
      lastSeen: now - 30 * 60_000,
    },
    {
      client: workload('monitoring', 'prometheus'),
      server: shop('frontend'),
      protocol: 'TCP',
      port: 9090,
      count: 60,
      firstSeen: now - 20 * 24 * hour,
      lastSeen: now - 5 * 60_000,
    },
    {
      client: workload('monitoring', 'prometheus'),
      server: shop('cartservice'),
      protocol: 'TCP',
      port: 9090,
      count: 60,
      firstSeen: now - 20 * 24 * hour,
      lastSeen: now - 5 * 60_000,
    },
    {
      client: shop('frontend'),
      server: workload('kube-system', 'coredns', { 'k8s-app': 'kube-dns' }),
      protocol: 'UDP',
      port: 53,
      count: 5000,
      firstSeen: now - 20 * 24 * hour,
      lastSeen: now - 60_000,
    },
  ]);
}

// The server side of bench/web, in its own process so that the load generator and Chromium do not
// share its event loop: seeds a temp SQLite store through GraphStore, serves the web router, plus a
// naive baseline route (GraphStore.queryEdges + JSON, what a plain `GET /api/v1/graph` would do).
// Prints one JSON line `{ "url": ... }` when ready; exits when stdin closes.
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import express from 'express';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
import { createWebRouter } from '../../web/server/index.js';
import { namespaceSizes, seedLarge } from './seed.js';

/** The bearer token the bench uses. */
export const BENCH_TOKEN = 'bench-token-0123456789abcdef';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function main(): void {
  const namespaces = arg('namespaces', 100);
  const workloads = arg('workloads', 2000);
  const first = arg('first', 0);
  const edges = arg('edges', 10_000);
  const assetsDir = process.argv[process.argv.indexOf('--assets') + 1] ?? '';
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-web-'));
  const store = new GraphStore(openDatabase(join(dir, 'graph.db')));
  const now = Date.UTC(2026, 10, 20);
  const t0 = performance.now();
  const seeded = seedLarge(store, {
    namespaceSizes: namespaceSizes(namespaces, workloads, first > 0 ? first : undefined),
    edges,
    now,
  });
  const seedMs = performance.now() - t0;
  const app = express();
  app.get('/baseline/graph', (req, res) => {
    const ns = typeof req.query['ns'] === 'string' ? req.query['ns'] : undefined;
    res.json({ edges: store.queryEdges(ns === undefined ? {} : { namespace: ns }) });
  });
  app.use(
    createWebRouter({
      store,
      auth: { token: BENCH_TOKEN },
      now: () => now,
      assetsDir,
      live: { pollIntervalMs: 60_000 },
    }),
  );
  const server = app.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({ url: `http://127.0.0.1:${port}`, seeded, seedMs: Math.round(seedMs) })}\n`,
    );
  });
  process.stdin.resume();
  process.stdin.on('end', () => {
    server.closeAllConnections();
    server.close();
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

main();

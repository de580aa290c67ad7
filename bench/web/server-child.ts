// The server side of bench/web, in its own process so that the load generator and Chromium do not
// share its event loop: seeds a temp SQLite store through GraphStore and serves what `intentmap
// mapper` serves (createMapperApp with the web router mounted, behind a node:http server that tries
// MapperApp.serveCached first, as mapper/main.ts does), plus a naive baseline
// route (GraphStore.queryEdges + JSON, uncached: what `GET /api/v1/graph` did before its body
// cache) and a floor route (a fixed body of the given size from bare node:http, no express: what
// the load generator, the kernel and node:http cost on their own on this machine).
// Flags: --fast 0 disables the fast path (everything through express). POST /bench/writes?every=MS
// starts writing one edge every MS ms.
// Prints one JSON line `{ "url": ... }` when ready; exits when stdin closes.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:http';
import express from 'express';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
import { createInProcessMapper } from '../../test/helpers/in-process-mapper.js';
import { createWebRouter } from '../../web/server/index.js';
import { namespaceSizes, seedEdges, seedLarge, teamNamespace, workload } from './seed.js';

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
  const baseline = express.Router();
  baseline.get('/graph', (req, res) => {
    const ns = typeof req.query['ns'] === 'string' ? req.query['ns'] : undefined;
    res.json({ edges: store.queryEdges(ns === undefined ? {} : { namespace: ns }) });
  });
  const web = createWebRouter({
    store,
    auth: { token: BENCH_TOKEN },
    now: () => now,
    assetsDir,
    live: { pollIntervalMs: 60_000 },
  });
  const { app: mapperApp } = createInProcessMapper({
    store,
    token: BENCH_TOKEN,
    now: () => now,
    extraRouters: [
      { path: '/baseline', router: baseline },
      { path: '/', router: web, close: () => web.closeWeb(), serveCached: web.serveCached },
    ],
  });
  const fast = arg('fast', 1) !== 0;
  // Incompressible, like the gzip view it stands in for (autocannon's parser costs ~10x more per
  // byte of random data than of a repeated byte, so a filled buffer would flatter the floor).
  const floorBody = randomBytes(arg('floor-bytes', 38_000));
  // POST /bench/writes?every=MS: write one edge every MS ms (0 stops), as a live mapper does after
  // each sniffer batch; every write advances the store generation, so the caches recompute.
  let writer: NodeJS.Timeout | undefined;
  let written = 0;
  const writeOne = (): void => {
    written++;
    seedEdges(store, [
      {
        client: workload(teamNamespace(written % 100), `bench-writer-${written}`),
        server: workload(teamNamespace((written * 7) % 100), 'bench-target'),
        port: 8080,
        firstSeen: now - 1000,
        lastSeen: now - 500,
      },
    ]);
  };
  const server = createServer((req, res) => {
    if (req.method === 'POST' && req.url?.startsWith('/bench/writes?every=') === true) {
      const every = Number(req.url.slice('/bench/writes?every='.length));
      clearInterval(writer);
      writer = every > 0 ? setInterval(writeOne, every) : undefined;
      res.end(JSON.stringify({ every, written }));
      return;
    }
    if (req.url === '/floor') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': floorBody.length });
      res.end(floorBody);
      return;
    }
    if (fast && mapperApp.serveCached(req, res)) return;
    void mapperApp.app(req, res);
  });
  server.keepAliveTimeout = 60_000; // the bench's probes reuse idle connections
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address() as AddressInfo;
    process.stdout.write(
      `${JSON.stringify({ url: `http://127.0.0.1:${port}`, pid: process.pid, fast, seeded, seedMs: Math.round(seedMs) })}\n`,
    );
  });
  process.stdin.resume();
  process.stdin.on('end', () => {
    clearInterval(writer);
    server.closeAllConnections();
    server.close();
    store.db.close();
    rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
}

main();

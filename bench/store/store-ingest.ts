// bench/store: 1,000,000 edge observations that collapse into 50,000 distinct edges go through the
// store's ingest path (GraphWriter.addEdge → flush, one transaction). In the same run, the same
// 50,000 rows are inserted raw into a plain table in one transaction: the physical baseline.
// Prints observations/s (start of aggregation → commit) and flush/raw (rate ratio, ≥ 0.5 wanted).
//   npx tsc -p tsconfig.build.json && node dist/bench/store/store-ingest.js [--endpoints N] [--runs R]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { EdgeObservation } from '../../mapper/graph/model.js';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';
import { edgeKey, endpointPair, seedWorkloads } from './synthetic-edges.js';

const { values } = parseArgs({
  options: {
    observations: { type: 'string', default: '1000000' },
    edges: { type: 'string', default: '50000' },
    endpoints: { type: 'string', default: '1' },
    runs: { type: 'string', default: '3' },
  },
});
const OBSERVATIONS = Number(values.observations);
const EDGES = Number(values.edges);
const ENDPOINTS_PER_EDGE = Number(values.endpoints);
const RUNS = Number(values.runs);
const T0 = Date.UTC(2026, 0, 1);

interface Result {
  obsPerSec: number;
  aggregateMs: number;
  flushMs: number;
  rawMs: number;
  ratio: number;
  /** The same ratio in process CPU time (user + system), which other load on the machine skews less. */
  ratioCpu: number;
  /** flush rate / raw rate when the raw baseline also writes the endpoint rows. */
  ratioWithEndpoints: number;
  /**
   * flush rate / the schema's own floor: plain INSERTs of the same edge and endpoint rows (known
   * ids, no lookups, no upserts, no aggregation) into copies of the real tables with their
   * constraints and indexes. What the flush's logic costs above what the schema costs.
   */
  ratioToFloor: number;
}

function runOnce(dir: string, run: number): Result {
  const db = openDatabase(join(dir, `bench-${run}.db`));
  const store = new GraphStore(db);
  const ids = seedWorkloads(store, EDGES);
  const edgeKeys = Array.from({ length: EDGES }, (_, e) => ({
    ...edgeKey(ids, e, EDGES),
    ips: Array.from({ length: ENDPOINTS_PER_EDGE }, (_, k) => endpointPair(e, k)),
  }));
  const observations: EdgeObservation[] = new Array<EdgeObservation>(OBSERVATIONS);
  for (let i = 0; i < OBSERVATIONS; i++) {
    const k = edgeKeys[i % EDGES]!;
    const ip = k.ips[Math.floor(i / EDGES) % ENDPOINTS_PER_EDGE]!;
    const t = T0 + i;
    observations[i] = {
      clientId: k.clientId,
      serverId: k.serverId,
      viaId: 0,
      protocol: 'TCP',
      port: k.port,
      firstSeen: t,
      lastSeen: t + 5,
      count: 1,
      sources: i % 3 === 0 ? 4 : 2,
      clientIp: ip.clientIp,
      serverIp: ip.serverIp,
      dnsNames: [],
    };
  }

  const start = performance.now();
  const writer = store.createWriter();
  for (let i = 0; i < OBSERVATIONS; i++) writer.addEdge(observations[i]!);
  const aggregated = performance.now();
  const flushCpu0 = process.cpuUsage();
  const flushed = writer.flush();
  const flushCpu = process.cpuUsage(flushCpu0);
  const end = performance.now();
  if (flushed.edges !== EDGES) throw new Error(`expected ${EDGES} edges, flushed ${flushed.edges}`);

  // The physical baseline: the same 50,000 rows, plain INSERTs into a table without constraints.
  db.exec(`CREATE TABLE raw_edges (client_id INTEGER, server_id INTEGER, via_id INTEGER, protocol TEXT, port INTEGER,
    first_seen INTEGER, last_seen INTEGER, count INTEGER, sources INTEGER)`);
  const insert = db.prepare(`INSERT INTO raw_edges VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const rawStart = performance.now();
  const rawCpu0 = process.cpuUsage();
  db.transaction(() => {
    for (let e = 0; e < EDGES; e++) {
      const k = edgeKeys[e]!;
      insert.run(k.clientId, k.serverId, 0, 'TCP', k.port, T0 + e, T0 + e + 5, 20, 6);
    }
  })();
  const rawCpu = process.cpuUsage(rawCpu0);
  const rawEnd = performance.now();
  // A second baseline with the same bytes the flush writes: the edge rows plus their endpoint rows.
  db.exec(
    `CREATE TABLE raw_endpoints (edge_id INTEGER, client_ip TEXT, server_ip TEXT, first_seen INTEGER, last_seen INTEGER, count INTEGER)`,
  );
  const insertEp = db.prepare(`INSERT INTO raw_endpoints VALUES (?, ?, ?, ?, ?, ?)`);
  const raw2Start = performance.now();
  db.transaction(() => {
    for (let e = 0; e < EDGES; e++) {
      const k = edgeKeys[e]!;
      insert.run(k.clientId, k.serverId, 0, 'TCP', k.port, T0 + e, T0 + e + 5, 20, 6);
      for (const ip of k.ips) insertEp.run(e + 1, ip.clientIp, ip.serverIp, T0 + e, T0 + e + 5, 20);
    }
  })();
  const raw2End = performance.now();
  // Baseline C, the schema's floor: copies of edges (+ its indexes) and edge_endpoints, same DDL.
  const ddl = (name: string): string =>
    (db.prepare(`SELECT sql FROM sqlite_master WHERE name = ?`).pluck().get(name) as string).replace(
      /\bedges\b/g,
      'floor_edges',
    );
  db.exec(
    `${ddl('edges')}; ${ddl('edges_server').replace('edges_server', 'floor_edges_server')}; ${ddl('edge_endpoints').replace('edge_endpoints', 'floor_endpoints')}`,
  );
  // Schema v3: the first pair in the edge row, the further ones as endpoint rows.
  const floorEdge = db.prepare(
    `INSERT INTO floor_edges (id, client_id, server_id, via_id, protocol, port, first_seen, last_seen, count, sources,
       ep_client_ip, ep_server_ip, ep_first_seen, ep_last_seen, ep_count) VALUES (?, ?, ?, 0, 'TCP', ?, ?, ?, 20, 6, ?, ?, ?, ?, 20)`,
  );
  const floorEp = db.prepare(`INSERT INTO floor_endpoints VALUES (?, ?, ?, ?, ?, ?)`);
  const floorStart = performance.now();
  db.transaction(() => {
    for (let e = 0; e < EDGES; e++) {
      const k = edgeKeys[e]!;
      const first = k.ips[0]!;
      floorEdge.run(
        e + 1,
        k.clientId,
        k.serverId,
        k.port,
        T0 + e,
        T0 + e + 5,
        first.clientIp,
        first.serverIp,
        T0 + e,
        T0 + e + 5,
      );
      for (const ip of k.ips.slice(1)) floorEp.run(e + 1, ip.clientIp, ip.serverIp, T0 + e, T0 + e + 5, 20);
    }
  })();
  const floorEnd = performance.now();
  db.close();

  const flushMs = end - aggregated;
  const rawMs = rawEnd - rawStart;
  return {
    obsPerSec: OBSERVATIONS / ((end - start) / 1000),
    aggregateMs: aggregated - start,
    flushMs,
    rawMs,
    ratio: rawMs / flushMs,
    ratioCpu: (rawCpu.user + rawCpu.system) / (flushCpu.user + flushCpu.system),
    ratioWithEndpoints: (raw2End - raw2Start) / flushMs,
    ratioToFloor: (floorEnd - floorStart) / flushMs,
  };
}

const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-store-'));
try {
  const results: Result[] = [];
  for (let r = 0; r < RUNS; r++) {
    const x = runOnce(dir, r);
    results.push(x);
    console.log(
      `run ${r + 1}: ${Math.round(x.obsPerSec).toLocaleString('en')} obs/s  aggregate ${x.aggregateMs.toFixed(0)} ms  flush ${x.flushMs.toFixed(0)} ms  raw ${x.rawMs.toFixed(0)} ms  flush/raw ${x.ratio.toFixed(2)} (cpu ${x.ratioCpu.toFixed(2)})  flush/raw(edges+endpoints) ${x.ratioWithEndpoints.toFixed(2)}  flush/schema-floor ${x.ratioToFloor.toFixed(2)}`,
    );
  }
  const median = (f: (x: Result) => number): number =>
    results.map(f).sort((a, b) => a - b)[Math.floor(results.length / 2)]!;
  console.log(
    `bench/store: ${OBSERVATIONS.toLocaleString('en')} observations → ${EDGES.toLocaleString('en')} edges (${ENDPOINTS_PER_EDGE} endpoint pair(s) per edge), median of ${RUNS}: ` +
      `${Math.round(median((x) => x.obsPerSec)).toLocaleString('en')} obs/s (target ≥ 1,000,000), flush/raw ${median((x) => x.ratio).toFixed(2)} (target ≥ 0.5; cpu ${median((x) => x.ratioCpu).toFixed(2)}), ` +
      `flush/raw(edges+endpoints) ${median((x) => x.ratioWithEndpoints).toFixed(2)}, flush/schema-floor ${median((x) => x.ratioToFloor).toFixed(2)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// bench/store/size: how big the database gets per 1,000 workloads per day. Fills a fresh database
// through the real store path, stage by stage, and measures the file growth of each row type
// (after a WAL checkpoint), then scales by a stated traffic model.
//   npx tsc -p tsconfig.build.json && node dist/bench/store/size.js [--nodes 50] [--report-interval-s 5]
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { GraphStore, openDatabase } from '../../mapper/store/index.js';

const { values } = parseArgs({
  options: {
    nodes: { type: 'string', default: '50' },
    'report-interval-s': { type: 'string', default: '5' },
  },
});
const NODES = Number(values.nodes);
const INTERVAL_S = Number(values['report-interval-s']);
// Traffic model for 1,000 workloads over one day (stated, so the figure can be re-scaled):
const WORKLOADS = 1000;
const EDGES_PER_WORKLOAD = 10; // distinct (server, port) each workload talks to
const PODS_PER_WORKLOAD = 3;
const POD_GENERATIONS_PER_DAY = 4; // rollouts/rescheduling: new pod IPs 4 times a day
const DNS_NAMES_PER_WORKLOAD = 5;
const DNS_IPS_PER_NAME_PER_DAY = 4; // rotating answers (cloud endpoints)

const dir = mkdtempSync(join(tmpdir(), 'intentmap-bench-size-'));
try {
  const db = openDatabase(join(dir, 'size.db'));
  const store = new GraphStore(db);
  const size = (): number => {
    db.pragma('wal_checkpoint(TRUNCATE)');
    return statSync(join(dir, 'size.db')).size;
  };
  const base = size();
  const ids: number[] = [];
  store.transaction(() => {
    for (let i = 0; i < WORKLOADS; i++) {
      ids.push(
        store.ensureIdentity({
          kind: 'workload',
          cluster: '',
          namespace: `team-${i % 40}`,
          name: `service-${i}`,
          workloadKind: 'Deployment',
          labels: {
            app: `service-${i}`,
            'app.kubernetes.io/part-of': `team-${i % 40}`,
            tier: i % 2 === 0 ? 'backend' : 'frontend',
          },
          attrs: {},
        }),
      );
    }
  });
  const afterIdentities = size();
  const t0 = Date.UTC(2026, 0, 1);
  const ip = (w: number, pod: number, gen: number): string =>
    `10.${(gen * 3 + pod) % 250}.${(w >> 8) & 255}.${w & 255}`;
  // Edges with one endpoint pair each (pods of generation 0), then the other endpoint pairs of the day.
  const writeEndpoints = (gens: number[], pairs: (w: number) => [number, number][]): void => {
    const w = store.createWriter();
    for (let c = 0; c < WORKLOADS; c++) {
      for (let k = 0; k < EDGES_PER_WORKLOAD; k++) {
        const s = (c * 7 + k * 13 + 1) % WORKLOADS;
        for (const g of gens) {
          for (const [cp, sp] of pairs(c)) {
            w.addEdge({
              clientId: ids[c]!,
              serverId: ids[s]!,
              viaId: 0,
              protocol: 'TCP',
              port: 8000 + k,
              firstSeen: t0 + g,
              lastSeen: t0 + g + 1000,
              count: 10,
              sources: 2,
              clientIp: ip(c, cp, g),
              serverIp: ip(s, sp, g),
              dnsNames: [],
            });
          }
        }
      }
    }
    w.flush();
  };
  writeEndpoints([0], () => [[0, 0]]);
  const afterEdges = size();
  const edges = WORKLOADS * EDGES_PER_WORKLOAD;
  const allPairs: [number, number][] = [];
  for (let a = 0; a < PODS_PER_WORKLOAD; a++)
    for (let b = 0; b < PODS_PER_WORKLOAD; b++) allPairs.push([a, b]);
  writeEndpoints(
    Array.from({ length: POD_GENERATIONS_PER_DAY }, (_, g) => g),
    () => allPairs,
  );
  const afterEndpoints = size();
  const endpoints = edges * PODS_PER_WORKLOAD * PODS_PER_WORKLOAD * POD_GENERATIONS_PER_DAY - edges;
  const w = store.createWriter();
  for (let c = 0; c < WORKLOADS; c++) {
    for (let n = 0; n < DNS_NAMES_PER_WORKLOAD; n++) {
      for (let r = 0; r < DNS_IPS_PER_NAME_PER_DAY; r++) {
        w.addDns({
          clientId: ids[c]!,
          name: `api-${(c + n) % 300}.vendor-${n}.example.com`,
          ip: `203.0.${(c + n) % 250}.${r}`,
          ttl: 60,
          firstSeen: t0,
          lastSeen: t0 + 1000,
          count: 50,
        });
      }
    }
  }
  w.flush();
  const afterDns = size();
  const dnsRows = WORKLOADS * DNS_NAMES_PER_WORKLOAD * DNS_IPS_PER_NAME_PER_DAY;
  const batchesPerDay = NODES * Math.round(86_400 / INTERVAL_S);
  store.transaction(() => {
    for (let i = 0; i < batchesPerDay; i++)
      store.applyBatch(
        {
          reporter: `node-${i % NODES}.cluster.internal`,
          sequence: Math.floor(i / NODES),
          receivedAt: t0 + i,
          observations: 100,
        },
        () => undefined,
      );
  });
  const afterBatches = size();
  db.close();

  const mb = (b: number): string => `${(b / 2 ** 20).toFixed(2)} MiB`;
  const per = (b: number, n: number): string => `${(b / n).toFixed(0)} B/row`;
  console.log(`empty database: ${mb(base)}`);
  console.log(
    `identities: ${WORKLOADS} → ${mb(afterIdentities - base)} (${per(afterIdentities - base, WORKLOADS)})`,
  );
  console.log(
    `edges (+1 endpoint each): ${edges} → ${mb(afterEdges - afterIdentities)} (${per(afterEdges - afterIdentities, edges)})`,
  );
  console.log(
    `more endpoints (pod IP pairs over ${POD_GENERATIONS_PER_DAY} pod generations): ${endpoints} → ${mb(afterEndpoints - afterEdges)} (${per(afterEndpoints - afterEdges, endpoints)})`,
  );
  console.log(
    `DNS rows: ${dnsRows} → ${mb(afterDns - afterEndpoints)} (${per(afterDns - afterEndpoints, dnsRows)})`,
  );
  console.log(
    `ingest_batches: ${batchesPerDay} (${NODES} nodes, one batch per ${INTERVAL_S}s) → ${mb(afterBatches - afterDns)} (${per(afterBatches - afterDns, batchesPerDay)})`,
  );
  console.log(
    `bench/store/size: per 1,000 workloads per day ≈ ${mb(afterDns - base)} of graph (first day; later days add only new endpoints/DNS answers, ≈ ${mb(afterEndpoints - afterEdges + afterDns - afterEndpoints)}), ` +
      `plus ${mb(afterBatches - afterDns)} of ingest_batches per day for ${NODES} nodes; total file ${mb(afterBatches)}`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

// Resolution throughput and memory over a synthetic cluster: 50,000 live pods, 5,000 Services
// with EndpointSlices, 20% of pod IPs reused by another workload during the window. Observations
// are resolved in report batches of 5,000 at random times in the window (so reused IPs resolve on
// both sides of the reuse). The physical baseline in the same run: a plain Map<ip, identity>
// lookup of the same two addresses per observation, building the same-sized edge object.
//
//   npx tsc -p tsconfig.build.json && node --expose-gc --max-semi-space-size=32 dist/bench/mapper/resolve.js [observations]
import type { ConnectionRecord, ReportBatch } from '../../mapper/api/wire.js';
import type { Identity } from '../../mapper/graph/model.js';
import { ClusterState, parseCidrList } from '../../mapper/identity/cluster-state.js';
import { resolveReport } from '../../mapper/identity/resolve.js';
import { toClusterObject } from '../../mapper/kube/convert.js';
import { createSeededRandom } from '../lib/seeded-random.js';

const PODS = 50_000;
const SERVICES = 5_000;
const REPLICAS = PODS / SERVICES; // one Deployment per Service, 10 pods each
const NAMESPACES = 100;
const REUSE_FRACTION = 0.2;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const WINDOW_MS = 3_600_000;
const BATCH = 5_000;
const OBSERVATIONS = Number(process.argv[2] ?? 500_000);

// Seeded, so runs are comparable.
const rand = createSeededRandom(42);
const pick = (n: number): number => Math.floor(rand() * n);

const podIp = (i: number): string => `10.${64 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
const svcIp = (i: number): string => `10.96.${i >> 8}.${i & 255}`;
const iso = (ms: number): string => new Date(ms).toISOString();

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
function gc(): void {
  (globalThis as { gc?: () => void }).gc?.();
}

const cidrs = parseCidrList(['10.64.0.0/10', '10.96.0.0/12']);
if (!cidrs.ok) throw new Error(cidrs.reason);
const state = new ClusterState({ podCidrs: cidrs.value.slice(0, 1), serviceCidrs: cidrs.value.slice(1) });

gc();
const rssBefore = process.memoryUsage().rss;
const tBuild = performance.now();
const apply = (type: 'ADDED' | 'DELETED', raw: unknown, atMs: number): void => {
  const r = toClusterObject(raw);
  if (!r.ok) throw new Error(r.reason);
  state.apply({ type, object: r.value, atMs });
};

// Controllers and Services.
for (let s = 0; s < SERVICES; s++) {
  const ns = `ns-${s % NAMESPACES}`;
  apply('ADDED', { kind: 'Deployment', metadata: { name: `app-${s}`, namespace: ns, uid: `dep-${s}` } }, T0);
  apply(
    'ADDED',
    {
      kind: 'ReplicaSet',
      metadata: {
        name: `app-${s}-5f7c`,
        namespace: ns,
        uid: `rs-${s}`,
        ownerReferences: [{ kind: 'Deployment', name: `app-${s}`, uid: `dep-${s}`, controller: true }],
      },
    },
    T0,
  );
  apply(
    'ADDED',
    {
      kind: 'Service',
      metadata: { name: `svc-${s}`, namespace: ns, uid: `svc-${s}`, creationTimestamp: iso(T0 - 1000) },
      spec: { clusterIP: svcIp(s), selector: { app: `app-${s}` }, ports: [{ port: 8080 }] },
    },
    T0,
  );
}
const podObject = (i: number, s: number, ip: string, startMs: number, uid: string): unknown => ({
  kind: 'Pod',
  metadata: {
    name: `app-${s}-5f7c-${i}`,
    namespace: `ns-${s % NAMESPACES}`,
    uid,
    creationTimestamp: iso(startMs),
    labels: { app: `app-${s}`, 'pod-template-hash': '5f7c' },
    ownerReferences: [{ kind: 'ReplicaSet', name: `app-${s}-5f7c`, uid: `rs-${s}`, controller: true }],
  },
  spec: { nodeName: `node-${i % 500}` },
  status: {
    phase: 'Running',
    podIP: ip,
    podIPs: [{ ip }],
    hostIP: `192.168.${(i % 500) >> 8}.${(i % 500) & 255}`,
    startTime: iso(startMs),
  },
});
// 50,000 pods, all from T0.
for (let i = 0; i < PODS; i++)
  apply('ADDED', podObject(i, Math.floor(i / REPLICAS), podIp(i), T0, `pod-${i}`), T0);
// EndpointSlices: one per Service with its 10 pods.
for (let s = 0; s < SERVICES; s++) {
  const endpoints = [];
  for (let r = 0; r < REPLICAS; r++) {
    const i = s * REPLICAS + r;
    endpoints.push({
      addresses: [podIp(i)],
      conditions: { ready: true },
      targetRef: { kind: 'Pod', name: `app-${s}-5f7c-${i}`, uid: `pod-${i}` },
    });
  }
  apply(
    'ADDED',
    {
      kind: 'EndpointSlice',
      metadata: {
        name: `svc-${s}-x`,
        namespace: `ns-${s % NAMESPACES}`,
        labels: { 'kubernetes.io/service-name': `svc-${s}` },
        creationTimestamp: iso(T0),
      },
      endpoints,
    },
    T0,
  );
}
// 20% of IPs reused: the pod is deleted at a random time and a pod of another workload takes the IP.
const reuseAt = new Map<number, number>();
while (reuseAt.size < PODS * REUSE_FRACTION) {
  const i = pick(PODS);
  if (reuseAt.has(i)) continue;
  const at = T0 + 60_000 + pick(WINDOW_MS - 120_000);
  reuseAt.set(i, at);
  const s = Math.floor(i / REPLICAS);
  apply('DELETED', podObject(i, s, podIp(i), T0, `pod-${i}`), at);
  apply(
    'ADDED',
    podObject(i, (s + 1 + pick(SERVICES - 1)) % SERVICES, podIp(i), at + 1000, `pod-${i}-b`),
    at + 1000,
  );
}
const buildMs = performance.now() - tBuild;
state.drainOwnershipChanges(); // what the store would be given; not kept
gc();
const rssIndexed = process.memoryUsage().rss;
const heapIndexed = process.memoryUsage().heapUsed;

// Observations: client is a pod IP; server: 50% a ClusterIP, 40% a pod IP, 5% a node, 5% external.
const batches: ReportBatch[] = [];
const nodes: string[] = Array.from({ length: 500 }, (_, n) => `192.168.${n >> 8}.${n & 255}`);
for (let b = 0; b * BATCH < OBSERVATIONS; b++) {
  const connections: ConnectionRecord[] = [];
  for (let k = 0; k < BATCH; k++) {
    const at = T0 + pick(WINDOW_MS);
    const r = rand();
    const dst =
      r < 0.5
        ? svcIp(pick(SERVICES))
        : r < 0.9
          ? podIp(pick(PODS))
          : r < 0.95
            ? (nodes[pick(500)] as string)
            : `203.0.${pick(256)}.${pick(256)}`;
    connections.push({
      src: podIp(pick(PODS)),
      dst,
      dport: 8080,
      protocol: 'TCP',
      source: 'tcp-syn',
      count: 1,
      firstSeen: at,
      lastSeen: at,
    });
  }
  batches.push({ version: 1, reporter: 'node-1', sequence: b, sentAt: T0, connections, dns: [] });
}
const total = batches.length * BATCH;

// Baseline: the same two lookups per observation in a plain Map, one edge object each.
const flat = new Map<string, Identity>();
for (let i = 0; i < PODS; i++) flat.set(podIp(i), state.resolveIp(podIp(i), T0 + WINDOW_MS).identity);
for (let s = 0; s < SERVICES; s++) flat.set(svcIp(s), state.resolveIp(svcIp(s), T0).identity);
const ext: Identity = {
  kind: 'external',
  cluster: '',
  namespace: '',
  name: '',
  workloadKind: '',
  labels: {},
  attrs: {},
};

function runBaseline(): { wallMs: number; cpuMs: number; edges: number } {
  const cpu = process.cpuUsage();
  const t = performance.now();
  let edges = 0;
  for (const b of batches) {
    const out = [];
    for (const c of b.connections) {
      const client = flat.get(c.src) ?? ext;
      const server = flat.get(c.dst) ?? ext;
      out.push({
        client,
        server,
        via: null,
        protocol: c.protocol,
        port: c.dport,
        firstSeen: c.firstSeen,
        lastSeen: c.lastSeen,
        count: c.count,
        source: c.source,
        clientIp: c.src,
        serverIp: c.dst,
        dnsNames: [],
      });
    }
    edges += out.length;
  }
  const u = process.cpuUsage(cpu);
  return { wallMs: performance.now() - t, cpuMs: (u.user + u.system) / 1000, edges };
}

function runResolver(): {
  wallMs: number;
  cpuMs: number;
  edges: number;
  outcomes: { resolved: number; external: number; unresolved: number };
} {
  const cpu = process.cpuUsage();
  const t = performance.now();
  let edges = 0;
  const outcomes = { resolved: 0, external: 0, unresolved: 0 };
  for (const b of batches) {
    const r = resolveReport(b, state);
    edges += r.edges.length;
    outcomes.resolved += r.outcomes.resolved;
    outcomes.external += r.outcomes.external;
    outcomes.unresolved += r.outcomes.unresolved;
  }
  const u = process.cpuUsage(cpu);
  return { wallMs: performance.now() - t, cpuMs: (u.user + u.system) / 1000, edges, outcomes };
}

// Check: a reused IP resolves to both owners, at its own time.
const [reusedIp, reusedAt] = [...reuseAt.entries()][0] as [number, number];
const beforeOwner = state.resolveIp(podIp(reusedIp), reusedAt - 10_000).identity.name;
const afterOwner = state.resolveIp(podIp(reusedIp), reusedAt + 10_000).identity.name;

// Warm-up (JIT, backend caches), then the best of ROUNDS alternating runs of each: on a shared
// machine the best run is the one least disturbed by other processes.
const ROUNDS = 3;
runResolver();
runBaseline();
let res = runResolver();
let base = runBaseline();
for (let r = 1; r < ROUNDS; r++) {
  const a = runResolver();
  if (a.cpuMs < res.cpuMs) res = a;
  const b = runBaseline();
  if (b.cpuMs < base.cpuMs) base = b;
}
const rate = (n: number, ms: number): string => `${Math.round((n / ms) * 1000).toLocaleString('en-US')}/s`;
const stats = state.stats();
console.log(
  `mapper resolve: ${stats.pods} pod objects (${PODS} live), ${SERVICES} services, ${reuseAt.size} IPs reused (${((reuseAt.size / PODS) * 100).toFixed(1)}%), ${stats.ipIntervals} IP intervals`,
);
console.log(
  `  build state           ${buildMs.toFixed(0)} ms (${rate(stats.pods + SERVICES * 4, buildMs)} objects)`,
);
console.log(`  RSS before / indexed  ${mb(rssBefore)} / ${mb(rssIndexed)} (heap used ${mb(heapIndexed)})`);
console.log(`  reused IP ${podIp(reusedIp)}: before ${beforeOwner}, after ${afterOwner}`);
console.log(
  `  resolver  ${total.toLocaleString('en-US')} obs  wall ${res.wallMs.toFixed(0)} ms (${rate(total, res.wallMs)}), cpu ${res.cpuMs.toFixed(0)} ms (${rate(total, res.cpuMs)}); edges ${res.edges}; outcomes ${JSON.stringify(res.outcomes)}`,
);
console.log(
  `  baseline  Map lookup  wall ${base.wallMs.toFixed(0)} ms (${rate(total, base.wallMs)}), cpu ${base.cpuMs.toFixed(0)} ms (${rate(total, base.cpuMs)})`,
);
console.log(
  `  ratio resolver/baseline: wall ${(res.wallMs / base.wallMs).toFixed(2)}x, cpu ${(res.cpuMs / base.cpuMs).toFixed(2)}x`,
);
console.log(`  RSS at end ${mb(process.memoryUsage().rss)}`);

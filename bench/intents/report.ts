// Benchmark: the intents pipeline on a synthetic graph — suggest ClientIntents, generate
// NetworkPolicies (schema-validated, selectors checked), replay every edge with its explanation
// (`simulate`) and build the safe-to-enforce report — beside, in the same run, the bare policy
// decision (evaluator.isAllowed on the same flows, no explanations): the floor any replay pays.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/intents/report.js [edges] [workloads]
import { performance } from 'node:perf_hooks';
import type { GraphEdge, Identity } from '../../mapper/graph/model.js';
import { clusterFromIdentities } from '../../mapper/intents/cluster.js';
import { generateNetworkPolicies } from '../../mapper/intents/netpol.js';
import { suggestIntents } from '../../mapper/intents/suggest.js';
import { candidateFromIntents } from '../../mapper/report/candidate.js';
import { buildEvaluator, decodeGeneratedPolicies, endpointFor } from '../../mapper/report/policy-engine.js';
import { simulate, type ReplayEdge } from '../../mapper/report/replay.js';
import { buildReport } from '../../mapper/report/report.js';
import { createSeededRandom } from '../lib/seeded-random.js';

const EDGES = Number(process.argv[2] ?? 20_000);
const WORKLOADS = Number(process.argv[3] ?? 500);
const NAMESPACES = Math.max(1, Math.floor(WORKLOADS / 25));
const NOW = Date.parse('2026-01-15T12:00:00Z');

// Seeded, so every run replays the same graph.
const rand = createSeededRandom(42);

const ids: Identity[] = [];
for (let i = 0; i < WORKLOADS; i++) {
  ids.push({
    kind: 'workload',
    cluster: '',
    namespace: `ns${i % NAMESPACES}`,
    name: `app${i}`,
    workloadKind: 'Deployment',
    labels: { app: `app${i}`, team: `t${i % 7}` },
    attrs: {},
  });
}
const seen = new Set<string>();
const edges: ReplayEdge[] = [];
while (edges.length < EDGES) {
  const c = Math.floor(rand() * WORKLOADS);
  // 80% of calls stay in the namespace, as services mostly do.
  const s =
    rand() < 0.8
      ? (c + NAMESPACES * (1 + Math.floor(rand() * 24))) % WORKLOADS
      : Math.floor(rand() * WORKLOADS);
  const port = 8000 + Math.floor(rand() * 4);
  const key = `${c}>${s}:${port}`;
  if (c === s || seen.has(key)) continue;
  seen.add(key);
  const edge: GraphEdge = {
    id: edges.length + 1,
    client: ids[c] as Identity,
    server: ids[s] as Identity,
    via: null,
    protocol: 'TCP',
    port,
    firstSeen: NOW - 10 * 86_400_000,
    lastSeen: NOW - Math.floor(rand() * 86_400_000),
    count: 1 + Math.floor(rand() * 1000),
    sources: ['tcp-syn'],
    dnsNames: [],
  };
  edges.push({
    edge,
    endpoints: [
      {
        clientIp: `10.${c >> 16}.${(c >> 8) & 255}.${c & 255}`,
        serverIp: `10.${s >> 16}.${(s >> 8) & 255}.${s & 255}`,
        count: edge.count,
        lastSeen: edge.lastSeen,
      },
    ],
  });
}
const cluster = clusterFromIdentities(ids);
const plain = edges.map((e) => e.edge);

function timed<T>(label: string, fn: () => T): { value: T; ms: number; cpuMs: number } {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const value = fn();
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  console.log(
    `${label.padEnd(34)} wall ${ms.toFixed(0).padStart(7)} ms   cpu ${cpuMs.toFixed(0).padStart(7)} ms`,
  );
  return { value, ms, cpuMs };
}

console.log(`intents pipeline: ${EDGES} edges, ${WORKLOADS} workloads, ${NAMESPACES} namespaces`);
const suggested = timed('suggestIntents', () => suggestIntents(plain));
const generated = timed('generateNetworkPolicies', () =>
  generateNetworkPolicies(suggested.value.intents, cluster),
);
const policies = decodeGeneratedPolicies(generated.value.policies.map((p) => p.object)).policies;
const sim = timed('simulate (verdict + why per edge)', () => simulate(edges, policies, cluster));
const candidate = candidateFromIntents(suggested.value.intents, cluster, plain, 'bench');
const report = timed('buildReport (2 replays + verdicts)', () =>
  buildReport({ now: NOW, edges, cluster, candidate, current: [] }),
);
// Baseline: the bare decision for the same flows with the same evaluator, no explanations.
const evaluator = buildEvaluator(policies);
const flows = edges.map((e) => ({
  src: endpointFor(e.edge.client, '', cluster),
  dst: endpointFor(e.edge.server, '', cluster),
  port: e.edge.port,
}));
const base = timed('baseline: evaluator.isAllowed', () =>
  flows.reduce((n, f) => n + (evaluator.isAllowed(f.src, f.dst, 'TCP', f.port) ? 1 : 0), 0),
);
if (sim.value.totals.blocked !== 0 || base.value !== EDGES)
  throw new Error(
    `round trip broke: ${sim.value.totals.blocked} blocked, ${base.value} allowed by the baseline`,
  );
console.log(
  `policies ${generated.value.policies.length}; report servers safe ${report.value.summary.servers['safe-to-enforce']}`,
);
console.log(
  `simulate: ${((EDGES / sim.cpuMs) * 1000).toFixed(0)} edges/s cpu; ratio to bare decisions (cpu) ${(sim.cpuMs / Math.max(1, base.cpuMs)).toFixed(1)}x`,
);
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

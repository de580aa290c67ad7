// Benchmark (a): replay of 1,000,000 synthetic observed edges against 10,000 NetworkPolicies over
// 50,000 pods in 2,000 namespaces, with the indexed evaluator; beside it, in the same run, the
// naive evaluator (every policy for every flow) on a sample, checked to give the same verdicts.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/policy/replay.js [edges] [naiveSample]
import { performance } from 'node:perf_hooks';
import type { Endpoint, WorkloadEndpoint } from '../../mapper/policy/evaluate.js';
import { createEvaluator, createNaiveEvaluator } from '../../mapper/policy/evaluate.js';
import type { NetworkPolicy } from '../../mapper/policy/model.js';
import { decodeNetworkPolicy } from '../../mapper/policy/model.js';
import type { Protocol } from '../../mapper/policy/ports.js';
import { createSeededRandom } from '../lib/seeded-random.js';

const NAMESPACES = 2_000;
const PODS = 50_000;
const POLICIES = 10_000;
const EDGES = Number(process.argv[2] ?? 1_000_000);
const NAIVE_SAMPLE = Number(process.argv[3] ?? 2_000);
const APPS_PER_NS = 10;

// Seeded, so every run replays the same edges.
const rand = createSeededRandom(42);
const pick = (n: number): number => Math.floor(rand() * n);

function decode(raw: unknown): NetworkPolicy {
  const d = decodeNetworkPolicy(raw);
  if (!d.ok) throw new Error(JSON.stringify(d.problems));
  return d.value;
}

// Namespaces: ns-0..ns-1999, team labels in 20 teams; ns-0 plays kube-system (DNS).
const nsName = (i: number): string => `ns-${i}`;
const nsLabels = Array.from({ length: NAMESPACES }, (_, i) => ({
  'kubernetes.io/metadata.name': nsName(i),
  team: `t${i % 20}`,
}));

// Pods: 25 per namespace, 10 apps per namespace (replicas share one labels object, as the pods of
// one workload do).
const pods: WorkloadEndpoint[] = [];
for (let i = 0; i < PODS; i++) {
  const ns = i % NAMESPACES;
  const app = Math.floor(i / NAMESPACES) % APPS_PER_NS;
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  pods.push({
    kind: 'workload',
    namespace: nsName(ns),
    labels: { app: `app-${app}`, tier: app < 3 ? 'front' : app < 7 ? 'back' : 'data' },
    namespaceLabels: nsLabels[ns]!,
    ips: [ip],
    containerPorts: [
      { name: 'http', port: 8080, protocol: 'TCP' },
      { name: 'metrics', port: 9090, protocol: 'TCP' },
    ],
  });
}
// Share label objects across replicas of one app (a simulate replay builds one endpoint per workload).
const labelObjects = new Map<string, WorkloadEndpoint['labels']>();
for (let i = 0; i < pods.length; i++) {
  const p = pods[i]!;
  const key = `${p.namespace}/${p.labels.app}`;
  const shared = labelObjects.get(key);
  if (shared) pods[i] = { ...p, labels: shared };
  else labelObjects.set(key, p.labels);
}

// Policies: 5 per namespace: default-deny ingress, an app-to-app allow with a named port, a
// cross-namespace allow by team, an egress policy (DNS + an ipBlock with except), and a policy
// with matchExpressions.
const policies: NetworkPolicy[] = [];
for (let n = 0; n < NAMESPACES && policies.length < POLICIES; n++) {
  const namespace = nsName(n);
  const meta = (name: string) => ({ name, namespace });
  policies.push(
    decode({ metadata: meta('default-deny'), spec: { podSelector: {}, policyTypes: ['Ingress'] } }),
  );
  policies.push(
    decode({
      metadata: meta('front-to-back'),
      spec: {
        podSelector: { matchLabels: { tier: 'back' } },
        ingress: [
          {
            from: [{ podSelector: { matchLabels: { tier: 'front' } } }],
            ports: [{ port: 'http' }, { port: 9000, endPort: 9100 }],
          },
        ],
      },
    }),
  );
  policies.push(
    decode({
      metadata: meta('from-team'),
      spec: {
        podSelector: { matchLabels: { tier: 'front' } },
        ingress: [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { team: `t${n % 20}` } },
                podSelector: { matchLabels: { tier: 'front' } },
              },
            ],
            ports: [{ port: 8080 }],
          },
        ],
      },
    }),
  );
  policies.push(
    decode({
      metadata: meta('egress'),
      spec: {
        podSelector: { matchLabels: { tier: 'data' } },
        policyTypes: ['Egress'],
        egress: [
          {
            to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'ns-0' } } }],
            ports: [{ protocol: 'UDP', port: 53 }],
          },
          {
            to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '192.168.0.0/16'] } }],
            ports: [{ port: 443 }],
          },
          { to: [{ podSelector: {} }] },
        ],
      },
    }),
  );
  policies.push(
    decode({
      metadata: meta('data-from-back'),
      spec: {
        podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['data'] }] },
        ingress: [
          {
            from: [
              { podSelector: { matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] } },
            ],
          },
        ],
      },
    }),
  );
}

// Edges: 70% within a namespace, 20% across, 10% to an external address.
interface Edge {
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly protocol: Protocol;
  readonly port: number;
}
const PORTS: readonly (readonly [Protocol, number])[] = [
  ['TCP', 8080],
  ['TCP', 9090],
  ['TCP', 9050],
  ['TCP', 443],
  ['UDP', 53],
  ['TCP', 5432],
];
const externals: Endpoint[] = Array.from({ length: 1000 }, (_, i) => ({
  kind: 'external',
  ip: `${20 + (i % 200)}.${i % 256}.1.${i % 250}`,
}));
const edges: Edge[] = new Array<Edge>(EDGES);
for (let i = 0; i < EDGES; i++) {
  const srcIndex = pick(PODS);
  const src = pods[srcIndex]!;
  const r = rand();
  let dst: Endpoint;
  // Pod i lives in namespace i % NAMESPACES, so this picks a pod of the source's namespace.
  if (r < 0.7) dst = pods[(pick(PODS / NAMESPACES) * NAMESPACES + (srcIndex % NAMESPACES)) % PODS]!;
  else if (r < 0.9) dst = pods[pick(PODS)]!;
  else dst = externals[pick(externals.length)]!;
  const [protocol, port] = PORTS[pick(PORTS.length)]!;
  edges[i] = { src, dst, protocol, port };
}

// Wall time and CPU time: the build machine is shared, so CPU time (user+system of this process) is
// the fairer measure of the evaluator; both are printed.
interface Span {
  readonly wallMs: number;
  readonly cpuMs: number;
}
function measure(fn: () => void): Span {
  const c0 = process.cpuUsage();
  const w0 = performance.now();
  fn();
  const wallMs = performance.now() - w0;
  const c = process.cpuUsage(c0);
  return { wallMs, cpuMs: (c.user + c.system) / 1000 };
}

const t0 = performance.now();
const evaluator = createEvaluator(policies);
const buildMs = performance.now() - t0;

// Physical baseline: walk the same edges and read what any evaluation must read (both endpoints'
// labels and the port), without evaluating. It shows what this machine does per edge at best.
let touched = 0;
const baseline = measure(() => {
  for (const e of edges) {
    const s = e.src.kind === 'workload' ? e.src.labels.app : e.src.ip;
    const d = e.dst.kind === 'workload' ? e.dst.labels.app : e.dst.ip;
    if (s !== undefined && d !== undefined && e.port > 0) touched++;
  }
});
if (touched === 0) throw new Error('baseline read nothing');

// First pass from a cold cache (every selection computed once), as a replay starts.
let allowed = 0;
const fast = measure(() => {
  for (const e of edges) if (evaluator.isAllowed(e.src, e.dst, e.protocol, e.port)) allowed++;
});

// Second pass: the selection cache is warm (a long replay spends most of its time like this).
let allowedWarm = 0;
const warm = measure(() => {
  for (const e of edges) if (evaluator.isAllowed(e.src, e.dst, e.protocol, e.port)) allowedWarm++;
});
if (allowedWarm !== allowed) throw new Error('the warm pass disagrees with the cold pass');

let explained = 0;
const explain = measure(() => {
  for (const e of edges) if (evaluator.evaluate(e.src, e.dst, e.protocol, e.port).allowed) explained++;
});
if (explained !== allowed) throw new Error('evaluate() and isAllowed() disagree');

const naive = createNaiveEvaluator(policies);
const sample = edges.slice(0, NAIVE_SAMPLE);
const naiveVerdicts: boolean[] = [];
const naiveSpan = measure(() => {
  for (const e of sample) naiveVerdicts.push(naive.isAllowed(e.src, e.dst, e.protocol, e.port));
});
const mismatches = sample.filter(
  (e, i) => evaluator.isAllowed(e.src, e.dst, e.protocol, e.port) !== naiveVerdicts[i],
).length;
if (mismatches > 0)
  throw new Error(`${mismatches} verdicts differ between the naive and the indexed evaluator`);

const rate = (n: number, ms: number): number => Math.round(n / (ms / 1000));
const fmt = (n: number): string => n.toLocaleString('en-US');
const line = (label: string, n: number, span: Span): string =>
  `${label} wall ${span.wallMs.toFixed(0)} ms (${fmt(rate(n, span.wallMs))}/s), cpu ${span.cpuMs.toFixed(0)} ms (${fmt(rate(n, span.cpuMs))}/s)`;
const fastRate = rate(EDGES, fast.cpuMs);
const naiveRate = rate(NAIVE_SAMPLE, naiveSpan.cpuMs);
const mem = process.memoryUsage();
console.log(
  `policy replay: ${NAMESPACES} namespaces, ${PODS} pods, ${policies.length} policies, ${EDGES} edges (${allowed} allowed)`,
);
console.log(`  index build          ${buildMs.toFixed(1)} ms`);
console.log(line('  indexed isAllowed (cold cache)', EDGES, fast));
console.log(line('  indexed isAllowed (warm cache)', EDGES, warm));
console.log(line('  indexed evaluate + why        ', EDGES, explain));
console.log(
  line(`  naive, sample of ${NAIVE_SAMPLE}        `, NAIVE_SAMPLE, naiveSpan) + '  same verdicts: yes',
);
console.log(line('  baseline: read the edges only  ', EDGES, baseline));
console.log(`  ratio indexed/naive (cpu)      ${(fastRate / naiveRate).toFixed(0)}x`);
console.log(
  `  peak RSS             ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB (heap used now ${(mem.heapUsed / 1048576).toFixed(0)} MiB)`,
);
console.log(`  target ≥ 200,000 edges/s (cpu): ${fastRate >= 200_000 ? 'met' : 'NOT met'}`);

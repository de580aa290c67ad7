// Benchmark (b): connectivity analysis of the largest conformance case (by expected entries) with
// the indexed evaluator, beside the naive evaluator (every policy for every pair) in the same run.
// Both must produce the same entries, and the indexed one must match expected.json.
// Run: npx tsc -p tsconfig.build.json && node dist/bench/policy/connectivity.js [repeats]
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { loadManifests } from '../../mapper/kube/manifests.js';
import type { ConnectivityEntry } from '../../mapper/policy/connectivity.js';
import { analyzeConnectivity } from '../../mapper/policy/connectivity.js';
import { createEvaluator, createNaiveEvaluator } from '../../mapper/policy/evaluate.js';
import { decodePolicies } from '../../mapper/policy/model.js';
import { formatPorts, parsePorts, portsEqual } from '../../mapper/policy/ports.js';
import { buildWorkloads } from '../../mapper/policy/workloads.js';

const REPEATS = Number(process.argv[2] ?? 5);
const CORPUS = join(process.cwd(), 'test', 'fixtures', 'conformance', 'netpol');

interface Expected {
  readonly expected: readonly { src: string; dst: string; conns: 'All' | string[] }[];
}

const cases = readdirSync(CORPUS).filter((c) => statSync(join(CORPUS, c)).isDirectory());
const sizes = cases.map((c) => ({
  name: c,
  expected: JSON.parse(readFileSync(join(CORPUS, c, 'expected.json'), 'utf8')) as Expected,
}));
sizes.sort((a, b) => b.expected.expected.length - a.expected.expected.length);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
function time(fn: () => ConnectivityEntry[]): { ms: number; cpuMs: number; entries: ConnectivityEntry[] } {
  const walls: number[] = [];
  const cpus: number[] = [];
  let entries: ConnectivityEntry[] = [];
  for (let i = 0; i < REPEATS; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    entries = fn();
    walls.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpus.push((c.user + c.system) / 1000);
  }
  return { ms: median(walls), cpuMs: median(cpus), entries };
}

async function benchCase(name: string, expected: Expected, why: string): Promise<void> {
  const loadStart = performance.now();
  const loaded = await loadManifests(join(CORPUS, name, 'manifests'));
  const { policies: sourced } = decodePolicies(loaded.objects);
  const { workloads } = buildWorkloads(loaded.objects);
  const policies = sourced.map((s) => s.policy);
  const loadMs = performance.now() - loadStart;

  // Each run builds its evaluator, as the command does. One untimed run of each first, so that both
  // are measured with the JIT warm (they share most code).
  const runIndexed = (): ConnectivityEntry[] =>
    analyzeConnectivity(workloads, policies, { evaluator: createEvaluator(policies) });
  const runNaive = (): ConnectivityEntry[] =>
    analyzeConnectivity(workloads, policies, { evaluator: createNaiveEvaluator(policies) });
  runIndexed();
  runNaive();
  const indexed = time(runIndexed);
  const naive = time(runNaive);

  const same =
    indexed.entries.length === naive.entries.length &&
    indexed.entries.every((e, i) => {
      const n = naive.entries[i]!;
      return e.src === n.src && e.dst === n.dst && portsEqual(e.ports, n.ports);
    });
  if (!same) throw new Error('the indexed and the naive analyses differ');
  const want = new Map(
    expected.expected.map((e) => [`${e.src} => ${e.dst}`, JSON.stringify(formatPorts(parsePorts(e.conns)!))]),
  );
  const matches =
    want.size === indexed.entries.length &&
    indexed.entries.every((e) => want.get(`${e.src} => ${e.dst}`) === JSON.stringify(formatPorts(e.ports)));

  console.log(
    `connectivity: case ${name} (${why}): ${workloads.length} workloads, ${policies.length} policies, ${indexed.entries.length} entries (matches expected.json: ${matches ? 'yes' : 'NO'})`,
  );
  console.log(`  load + decode          ${loadMs.toFixed(0)} ms`);
  console.log(
    `  indexed analysis       median of ${REPEATS}: wall ${indexed.ms.toFixed(1)} ms, cpu ${indexed.cpuMs.toFixed(1)} ms`,
  );
  console.log(
    `  naive analysis         median of ${REPEATS}: wall ${naive.ms.toFixed(1)} ms, cpu ${naive.cpuMs.toFixed(1)} ms`,
  );
  console.log(`  ratio naive/indexed    ${(naive.cpuMs / indexed.cpuMs).toFixed(2)}x (cpu)`);
}

const largest = sizes[0]!;
await benchCase(largest.name, largest.expected, 'largest by expected entries');
// The largest case has a single policy, where an index cannot help; also time the case with the
// most policies, where the naive evaluator's scan costs most.
const policyCounts = await Promise.all(
  sizes.map(async (c) => ({
    ...c,
    policies: decodePolicies((await loadManifests(join(CORPUS, c.name, 'manifests'))).objects).policies
      .length,
  })),
);
policyCounts.sort(
  (a, b) => b.policies - a.policies || b.expected.expected.length - a.expected.expected.length,
);
const most = policyCounts[0]!;
await benchCase(most.name, most.expected, 'most policies');
console.log(`peak RSS ${(process.resourceUsage().maxRSS / 1024).toFixed(0)} MiB`);

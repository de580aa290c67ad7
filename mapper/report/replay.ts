// Replay of stored edges through the policy engine (`intentmap simulate`): every observed edge,
// with its resolved identities, labels and the IPs it was seen with, gets a verdict under a policy
// set, with the why; totals per server and per client; and, given a second set, the edges whose
// verdict changes. Pure: the CLI loads edges, endpoints, policies and the cluster view.
import type { GraphEdge, Identity } from '../graph/model.js';
import type { ClusterView } from '../intents/cluster.js';
import { compareText } from '../intents/model.js';
import {
  buildEvaluator,
  endpointFor,
  explain,
  allowingRules,
  type NetworkPolicy,
  type PolicyEvaluator,
  type Verdict,
} from './policy-engine.js';

/** One (client IP, server IP) pair an edge was seen between. */
export interface ReplayEndpoint {
  readonly clientIp: string;
  readonly serverIp: string;
  readonly count: number;
  readonly lastSeen: number;
}

/** An edge with the addresses it was seen with. */
export interface ReplayEdge {
  readonly edge: GraphEdge;
  readonly endpoints: readonly ReplayEndpoint[];
}

/** The replay of one edge. */
export interface EdgeOutcome {
  readonly edge: GraphEdge;
  /** True when every address pair is allowed. */
  readonly allowed: boolean;
  /** The verdict of the first denied pair, else of the first pair. */
  readonly verdict: Verdict;
  /** One line: the rules that allow it, or the policies that isolate an end with no matching rule. */
  readonly why: string;
  readonly allowedBy: readonly string[];
  /** Address pairs that are denied (when IP-dependent rules make some pairs differ). */
  readonly deniedEndpoints: readonly ReplayEndpoint[];
  /** The source is a node or a host-network pod: from the pod's own node, Kubernetes always allows it. */
  readonly hostSource: boolean;
  /** Denied by policy but reported allowed because the source is host traffic (see replayEdge). */
  readonly hostException: boolean;
}

/** A display name for an identity: `ns/name`, `node/NAME`, an IP (with `unresolved ` in front when unresolved). */
export function identityLabel(i: Identity): string {
  switch (i.kind) {
    case 'workload':
    case 'service':
      return `${i.namespace}/${i.name}`;
    case 'node':
      return `node/${i.name}`;
    case 'external':
      return i.name;
    case 'unresolved':
      return `unresolved ${i.name}`;
  }
}

/** Replays one edge. */
export function replayEdge(e: ReplayEdge, evaluator: PolicyEvaluator, cluster: ClusterView): EdgeOutcome {
  const pairs: readonly ReplayEndpoint[] =
    e.endpoints.length > 0
      ? e.endpoints
      : [{ clientIp: '', serverIp: '', count: e.edge.count, lastSeen: e.edge.lastSeen }];
  const verdicts = pairs.map((p) =>
    evaluator.evaluate(
      endpointFor(e.edge.client, p.clientIp, cluster),
      endpointFor(e.edge.server, p.serverIp, cluster),
      e.edge.protocol,
      e.edge.port,
    ),
  );
  const first: Verdict =
    verdicts[0] ??
    evaluator.evaluate(
      endpointFor(e.edge.client, '', cluster),
      endpointFor(e.edge.server, '', cluster),
      e.edge.protocol,
      e.edge.port,
    );
  let firstDenied: Verdict | undefined;
  const denied: ReplayEndpoint[] = [];
  for (const [i, p] of pairs.entries()) {
    const v = verdicts[i] ?? first;
    if (!v.allowed) {
      firstDenied ??= v;
      denied.push(p);
    }
  }
  const verdict = firstDenied ?? first;
  const hostSource = e.edge.client.kind === 'node' || e.edge.client.attrs['hostNetwork'] === true;
  // "Pods cannot ... block access from their resident node" (Kubernetes NetworkPolicy docs, "What
  // you can't do with network policies"): kubelet probes and other host traffic from the pod's
  // own node pass whatever the policies say. A denied ingress from a host source is therefore
  // reported as allowed, flagged, with the caveat that other nodes depend on the CNI.
  const hostException = hostSource && firstDenied !== undefined && verdict.egress.allowed;
  return {
    edge: e.edge,
    allowed: firstDenied === undefined || hostException,
    verdict,
    why: hostException
      ? `allowed from the pod's own node only (host-network source; a pod cannot block its resident node); from other nodes ${explain(verdict)}`
      : explain(verdict),
    allowedBy: allowingRules(verdict),
    deniedEndpoints: e.endpoints.length > 0 && !hostException ? denied : [],
    hostSource,
    hostException,
  };
}

/** Totals for one server or client. */
export interface ReplayTotals {
  readonly name: string;
  readonly edges: number;
  readonly allowed: number;
  readonly blocked: number;
  /** Observed connections (sum of counts) that would be blocked. */
  readonly blockedConnections: number;
}

/** One edge whose verdict differs between two policy sets. */
export interface VerdictChangeRow {
  readonly edge: GraphEdge;
  readonly before: EdgeOutcome;
  readonly after: EdgeOutcome;
}

/** The result of a simulation. */
export interface SimulationResult {
  readonly edges: readonly EdgeOutcome[];
  readonly perServer: readonly ReplayTotals[];
  readonly perClient: readonly ReplayTotals[];
  readonly totals: { readonly edges: number; readonly allowed: number; readonly blocked: number };
  /** With a comparison set: the edges whose verdict changes (before = `policies`, after = `compare`). */
  readonly changes?: readonly VerdictChangeRow[];
}

function totals(outcomes: readonly EdgeOutcome[], keyOf: (o: EdgeOutcome) => string): ReplayTotals[] {
  const m = new Map<
    string,
    { edges: number; allowed: number; blocked: number; blockedConnections: number }
  >();
  for (const o of outcomes) {
    const k = keyOf(o);
    const t = m.get(k) ?? { edges: 0, allowed: 0, blocked: 0, blockedConnections: 0 };
    t.edges++;
    if (o.allowed) t.allowed++;
    else {
      t.blocked++;
      t.blockedConnections += o.edge.count;
    }
    m.set(k, t);
  }
  return [...m.entries()]
    .sort((a, b) => b[1].blocked - a[1].blocked || compareText(a[0], b[0]))
    .map(([name, t]) => ({ name, ...t }));
}

function edgeOrder(a: GraphEdge, b: GraphEdge): number {
  return (
    compareText(identityLabel(a.server), identityLabel(b.server)) ||
    compareText(identityLabel(a.client), identityLabel(b.client)) ||
    compareText(a.protocol, b.protocol) ||
    a.port - b.port ||
    a.id - b.id
  );
}

/** Replays every edge under `policies` (and, with `compare`, under the second set too). */
export function simulate(
  edges: readonly ReplayEdge[],
  policies: readonly NetworkPolicy[],
  cluster: ClusterView,
  compare?: readonly NetworkPolicy[],
): SimulationResult {
  const sorted = [...edges].sort((a, b) => edgeOrder(a.edge, b.edge));
  const ev = buildEvaluator(policies);
  const outcomes = sorted.map((e) => replayEdge(e, ev, cluster));
  let changes: VerdictChangeRow[] | undefined;
  if (compare !== undefined) {
    const ev2 = buildEvaluator(compare);
    changes = [];
    sorted.forEach((e, i) => {
      const after = replayEdge(e, ev2, cluster);
      const before = outcomes[i] as EdgeOutcome;
      if (after.allowed !== before.allowed) changes?.push({ edge: e.edge, before, after });
    });
  }
  const allowed = outcomes.filter((o) => o.allowed).length;
  return {
    edges: outcomes,
    perServer: totals(outcomes, (o) => identityLabel(o.edge.server)),
    perClient: totals(outcomes, (o) => identityLabel(o.edge.client)),
    totals: { edges: outcomes.length, allowed, blocked: outcomes.length - allowed },
    ...(changes !== undefined ? { changes } : {}),
  };
}

/** Output formats of `intentmap simulate`. */
export const SIMULATE_FORMATS = ['table', 'json', 'md'] as const;
/** An output format of `intentmap simulate`. */
export type SimulateFormat = (typeof SIMULATE_FORMATS)[number];

function verdictText(o: EdgeOutcome): string {
  return o.allowed ? 'allowed' : 'would be blocked';
}

function flowText(e: GraphEdge): string {
  return `${e.protocol}/${e.port}`;
}

/** The JSON form of a simulation: stable field names for scripts. */
export function simulationToJson(r: SimulationResult): unknown {
  const row = (o: EdgeOutcome): unknown => ({
    id: o.edge.id,
    client: identityLabel(o.edge.client),
    server: identityLabel(o.edge.server),
    protocol: o.edge.protocol,
    port: o.edge.port,
    count: o.edge.count,
    lastSeen: new Date(o.edge.lastSeen).toISOString(),
    verdict: o.allowed ? 'allowed' : 'would-be-blocked',
    why: o.why,
    allowedBy: o.allowedBy,
    isolatedBy: [...o.verdict.egress.isolatedBy, ...o.verdict.ingress.isolatedBy],
    ...(o.hostSource ? { hostSource: true } : {}),
    ...(o.deniedEndpoints.length > 0 ? { deniedEndpoints: o.deniedEndpoints } : {}),
  });
  return {
    totals: r.totals,
    perServer: r.perServer,
    perClient: r.perClient,
    edges: r.edges.map(row),
    ...(r.changes !== undefined
      ? {
          changes: r.changes.map((c) => ({
            client: identityLabel(c.edge.client),
            server: identityLabel(c.edge.server),
            protocol: c.edge.protocol,
            port: c.edge.port,
            before: c.before.allowed ? 'allowed' : 'would-be-blocked',
            after: c.after.allowed ? 'allowed' : 'would-be-blocked',
            whyBefore: c.before.why,
            whyAfter: c.after.why,
          })),
        }
      : {}),
  };
}

function pad(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Escapes text for a Markdown table cell. */
export function mdCell(s: string): string {
  return s
    .replace(/\\/g, '\\\\')
    .replace(/\|/g, '\\|')
    .replace(/\r?\n/g, ' ')
    .replace(/[<>]/g, (c) => (c === '<' ? '&lt;' : '&gt;'));
}

/** Renders a simulation as text (`table`), JSON or Markdown. */
export function renderSimulation(r: SimulationResult, format: SimulateFormat): string {
  if (format === 'json') return `${JSON.stringify(simulationToJson(r), null, 2)}\n`;
  if (format === 'table') {
    const lines: string[] = [];
    lines.push(
      pad([
        ['CLIENT', 'SERVER', 'PORT', 'COUNT', 'VERDICT', 'WHY'],
        ...r.edges.map((o) => [
          identityLabel(o.edge.client),
          identityLabel(o.edge.server),
          flowText(o.edge),
          String(o.edge.count),
          verdictText(o),
          o.why,
        ]),
      ]),
    );
    lines.push(
      '',
      `${r.totals.edges} edges: ${r.totals.allowed} allowed, ${r.totals.blocked} would be blocked.`,
      '',
    );
    lines.push(
      pad([
        ['SERVER', 'EDGES', 'ALLOWED', 'BLOCKED'],
        ...r.perServer.map((t) => [t.name, String(t.edges), String(t.allowed), String(t.blocked)]),
      ]),
      '',
    );
    lines.push(
      pad([
        ['CLIENT', 'EDGES', 'ALLOWED', 'BLOCKED'],
        ...r.perClient.map((t) => [t.name, String(t.edges), String(t.allowed), String(t.blocked)]),
      ]),
    );
    if (r.changes !== undefined) {
      lines.push('', `${r.changes.length} edges change verdict between the two policy sets:`);
      if (r.changes.length > 0) {
        lines.push(
          pad([
            ['CLIENT', 'SERVER', 'PORT', 'BEFORE', 'AFTER', 'WHY AFTER'],
            ...r.changes.map((c) => [
              identityLabel(c.edge.client),
              identityLabel(c.edge.server),
              flowText(c.edge),
              verdictText(c.before),
              verdictText(c.after),
              c.after.why,
            ]),
          ]),
        );
      }
    }
    return `${lines.join('\n')}\n`;
  }
  const md: string[] = [
    '## intentmap simulate',
    '',
    `**${r.totals.edges}** observed edges: **${r.totals.allowed}** allowed, **${r.totals.blocked}** would be blocked.`,
    '',
  ];
  const blocked = r.edges.filter((o) => !o.allowed);
  if (blocked.length > 0) {
    md.push('### Would be blocked', '', '| Client | Server | Port | Count | Why |', '|---|---|---|---:|---|');
    for (const o of blocked)
      md.push(
        `| ${mdCell(identityLabel(o.edge.client))} | ${mdCell(identityLabel(o.edge.server))} | ${flowText(o.edge)} | ${o.edge.count} | ${mdCell(o.why)} |`,
      );
    md.push('');
  }
  md.push('### Per server', '', '| Server | Edges | Allowed | Would be blocked |', '|---|---:|---:|---:|');
  for (const t of r.perServer) md.push(`| ${mdCell(t.name)} | ${t.edges} | ${t.allowed} | ${t.blocked} |`);
  md.push(
    '',
    '### Per client',
    '',
    '| Client | Edges | Allowed | Would be blocked |',
    '|---|---:|---:|---:|',
  );
  for (const t of r.perClient) md.push(`| ${mdCell(t.name)} | ${t.edges} | ${t.allowed} | ${t.blocked} |`);
  if (r.changes !== undefined) {
    md.push('', `### Verdict changes (${r.changes.length})`, '');
    if (r.changes.length > 0) {
      md.push('| Client | Server | Port | Before | After | Why (after) |', '|---|---|---|---|---|---|');
      for (const c of r.changes)
        md.push(
          `| ${mdCell(identityLabel(c.edge.client))} | ${mdCell(identityLabel(c.edge.server))} | ${flowText(c.edge)} | ${verdictText(c.before)} | ${verdictText(c.after)} | ${mdCell(c.after.why)} |`,
        );
    } else md.push('No observed edge changes verdict.');
  }
  md.push(
    '',
    '<details><summary>All edges</summary>',
    '',
    '| Client | Server | Port | Count | Verdict | Why |',
    '|---|---|---|---:|---|---|',
  );
  for (const o of r.edges)
    md.push(
      `| ${mdCell(identityLabel(o.edge.client))} | ${mdCell(identityLabel(o.edge.server))} | ${flowText(o.edge)} | ${o.edge.count} | ${verdictText(o)} | ${mdCell(o.why)} |`,
    );
  md.push('', '</details>');
  return `${md.join('\n')}\n`;
}

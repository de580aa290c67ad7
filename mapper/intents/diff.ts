// Drift between declared intents (as kept in git) and observed traffic:
// - missing: observed but not declared, so enforcement would block it;
// - unused: declared but not seen in the window (a least-privilege clean-up candidate);
// - unknown: a declared client or target that does not exist in the cluster.
// Pure: edges, intents and the cluster view are inputs.
import type { GraphEdge } from '../graph/model.js';
import { mdCell } from '../report/replay.js';
import { workloadKey, workloadRef, type ClusterView } from './cluster.js';
import {
  compareText,
  formatPort,
  type ClientIntents,
  type IntentIssue,
  type InternetTarget,
} from './model.js';
import { resolveIntents } from './netpol.js';
import { classifyInfrastructure } from './suggest.js';
import { findWorkloads } from './cluster.js';

/** An observed flow that no intent declares. */
export interface MissingIntent {
  readonly client: string;
  readonly target: string;
  readonly port: string;
  readonly count: number;
  readonly lastSeen: string;
  /** `no intent for this target` or `target declared without this port`. */
  readonly reason: string;
}

/** A declared target not observed in the window. */
export interface UnusedIntent {
  readonly client: string;
  readonly target: string;
  /** Declared ports not observed (empty: the whole target was not observed). */
  readonly ports: readonly string[];
  readonly source?: string;
}

/** A declared client or target that the cluster does not have. */
export interface UnknownIntent {
  readonly client: string;
  readonly target: string;
  readonly reason: string;
  readonly source?: string;
}

/** The drift report. */
export interface DriftResult {
  readonly missing: readonly MissingIntent[];
  readonly unused: readonly UnusedIntent[];
  readonly unknown: readonly UnknownIntent[];
  readonly issues: readonly IntentIssue[];
  readonly window: { readonly since: string; readonly until: string };
}

function domainMatches(pattern: string, name: string): boolean {
  const p = pattern.toLowerCase().replace(/\.$/, '');
  const n = name.toLowerCase().replace(/\.$/, '');
  return p.startsWith('*.') ? n.endsWith(p.slice(1)) && n.length > p.length - 1 : p === n;
}

function internetCovers(t: InternetTarget, ip: string, dnsNames: readonly string[], port: number): boolean {
  const hit =
    t.ips.some((x) => x === ip || (x.includes('/') && cidrHas(x, ip))) ||
    dnsNames.some((d) => t.domains.some((p) => domainMatches(p, d)));
  return hit && (t.ports.length === 0 || t.ports.includes(port));
}

function cidrHas(cidr: string, ip: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const toNum = (s: string): number | null => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(s);
    return m
      ? ((Number(m[1]) << 24) | (Number(m[2]) << 16) | (Number(m[3]) << 8) | Number(m[4])) >>> 0
      : null;
  };
  const b = base !== undefined ? toNum(base) : null;
  const x = toNum(ip);
  const bits = Number(bitsText);
  if (b === null || x === null || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (b & mask) === (x & mask);
}

/** Options of diffIntents. */
export interface DiffOptions {
  readonly since: number;
  readonly until: number;
}

/** Compares declared intents with the edges observed in [since, until]. */
export function diffIntents(
  declared: readonly ClientIntents[],
  edges: readonly GraphEdge[],
  cluster: ClusterView,
  options: DiffOptions,
): DriftResult {
  const resolved = resolveIntents(declared, cluster);
  const inWindow = edges.filter((e) => e.lastSeen >= options.since && e.firstSeen <= options.until);
  // Declared grants by (client, server) key → ports (null = all) and the target text.
  const grants = new Map<
    string,
    {
      target: string;
      ports: Set<string> | null;
      used: Set<string>;
      anyUse: boolean;
      source?: string;
      client: string;
    }
  >();
  for (const g of resolved.grants) {
    const key = `${workloadKey(g.client)}>${workloadKey(g.server)}`;
    const prev = grants.get(key);
    const ports = g.ports.length === 0 ? null : new Set(g.ports.map(formatPort));
    if (prev === undefined) {
      grants.set(key, {
        target: g.target,
        ports,
        used: new Set(),
        anyUse: false,
        client: workloadRef(g.client),
        ...(g.intent.source !== undefined ? { source: g.intent.source } : {}),
      });
    } else if (prev.ports !== null) {
      if (ports === null) prev.ports = null;
      else for (const p of ports) prev.ports.add(p);
    }
  }
  const internetByClient = new Map<
    string,
    { target: InternetTarget; used: boolean; intent: ClientIntents }[]
  >();
  for (const c of resolved.clients) {
    internetByClient.set(
      workloadKey(c.client),
      c.intents.flatMap((ci) =>
        ci.targets
          .filter((t): t is InternetTarget => t.type === 'internet')
          .map((target) => ({ target, used: false, intent: ci })),
      ),
    );
  }
  const declaredClients = new Set(resolved.clients.map((c) => workloadKey(c.client)));
  const missing = new Map<
    string,
    { client: string; target: string; port: string; count: number; lastSeen: number; reason: string }
  >();
  const addMissing = (
    client: string,
    target: string,
    port: string,
    count: number,
    lastSeen: number,
    reason: string,
  ): void => {
    const key = `${client}>${target}>${port}`;
    const m = missing.get(key);
    if (m === undefined) missing.set(key, { client, target, port, count, lastSeen, reason });
    else {
      m.count += count;
      m.lastSeen = Math.max(m.lastSeen, lastSeen);
    }
  };
  for (const e of inWindow) {
    if (e.client.kind !== 'workload') continue;
    if (classifyInfrastructure(e) !== null) continue;
    const client = findWorkloads(
      cluster,
      e.client.namespace,
      e.client.name,
      e.client.workloadKind || undefined,
    )[0];
    if (client === undefined) continue;
    const clientRef = workloadRef(client);
    const port = `${e.protocol}/${e.port}`;
    if (e.server.kind === 'external') {
      const list = internetByClient.get(workloadKey(client)) ?? [];
      const hit = list.find((x) => internetCovers(x.target, e.server.name, e.dnsNames, e.port));
      if (hit) hit.used = true;
      else
        addMissing(
          clientRef,
          e.dnsNames[0] ?? e.server.name,
          port,
          e.count,
          e.lastSeen,
          list.length === 0
            ? 'no internet target declared'
            : 'no internet target covers this address and port',
        );
      continue;
    }
    if (e.server.kind !== 'workload') continue;
    const server = findWorkloads(
      cluster,
      e.server.namespace,
      e.server.name,
      e.server.workloadKind || undefined,
    )[0];
    if (server === undefined) continue;
    const g = grants.get(`${workloadKey(client)}>${workloadKey(server)}`);
    if (g === undefined) {
      addMissing(
        clientRef,
        workloadRef(server),
        port,
        e.count,
        e.lastSeen,
        declaredClients.has(workloadKey(client)) ? 'target not declared' : 'client has no ClientIntents',
      );
      continue;
    }
    g.anyUse = true;
    g.used.add(port);
    if (g.ports !== null && !g.ports.has(port))
      addMissing(
        clientRef,
        workloadRef(server),
        port,
        e.count,
        e.lastSeen,
        `target "${g.target}" declared without this port`,
      );
  }
  const unused: UnusedIntent[] = [];
  for (const g of grants.values()) {
    if (!g.anyUse)
      unused.push({
        client: g.client,
        target: g.target,
        ports: [],
        ...(g.source !== undefined ? { source: g.source } : {}),
      });
    else if (g.ports !== null) {
      const idle = [...g.ports].filter((p) => !g.used.has(p)).sort();
      if (idle.length > 0)
        unused.push({
          client: g.client,
          target: g.target,
          ports: idle,
          ...(g.source !== undefined ? { source: g.source } : {}),
        });
    }
  }
  for (const [key, list] of internetByClient) {
    for (const x of list) {
      if (!x.used) {
        unused.push({
          client: key
            .split('/')
            .filter((_, i) => i !== 1)
            .join('/'),
          target: `internet ${[...x.target.domains, ...x.target.ips].join(',')}`,
          ports: [],
          ...(x.intent.source !== undefined ? { source: x.intent.source } : {}),
        });
      }
    }
  }
  const unknown: UnknownIntent[] = resolved.unknown.map((u) => ({
    client: `${u.intent.namespace}/${u.intent.workload.name}`,
    target: u.target,
    reason: u.reason,
    ...(u.intent.source !== undefined ? { source: u.intent.source } : {}),
  }));
  const iso = (ms: number): string => new Date(ms).toISOString();
  return {
    missing: [...missing.values()]
      .sort(
        (a, b) =>
          compareText(a.client, b.client) || compareText(a.target, b.target) || compareText(a.port, b.port),
      )
      .map((m) => ({ ...m, lastSeen: iso(m.lastSeen) })),
    unused: unused.sort((a, b) => compareText(a.client, b.client) || compareText(a.target, b.target)),
    unknown: unknown.sort((a, b) => compareText(a.client, b.client) || compareText(a.target, b.target)),
    issues: resolved.issues,
    window: { since: iso(options.since), until: iso(options.until) },
  };
}

/** Output formats of `intentmap diff`. */
export const DIFF_FORMATS = ['text', 'json', 'md'] as const;
/** An output format of `intentmap diff`. */
export type DiffFormat = (typeof DIFF_FORMATS)[number];

/** Renders drift as text, JSON, or Markdown for a pull-request comment. */
export function renderDrift(d: DriftResult, format: DiffFormat): string {
  if (format === 'json') return `${JSON.stringify(d, null, 2)}\n`;
  if (format === 'text') {
    const lines: string[] = [
      `drift between declared intents and traffic observed ${d.window.since} .. ${d.window.until}`,
    ];
    lines.push(`missing (${d.missing.length}): observed but not declared; enforcement would block these`);
    for (const m of d.missing)
      lines.push(`  ${m.client} -> ${m.target} ${m.port} (${m.count} seen, last ${m.lastSeen}): ${m.reason}`);
    lines.push(`unused (${d.unused.length}): declared but not seen in the window`);
    for (const u of d.unused)
      lines.push(
        `  ${u.client} -> ${u.target}${u.ports.length > 0 ? ` ports ${u.ports.join(',')}` : ''}${u.source !== undefined ? ` (${u.source})` : ''}`,
      );
    lines.push(`unknown (${d.unknown.length}): not in the cluster`);
    for (const u of d.unknown)
      lines.push(
        `  ${u.client} -> ${u.target}: ${u.reason}${u.source !== undefined ? ` (${u.source})` : ''}`,
      );
    for (const i of d.issues) lines.push(`${i.severity}: ${i.subject}: ${i.message}`);
    return `${lines.join('\n')}\n`;
  }
  const md: string[] = ['## intentmap: intents drift', ''];
  md.push(
    `Traffic observed ${d.window.since} → ${d.window.until}: **${d.missing.length} missing**, ${d.unused.length} unused, ${d.unknown.length} unknown.`,
    '',
  );
  if (d.missing.length > 0) {
    md.push(
      '### ⛔ Missing: observed, not declared (enforcement would block these)',
      '',
      '| Client | Target | Port | Count | Last seen | Reason |',
      '|---|---|---|---:|---|---|',
    );
    for (const m of d.missing)
      md.push(
        `| \`${mdCell(m.client)}\` | \`${mdCell(m.target)}\` | ${m.port} | ${m.count} | ${m.lastSeen} | ${mdCell(m.reason)} |`,
      );
    md.push('');
  }
  if (d.unused.length > 0) {
    md.push(
      '### 🧹 Unused: declared, not seen in the window',
      '',
      '| Client | Target | Idle ports | File |',
      '|---|---|---|---|',
    );
    for (const u of d.unused)
      md.push(
        `| \`${mdCell(u.client)}\` | \`${mdCell(u.target)}\` | ${u.ports.length > 0 ? mdCell(u.ports.join(', ')) : 'all'} | ${mdCell(u.source ?? '')} |`,
      );
    md.push('');
  }
  if (d.unknown.length > 0) {
    md.push(
      '### ❓ Unknown: not in the cluster',
      '',
      '| Client | Target | Reason | File |',
      '|---|---|---|---|',
    );
    for (const u of d.unknown)
      md.push(
        `| \`${mdCell(u.client)}\` | \`${mdCell(u.target)}\` | ${mdCell(u.reason)} | ${mdCell(u.source ?? '')} |`,
      );
    md.push('');
  }
  if (d.missing.length + d.unused.length + d.unknown.length === 0)
    md.push('✅ Declared intents match observed traffic.', '');
  if (d.issues.length > 0) {
    md.push('<details><summary>Findings</summary>', '');
    for (const i of d.issues) md.push(`- ${i.severity}: ${mdCell(i.subject)}: ${mdCell(i.message)}`);
    md.push('', '</details>', '');
  }
  return `${md.join('\n')}\n`;
}

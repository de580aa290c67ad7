// Suggested ClientIntents from observed edges: one document per client workload, listing every
// server it was seen calling, with the observed ports kept in an annotation. Pure and
// deterministic: the same edges give the same documents, in the same order.
import type { GraphEdge, Identity } from '../graph/model.js';
import {
  compareText,
  comparePorts,
  formatTargetName,
  type ClientIntents,
  type IntentIssue,
  type IntentTarget,
  type PortSpec,
} from './model.js';

/**
 * How Kubernetes infrastructure that every pod uses is handled:
 * - `include`: listed as ordinary targets;
 * - `exclude`: left out, with a note per client;
 * - `annotate` (default): left out of targets and recorded in the `intentmap.dev/infrastructure`
 *   annotation, so the NetworkPolicy generator still allows it for egress.
 */
export const INFRA_MODES = ['annotate', 'exclude', 'include'] as const;
/** An infrastructure handling mode. */
export type InfraMode = (typeof INFRA_MODES)[number];

/** Infrastructure kinds intentmap recognises. */
export const INFRA_KINDS = { dns: 'dns', apiServer: 'kube-apiserver' } as const;
/** An infrastructure kind. */
export type InfraKind = (typeof INFRA_KINDS)[keyof typeof INFRA_KINDS];

/** Options of suggestIntents. */
export interface SuggestOptions {
  readonly infra?: InfraMode;
  /** Only clients in this namespace. */
  readonly namespace?: string;
  /** Only this client (`name` or `namespace/name`). */
  readonly workload?: string;
}

/** Suggested documents and what was left out. */
export interface SuggestResult {
  readonly intents: readonly ClientIntents[];
  readonly issues: readonly IntentIssue[];
}

/** The cluster DNS (CoreDNS/kube-dns labels `k8s-app: kube-dns`), reached on port 53. */
function isClusterDns(server: Identity, via: Identity | null, port: number): boolean {
  if (port !== 53) return false;
  const dnsLike = (i: Identity | null): boolean =>
    i !== null &&
    i.namespace === 'kube-system' &&
    (i.labels['k8s-app'] === 'kube-dns' || i.name === 'kube-dns' || i.name === 'coredns');
  return dnsLike(server) || dnsLike(via);
}

/** The API server: the `default/kubernetes` Service (Otterize's KubernetesAPIServerName/Namespace) or kube-apiserver pods. */
function isApiServer(server: Identity, via: Identity | null): boolean {
  const svc = (i: Identity | null): boolean =>
    i !== null && i.kind === 'service' && i.namespace === 'default' && i.name === 'kubernetes';
  return (
    svc(server) ||
    svc(via) ||
    (server.namespace === 'kube-system' &&
      (server.name === 'kube-apiserver' || server.labels['component'] === 'kube-apiserver'))
  );
}

/** Which infrastructure an edge goes to, if any. */
export function classifyInfrastructure(edge: Pick<GraphEdge, 'server' | 'via' | 'port'>): InfraKind | null {
  if (isClusterDns(edge.server, edge.via, edge.port)) return INFRA_KINDS.dns;
  if (isApiServer(edge.server, edge.via)) return INFRA_KINDS.apiServer;
  return null;
}

function matchesWorkloadFilter(i: Identity, filter: string): boolean {
  const slash = filter.indexOf('/');
  return slash >= 0
    ? i.namespace === filter.slice(0, slash) && i.name === filter.slice(slash + 1)
    : i.name === filter;
}

interface TargetAcc {
  readonly sortKey: string;
  readonly make: (ports: readonly PortSpec[]) => IntentTarget;
  readonly ports: Map<string, PortSpec>;
}

interface InternetAcc {
  readonly domains: Set<string>;
  readonly ips: Set<string>;
  readonly ports: Set<number>;
}

interface ClientAcc {
  readonly client: Identity;
  readonly targets: Map<string, TargetAcc>;
  /** External destinations by IP. */
  readonly internet: Map<string, InternetAcc>;
  readonly infrastructure: Set<string>;
}

/** Builds one suggested ClientIntents per client workload from observed edges. */
export function suggestIntents(edges: readonly GraphEdge[], options: SuggestOptions = {}): SuggestResult {
  const infra = options.infra ?? 'annotate';
  const issues: IntentIssue[] = [];
  const clients = new Map<string, ClientAcc>();
  const skipped = new Map<string, number>();
  const skip = (why: string): void => {
    skipped.set(why, (skipped.get(why) ?? 0) + 1);
  };
  for (const e of edges) {
    const c = e.client;
    if (c.kind !== 'workload') {
      skip(`edges from ${c.kind} clients (only workloads own intents)`);
      continue;
    }
    if (options.namespace !== undefined && c.namespace !== options.namespace) continue;
    if (options.workload !== undefined && !matchesWorkloadFilter(c, options.workload)) continue;
    const clientKey = `${c.namespace}/${c.workloadKind}/${c.name}`;
    let acc = clients.get(clientKey);
    if (acc === undefined) {
      acc = { client: c, targets: new Map(), internet: new Map(), infrastructure: new Set() };
      clients.set(clientKey, acc);
    }
    const kind = classifyInfrastructure(e);
    if (kind !== null && infra !== 'include') {
      acc.infrastructure.add(kind);
      continue;
    }
    const s = e.server;
    const port: PortSpec = { protocol: e.protocol, port: e.port };
    if (s.kind === 'workload' || s.kind === 'service') {
      const name = formatTargetName(s.name, s.namespace, c.namespace);
      const kindName = s.kind === 'service' ? 'Service' : s.workloadKind;
      const key = `${s.kind === 'workload' ? 'k' : 's'}:${name}\u0000${kindName}`;
      let t = acc.targets.get(key);
      if (t === undefined) {
        t = {
          sortKey: key,
          ports: new Map(),
          make:
            s.kind === 'service'
              ? (ports) => ({ type: 'service', name, ports })
              : (ports) => ({ type: 'kubernetes', name, ...(kindName ? { kind: kindName } : {}), ports }),
        };
        acc.targets.set(key, t);
      }
      t.ports.set(`${port.protocol}/${port.port}`, port);
    } else if (s.kind === 'external') {
      let t = acc.internet.get(s.name);
      if (t === undefined) {
        t = { domains: new Set(), ips: new Set([s.name]), ports: new Set() };
        acc.internet.set(s.name, t);
      }
      for (const d of e.dnsNames) t.domains.add(d.replace(/\.$/, ''));
      // Otterize's internet ports are TCP-only in its generated policies; UDP ports are noted.
      if (e.protocol === 'TCP') t.ports.add(e.port);
      else skip(`non-TCP external flows (Otterize internet targets carry TCP ports only)`);
    } else {
      skip(`edges to ${s.kind} servers (not expressible as a ClientIntents target)`);
    }
  }
  for (const [why, n] of [...skipped].sort((a, b) => compareText(a[0], b[0]))) {
    issues.push({ severity: 'note', subject: 'observed traffic', message: `${n} ${why} were left out.` });
  }
  const intents: ClientIntents[] = [];
  const names = new Map<string, number>();
  for (const acc of clients.values())
    names.set(
      `${acc.client.namespace}/${acc.client.name}`,
      (names.get(`${acc.client.namespace}/${acc.client.name}`) ?? 0) + 1,
    );
  for (const acc of clients.values()) {
    const c = acc.client;
    const targets: IntentTarget[] = [...acc.targets.values()]
      .sort((a, b) => compareText(a.sortKey, b.sortKey))
      .map((t) => t.make([...t.ports.values()].sort(comparePorts)));
    targets.push(...mergeInternet([...acc.internet.values()]));
    // Two workloads of different kinds with one name in one namespace: suffix the kind to keep names unique.
    const clash = (names.get(`${c.namespace}/${c.name}`) ?? 0) > 1;
    const docName = clash ? `${c.name}-${c.workloadKind.toLowerCase()}` : c.name;
    if (infra === 'exclude' && acc.infrastructure.size > 0) {
      issues.push({
        severity: 'note',
        subject: `ClientIntents ${c.namespace}/${docName}`,
        message: `calls to ${[...acc.infrastructure].sort().join(', ')} were excluded (--infra exclude); egress policies still allow DNS.`,
      });
    }
    intents.push({
      name: docName,
      namespace: c.namespace,
      workload: { name: c.name, ...(c.workloadKind ? { kind: c.workloadKind } : {}) },
      targets,
      infrastructure: infra === 'annotate' ? [...acc.infrastructure].sort() : [],
    });
  }
  intents.sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
  return { intents, issues };
}

/** Groups external destinations: IPs that share the same DNS names and ports become one target. */
function mergeInternet(items: readonly InternetAcc[]): IntentTarget[] {
  const groups = new Map<string, InternetAcc>();
  for (const it of items) {
    const domains = [...it.domains].sort();
    const ports = [...it.ports].sort((a, b) => a - b);
    const key = `${domains.join(',')}|${ports.join(',')}`;
    const g = groups.get(key);
    if (g === undefined)
      groups.set(key, { domains: new Set(domains), ips: new Set(it.ips), ports: new Set(ports) });
    else for (const ip of it.ips) g.ips.add(ip);
  }
  return [...groups.entries()]
    .sort((a, b) => compareText(a[0], b[0]))
    .map(([, g]) => ({
      type: 'internet' as const,
      domains: [...g.domains].sort(),
      ips: [...g.ips].sort(compareIps),
      ports: [...g.ports].sort((a, b) => a - b),
    }));
}

/** Orders IPs: IPv4 numerically before IPv6 text order. */
export function compareIps(a: string, b: string): number {
  const v4 = (s: string): number[] | null =>
    /^\d+\.\d+\.\d+\.\d+$/.test(s) ? s.split('.').map(Number) : null;
  const x = v4(a);
  const y = v4(b);
  if (x && y) {
    for (let i = 0; i < 4; i++) if (x[i] !== y[i]) return (x[i] ?? 0) - (y[i] ?? 0);
    return 0;
  }
  if (x) return -1;
  if (y) return 1;
  return compareText(a, b);
}

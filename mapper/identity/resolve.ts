// Resolution of a sniffer's report batch into edges between identities. Pure: the batch, a view
// of cluster state and the DNS history go in, edges and DNS rows come out; every observation is
// resolved at its own timestamp. The rules are written up in notes/resolution-rules.md.
import type { ConnectionRecord, ObservationSource, Protocol, ReportBatch } from '../api/wire.js';
import type { Identity } from '../graph/model.js';
import type { ClusterView, IpOwner } from './cluster-state.js';
import { cachedIdentityKey, DnsHistory, type DnsHistoryView } from './dns-history.js';
import { normalizeIp } from './ip.js';

/** One resolved client → server observation (one per backend workload for a Service ClusterIP). */
export interface ResolvedEdge {
  readonly client: Identity;
  readonly server: Identity;
  /** The Service the client addressed (ClusterIP, headless or ExternalName name), or null. */
  readonly via: Identity | null;
  readonly protocol: Protocol;
  readonly port: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
  readonly source: ObservationSource;
  readonly clientIp: string;
  readonly serverIp: string;
  /** Names the client had resolved to serverIp before connecting, sorted. */
  readonly dnsNames: string[];
}

/** One resolved DNS answer: `client` resolved `name` to `ip`. */
export interface ResolvedDns {
  readonly client: Identity;
  readonly name: string;
  readonly ip: string;
  readonly ttl: number;
  readonly firstSeen: number;
  readonly lastSeen: number;
  readonly count: number;
}

/** The result of resolving one batch. */
export interface ResolvedReport {
  readonly edges: ResolvedEdge[];
  readonly dns: ResolvedDns[];
  /** Per connection record and per DNS record with a server: how its far end resolved. */
  readonly outcomes: { resolved: number; external: number; unresolved: number };
}

/** Options of resolveReport. */
export interface ResolveOptions {
  /** Resolutions from earlier batches (bounded; the caller feeds it with `remember(report.dns)`). */
  readonly dnsHistory?: DnsHistoryView;
  /** How long past an answer's TTL a connection to its IP still takes the name; default 300 000 ms. */
  readonly dnsGraceMs?: number;
  /** Emit a client → DNS server UDP/53 edge (source 'dns') for each DNS record that names its server; default true. */
  readonly dnsServerEdges?: boolean;
}

/** Default of ResolveOptions.dnsGraceMs: clients (JVMs, connection pools) keep using an address past its TTL. */
export const DEFAULT_DNS_GRACE_MS = 300_000;
/** DNS is on port 53 (RFC 1035 §4.2). */
export const DNS_PORT = 53;

interface Target {
  readonly server: Identity;
  readonly via: Identity | null;
}

const NO_NAMES: string[] = [];

/** Resolves a batch against cluster state; the result is ready for GraphWriter (after ensureIdentity). */
export function resolveReport(
  batch: ReportBatch,
  view: ClusterView,
  options: ResolveOptions = {},
): ResolvedReport {
  const graceMs = options.dnsGraceMs ?? DEFAULT_DNS_GRACE_MS;
  const edges: ResolvedEdge[] = [];
  const dns: ResolvedDns[] = [];
  const outcomes = { resolved: 0, external: 0, unresolved: 0 };

  for (const d of batch.dns) {
    const client = view.resolveIp(d.client, d.firstSeen).identity;
    const name = d.name.toLowerCase().replace(/\.$/, '');
    // An ExternalName Service's name is a CNAME to an outside name (Service docs, "ExternalName"):
    // the outside names in the chain say where the traffic goes, so they are kept as well.
    const chain =
      d.cnames.length > 0 && view.serviceForDnsName(name)?.externalName
        ? [name, ...d.cnames.map((n) => n.toLowerCase().replace(/\.$/, ''))]
        : [name];
    for (const rawIp of d.ips) {
      const ip = normalizeIp(rawIp);
      for (const n of chain)
        dns.push({
          client,
          name: n,
          ip,
          ttl: d.ttl,
          firstSeen: d.firstSeen,
          lastSeen: d.lastSeen,
          count: d.count,
        });
    }
    if (d.server !== undefined && options.dnsServerEdges !== false) {
      const serverIp = normalizeIp(d.server);
      const owner = view.resolveIp(serverIp, d.firstSeen);
      const targets = targetsFor(view, owner, DNS_PORT, d.firstSeen, NO_NAMES);
      const port = owner.kind === 'service' ? view.serviceTargetPort(owner, 'UDP', DNS_PORT) : DNS_PORT;
      count(outcomes, client, owner);
      for (const t of targets) {
        edges.push({
          client,
          server: t.server,
          via: t.via,
          protocol: 'UDP',
          port: t.via === null ? DNS_PORT : port,
          firstSeen: d.firstSeen,
          lastSeen: d.lastSeen,
          count: d.count,
          source: 'dns',
          clientIp: normalizeIp(d.client),
          serverIp,
          dnsNames: NO_NAMES,
        });
      }
    }
  }

  const local = dns.length > 0 ? new DnsHistory(Number.MAX_SAFE_INTEGER) : undefined;
  local?.remember(dns);
  const history = options.dnsHistory;
  const names = new Set<string>();

  for (const c of batch.connections) {
    const clientIp = c.src.includes(':') ? normalizeIp(c.src) : c.src;
    const serverIp = c.dst.includes(':') ? normalizeIp(c.dst) : c.dst;
    const at = c.firstSeen;
    const client = view.resolveIp(clientIp, at).identity;
    let dnsNames = NO_NAMES;
    if (local !== undefined || history !== undefined) {
      names.clear();
      local?.collectNames(serverIp, client, at, c.lastSeen, graceMs, names);
      history?.collectNames(serverIp, client, at, c.lastSeen, graceMs, names);
      if (names.size > 0) dnsNames = [...names].sort();
    }
    const serverOwner = view.resolveIp(serverIp, at);
    count(outcomes, client, serverOwner);
    // The common cases (a pod, one backend) need no intermediate array.
    if (serverOwner.kind === 'pod' && dnsNames.length === 0) {
      edges.push(edgeOf(c, client, serverOwner.identity, null, clientIp, serverIp, dnsNames));
      continue;
    }
    if (serverOwner.kind === 'service') {
      // Policies and intents speak of the port on the pod: a Service port becomes its targetPort.
      const port = view.serviceTargetPort(serverOwner, c.protocol, c.dport);
      const backends = view.serviceBackends(serverOwner, at);
      if (backends.length === 1) {
        edges.push(
          edgeOf(
            c,
            client,
            backends[0] as Identity,
            serverOwner.identity,
            clientIp,
            serverIp,
            dnsNames,
            port,
          ),
        );
        continue;
      }
      for (const t of targetsFor(view, serverOwner, c.dport, at, dnsNames)) {
        edges.push(
          edgeOf(c, client, t.server, t.via, clientIp, serverIp, dnsNames, t.via === null ? c.dport : port),
        );
      }
      continue;
    }
    for (const t of targetsFor(view, serverOwner, c.dport, at, dnsNames)) {
      edges.push(edgeOf(c, client, t.server, t.via, clientIp, serverIp, dnsNames));
    }
  }
  return { edges: collapseNatTwins(edges), dns, outcomes };
}

/**
 * Drops the NAT twin of a connection made through a Service. A node sees such a connection twice:
 * before DNAT (to the ClusterIP: an edge via the Service) and after it (to the pod IP: a direct
 * edge to the same backend on the same target port). The same holds for DNS answers (from the
 * ClusterIP and from the DNS pod) and for the two ends of a socket seen by the /proc scan. Within
 * one batch, a direct edge whose client, server, protocol and port equal those of an edge via a
 * Service is that twin, and only the edge via the Service is kept. A client that really used both
 * paths in the same interval loses nothing a policy needs: the rule for the backend is the same.
 */
export function collapseNatTwins(edges: ResolvedEdge[]): ResolvedEdge[] {
  let viaKeys: Set<string> | undefined;
  for (const e of edges) {
    if (e.via === null) continue;
    viaKeys ??= new Set();
    viaKeys.add(twinKey(e));
  }
  if (viaKeys === undefined) return edges;
  const keys = viaKeys;
  return edges.filter((e) => e.via !== null || !keys.has(twinKey(e)));
}

function twinKey(e: ResolvedEdge): string {
  return `${cachedIdentityKey(e.client)}|${cachedIdentityKey(e.server)}|${e.protocol}|${e.port}`;
}

function edgeOf(
  c: ConnectionRecord,
  client: Identity,
  server: Identity,
  via: Identity | null,
  clientIp: string,
  serverIp: string,
  dnsNames: string[],
  port: number = c.dport,
): ResolvedEdge {
  return {
    client,
    server,
    via,
    protocol: c.protocol,
    port,
    firstSeen: c.firstSeen,
    lastSeen: c.lastSeen,
    count: c.count,
    source: c.source,
    clientIp,
    serverIp,
    dnsNames,
  };
}

function count(
  outcomes: { resolved: number; external: number; unresolved: number },
  client: Identity,
  server: IpOwner,
): void {
  if (client.kind === 'unresolved' || server.kind === 'unresolved') outcomes.unresolved++;
  else if (server.kind === 'external' || client.kind === 'external') outcomes.external++;
  else outcomes.resolved++;
}

/** The server side of one observation: who is behind `owner` on `port` at `atMs`. */
function targetsFor(
  view: ClusterView,
  owner: IpOwner,
  port: number,
  atMs: number,
  dnsNames: readonly string[],
): readonly Target[] {
  switch (owner.kind) {
    case 'service': {
      const backends = view.serviceBackends(owner, atMs);
      // No backend known at that time: the edge goes to the Service itself, never dropped.
      if (backends.length === 0) return [{ server: owner.identity, via: null }];
      if (backends.length === 1) return [{ server: backends[0] as Identity, via: owner.identity }];
      return backends.map((b) => ({ server: b, via: owner.identity }));
    }
    case 'node': {
      const hostPod = view.hostNetworkServer(owner.nodeName, port, atMs);
      return [{ server: hostPod ?? owner.identity, via: null }];
    }
    case 'pod':
    case 'external':
    case 'unresolved': {
      // A name the client used may name the Service it addressed: a headless Service (its name
      // resolves to pod IPs) or an ExternalName Service (a CNAME to an outside name).
      let via: Identity | null = null;
      for (const name of dnsNames) {
        const svc = view.serviceForDnsName(name);
        if (svc === undefined) continue;
        if ((owner.kind === 'pod' && svc.headless) || (owner.kind !== 'pod' && svc.externalName !== '')) {
          via = svc.identity;
          break;
        }
      }
      return [{ server: owner.identity, via }];
    }
  }
}

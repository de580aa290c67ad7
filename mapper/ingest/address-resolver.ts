// A resolver that knows no cluster: every address becomes "unresolved" inside the given pod and
// service CIDRs and "external" outside them, and connections keep the DNS names their client
// resolved to the server's address in the same batch. The mapper uses the identity resolver
// (mapper/identity) when it has cluster state; this one serves tests and benchmarks of the ingest
// path, where the cluster is not what is measured.
import { BlockList, isIP } from 'node:net';
import type { ReportBatch } from '../api/wire.js';
import type { Identity } from '../graph/model.js';
import type { ReportResolver } from './ingest-service.js';
import type { ResolvedDns, ResolvedEdge } from './resolved.js';

/** Options of the address-only resolver. */
export interface AddressResolverOptions {
  readonly podCidrs?: readonly string[];
  readonly serviceCidrs?: readonly string[];
}

/** Creates a resolver that names parties by address only. */
export function createAddressResolver(options: AddressResolverOptions = {}): ReportResolver {
  const cluster = new BlockList();
  for (const c of [...(options.podCidrs ?? []), ...(options.serviceCidrs ?? [])]) {
    const [net, bits] = c.split('/');
    if (net === undefined || bits === undefined) continue;
    cluster.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
  }
  const identityOf = (ip: string): Identity => ({
    kind: cluster.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4') ? 'unresolved' : 'external',
    cluster: '',
    namespace: '',
    name: ip,
    workloadKind: '',
    labels: {},
    attrs: {},
  });
  return (batch: ReportBatch) => {
    let external = 0;
    let unresolved = 0;
    const memo = new Map<string, Identity>();
    const identity = (ip: string): Identity => {
      let i = memo.get(ip);
      if (i === undefined) memo.set(ip, (i = identityOf(ip)));
      if (i.kind === 'external') external++;
      else unresolved++;
      return i;
    };
    // client → server IP → names the client resolved to it.
    const names = new Map<string, Map<string, Set<string>>>();
    for (const d of batch.dns) {
      let byIp = names.get(d.client);
      if (byIp === undefined) names.set(d.client, (byIp = new Map<string, Set<string>>()));
      for (const ip of d.ips) {
        let set = byIp.get(ip);
        if (set === undefined) byIp.set(ip, (set = new Set()));
        set.add(d.name);
      }
    }
    const edges: ResolvedEdge[] = batch.connections.map((c) => ({
      client: identity(c.src),
      server: identity(c.dst),
      via: null,
      protocol: c.protocol,
      port: c.dport,
      firstSeen: c.firstSeen,
      lastSeen: c.lastSeen,
      count: c.count,
      source: c.source,
      clientIp: c.src,
      serverIp: c.dst,
      dnsNames: [...(names.get(c.src)?.get(c.dst) ?? [])].sort(),
    }));
    const dns: ResolvedDns[] = batch.dns.flatMap((d) => {
      const client = identity(d.client);
      return d.ips.map((ip) => ({
        client,
        name: d.name,
        ip,
        ttl: d.ttl,
        firstSeen: d.firstSeen,
        lastSeen: d.lastSeen,
        count: d.count,
      }));
    });
    return { edges, dns, outcomes: { resolved: 0, external, unresolved } };
  };
}

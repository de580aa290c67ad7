import { describe, expect, it } from 'vitest';
import { UsageError } from '../cli/errors.js';
import { loadMapperConfig } from '../config.js';
import type { Identity } from '../graph/model.js';
import { withoutHostOnlySockets, withoutIgnoredNamespaces } from './ingest-service.js';
import type { ResolvedEdge, ResolvedReport } from './resolved.js';

const wl = (namespace: string, name: string): Identity => ({
  kind: 'workload',
  cluster: '',
  namespace,
  name,
  workloadKind: 'Deployment',
  labels: {},
  attrs: {},
});

const edge = (client: Identity, server: Identity, via: Identity | null = null): ResolvedEdge => ({
  client,
  server,
  via,
  protocol: 'TCP',
  port: 80,
  firstSeen: 1,
  lastSeen: 1,
  count: 1,
  source: 'tcp-syn',
  clientIp: '10.0.0.1',
  serverIp: '10.0.0.2',
  dnsNames: [],
});

describe('--ignore-namespaces', () => {
  const shop = wl('shop', 'frontend');
  const prom = wl('monitoring', 'prometheus');
  const dns = {
    client: prom,
    name: 'x.shop.svc.cluster.local',
    ip: '10.96.0.1',
    ttl: 30,
    firstSeen: 1,
    lastSeen: 1,
    count: 1,
  };
  const report: ResolvedReport = {
    edges: [
      edge(shop, wl('shop', 'cart')),
      edge(prom, shop),
      edge(shop, wl('shop', 'cart'), wl('monitoring', 'svc')),
    ],
    dns: [dns, { ...dns, client: shop }],
    outcomes: { resolved: 3, external: 0, unresolved: 0 },
  };

  it('drops edges with a client, server or Service in an ignored namespace, and those clients’ DNS rows', () => {
    const r = withoutIgnoredNamespaces(report, new Set(['monitoring']));
    expect(r.report.edges).toEqual([report.edges[0]]);
    expect(r.report.dns).toEqual([report.dns[1]]);
    expect({ edges: r.edges, dns: r.dns }).toEqual({ edges: 2, dns: 1 });
  });

  it('leaves the report untouched when nothing is ignored', () => {
    expect(withoutIgnoredNamespaces(report, new Set()).report).toBe(report);
  });

  it('parses a comma list from the flag or the environment, and refuses a name that is not a namespace', () => {
    expect(
      loadMapperConfig({ ignoreNamespaces: ['kube-system,monitoring', 'kube-system'] }, {}).ignoreNamespaces,
    ).toEqual(['kube-system', 'monitoring']);
    expect(loadMapperConfig({}, { INTENTMAP_IGNORE_NAMESPACES: 'a,b' }).ignoreNamespaces).toEqual(['a', 'b']);
    expect(() => loadMapperConfig({ ignoreNamespaces: ['Kube_System'] }, {})).toThrow(UsageError);
    expect(() => loadMapperConfig({ ignoreNamespaces: ['Kube_System'] }, {})).toThrow(
      /--ignore-namespaces: "Kube_System"/,
    );
  });
});

describe('socket-scan connections of host processes', () => {
  const ext = (ip: string): Identity => ({ ...wl('', ip), kind: 'external', workloadKind: '' });
  const shop = wl('shop', 'frontend');
  const scan = (client: Identity, server: Identity): ResolvedEdge => ({
    ...edge(client, server),
    source: 'socket-scan',
  });
  const report: ResolvedReport = {
    edges: [
      scan(ext('192.0.2.1'), ext('203.0.113.1')),
      edge(ext('192.0.2.1'), ext('203.0.113.1')),
      scan(shop, ext('203.0.113.1')),
    ],
    dns: [],
    outcomes: { resolved: 0, external: 3, unresolved: 0 },
  };

  it('drops only socket-scan edges between two external addresses', () => {
    const r = withoutHostOnlySockets(report);
    expect(r.report.edges).toEqual(report.edges.slice(1));
    expect(r.dropped).toBe(1);
  });
});

import { describe, expect, it } from 'vitest';
import type { Identity } from '../graph/model.js';
import { collapseNatTwins, type ResolvedEdge } from './resolve.js';

const wl = (name: string): Identity => ({
  kind: 'workload',
  cluster: '',
  namespace: 'shop',
  name,
  workloadKind: 'Deployment',
  labels: { app: name },
  attrs: {},
});
const svc: Identity = { ...wl('cartservice'), kind: 'service', workloadKind: 'Service' };

function edge(over: Partial<ResolvedEdge>): ResolvedEdge {
  return {
    client: wl('frontend'),
    server: wl('cartservice'),
    via: null,
    protocol: 'TCP',
    port: 7070,
    firstSeen: 1,
    lastSeen: 1,
    count: 1,
    source: 'tcp-syn',
    clientIp: '10.0.0.1',
    serverIp: '10.0.0.2',
    dnsNames: [],
    ...over,
  };
}

describe('collapseNatTwins', () => {
  it('drops the post-DNAT copy of a connection made through a Service', () => {
    const viaService = edge({ via: svc, serverIp: '10.96.0.21' });
    const twin = edge({});
    expect(collapseNatTwins([twin, viaService])).toEqual([viaService]);
  });

  it('keeps direct edges on another port, to another server, or from another client', () => {
    const viaService = edge({ via: svc });
    const otherPort = edge({ port: 9464 });
    const otherServer = edge({ server: wl('redis-cart') });
    const otherClient = edge({ client: wl('checkoutservice') });
    expect(collapseNatTwins([viaService, otherPort, otherServer, otherClient])).toEqual([
      viaService,
      otherPort,
      otherServer,
      otherClient,
    ]);
  });

  it('returns the input unchanged when nothing went through a Service', () => {
    const edges = [edge({}), edge({ port: 9464 })];
    expect(collapseNatTwins(edges)).toBe(edges);
  });
});

// Pure unit tests of the identity core: labels, owner walk, interval index, cluster state and the
// resolver. No I/O: events are built in memory with the same object builders the API server uses.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ClusterState,
  DnsHistory,
  IntervalIndex,
  normalizeIp,
  parseCidr,
  resolveReport,
  stableLabels,
  walkOwners,
  type ClusterEventType,
  type ControllerInfo,
} from '../mapper/identity/index.js';
import { toClusterObject } from '../mapper/kube/convert.js';
import { batch, cidrs, conn, dnsRec, T0 } from './helpers/identity-fixtures.js';
import type { KubeObject } from './k8s/api-server.js';
import { controller, endpointSlice, node, pod, service } from './k8s/objects.js';

function newState(): ClusterState {
  return new ClusterState({ podCidrs: cidrs(['10.244.0.0/16']), serviceCidrs: cidrs(['10.96.0.0/12']) });
}

function apply(state: ClusterState, type: ClusterEventType, raw: KubeObject, atMs: number): void {
  const r = toClusterObject(raw);
  if (!r.ok) throw new Error(r.reason);
  state.apply({ type, object: r.value, atMs });
}

describe('stableLabels', () => {
  it('drops per-pod and per-revision labels and keeps the rest, sorted', () => {
    expect(
      stableLabels({
        app: 'cart',
        'pod-template-hash': '7d9f',
        'controller-revision-hash': 'x',
        'statefulset.kubernetes.io/pod-name': 'db-0',
        'apps.kubernetes.io/pod-index': '0',
        'job-name': 'j',
        'controller-uid': 'u',
        'batch.kubernetes.io/job-name': 'j',
        'pod-template-generation': '3',
        tier: 'web',
      }),
    ).toEqual({ app: 'cart', tier: 'web' });
  });
});

describe('walkOwners', () => {
  const ctl = (
    kind: ControllerInfo['kind'],
    name: string,
    uid: string,
    owner?: { kind: string; name: string; uid: string },
  ): ControllerInfo => ({
    kind,
    namespace: 'ns',
    name,
    uid,
    labels: {},
    ownerReferences: owner ? [{ ...owner, controller: true }] : [],
  });
  const known = new Map<string, ControllerInfo>(
    [
      ctl('Deployment', 'web', 'd1'),
      ctl('ReplicaSet', 'web-abc', 'r1', { kind: 'Deployment', name: 'web', uid: 'd1' }),
      ctl('CronJob', 'nightly', 'c1'),
      ctl('Job', 'nightly-1', 'j1', { kind: 'CronJob', name: 'nightly', uid: 'c1' }),
      ctl('ReplicaSet', 'loop-a', 'la', { kind: 'ReplicaSet', name: 'loop-b', uid: 'lb' }),
      ctl('ReplicaSet', 'loop-b', 'lb', { kind: 'ReplicaSet', name: 'loop-a', uid: 'la' }),
      ctl('ReplicaSet', 'rollout-x', 'rx', { kind: 'Rollout', name: 'rollout', uid: 'ro' }),
    ].map((c) => [`${c.kind}/${c.name}`, c]),
  );
  const lookup = (kind: string, _ns: string, name: string): ControllerInfo | undefined =>
    known.get(`${kind}/${name}`);
  const cases: [string, { kind: string; name: string; uid: string } | null, string][] = [
    ['bare pod', null, 'Pod/p false'],
    ['RS → Deployment', { kind: 'ReplicaSet', name: 'web-abc', uid: 'r1' }, 'Deployment/web false'],
    ['Job → CronJob', { kind: 'Job', name: 'nightly-1', uid: 'j1' }, 'CronJob/nightly false'],
    [
      'unknown RS keeps its name (no hash guessing)',
      { kind: 'ReplicaSet', name: 'gone-5c4f', uid: 'x' },
      'ReplicaSet/gone-5c4f true',
    ],
    [
      'uid mismatch: a same-named successor is not the owner',
      { kind: 'ReplicaSet', name: 'web-abc', uid: 'other' },
      'ReplicaSet/web-abc true',
    ],
    [
      'an operator kind above a known RS',
      { kind: 'ReplicaSet', name: 'rollout-x', uid: 'rx' },
      'Rollout/rollout true',
    ],
    ['a cycle stops', { kind: 'ReplicaSet', name: 'loop-a', uid: 'la' }, 'ReplicaSet/loop-a true'],
  ];
  for (const [name, ref, want] of cases) {
    it(name, () => {
      const top = walkOwners(
        { namespace: 'ns', name: 'p', ownerReferences: ref ? [{ ...ref, controller: true }] : [] },
        lookup,
      );
      expect(`${top.kind}/${top.name} ${String(top.ownerUnknown)}`).toBe(want);
    });
  }
});

describe('IntervalIndex', () => {
  it('keeps history per IP; a new claim ends the previous holder; later starts win', () => {
    const idx = new IntervalIndex<string>();
    idx.open('10.0.0.1', 'a', 100, 'A');
    idx.open('10.0.0.1', 'a', 150, 'A'); // same holder again: the start does not move
    idx.open('10.0.0.1', 'b', 200, 'B'); // reuse without a deletion seen: A ends at 200
    expect(idx.lookup('10.0.0.1', 99, 0)).toBeUndefined();
    expect(idx.lookup('10.0.0.1', 100, 0)?.owner).toBe('A');
    expect(idx.lookup('10.0.0.1', 199, 0)?.owner).toBe('A');
    expect(idx.lookup('10.0.0.1', 200, 0)?.owner).toBe('B');
    idx.close('10.0.0.1', 'b', 300);
    expect(idx.lookup('10.0.0.1', 300, 0)).toBeUndefined();
    // A claim that starts before a later holder ends where that one begins.
    idx.open('10.0.0.2', 'late', 500, 'L');
    idx.open('10.0.0.2', 'early', 400, 'E');
    expect(idx.history('10.0.0.2').map((i) => [i.key, i.validFrom, i.validTo])).toEqual([
      ['early', 400, 500],
      ['late', 500, Infinity],
    ]);
  });

  it('grace finds the nearest interval only when nothing covers the time', () => {
    const idx = new IntervalIndex<string>();
    idx.open('10.0.0.1', 'a', 1000, 'A');
    idx.close('10.0.0.1', 'a', 2000);
    idx.open('10.0.0.1', 'b', 5000, 'B');
    expect(idx.lookup('10.0.0.1', 2500, 1000)?.owner).toBe('A');
    expect(idx.lookup('10.0.0.1', 4500, 1000)?.owner).toBe('B');
    expect(idx.lookup('10.0.0.1', 3500, 1000)).toBeUndefined();
  });

  it('reports changes once and restores without reporting', () => {
    const idx = new IntervalIndex<string>();
    idx.open('10.0.0.1', 'a', 1, 'A');
    expect(idx.drainChanges()).toHaveLength(1);
    expect(idx.drainChanges()).toHaveLength(0);
    idx.closeAll('a', 5);
    expect(idx.drainChanges().map((i) => i.validTo)).toEqual([5]);
    idx.restore('10.0.0.9', 'z', 1, Infinity, 'Z');
    idx.restore('10.0.0.9', 'z', 1, Infinity, 'Z');
    expect(idx.drainChanges()).toHaveLength(0);
    expect(idx.history('10.0.0.9')).toHaveLength(1);
    expect(idx.openIps('z')).toEqual(['10.0.0.9']);
  });

  it('property: at any time at most one holder, and every claim is found at its start unless a later-starting claim took over', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            ip: fc.integer({ min: 0, max: 3 }),
            key: fc.integer({ min: 0, max: 5 }),
            at: fc.integer({ min: 0, max: 100 }),
            close: fc.boolean(),
          }),
          { maxLength: 40 },
        ),
        (ops) => {
          const idx = new IntervalIndex<number>();
          for (const op of ops) {
            const ip = `10.0.0.${op.ip}`;
            if (op.close) idx.close(ip, `k${op.key}`, op.at);
            else idx.open(ip, `k${op.key}`, op.at, op.key);
          }
          for (let ip = 0; ip < 4; ip++) {
            const h = idx.history(`10.0.0.${ip}`);
            for (let i = 1; i < h.length; i++) expect(h[i - 1]!.validTo).toBeLessThanOrEqual(h[i]!.validFrom);
          }
        },
      ),
    );
  });
});

describe('parseCidr and normalizeIp', () => {
  it('parses and refuses with a fix', () => {
    expect(parseCidr('10.0.0.0/8').ok).toBe(true);
    expect(parseCidr('10.0.0.1')).toEqual({
      ok: false,
      reason: 'CIDR mask is missing in "10.0.0.1". Did you mean "10.0.0.1/32"?',
    });
    expect(parseCidr('fd00::/129').ok).toBe(false);
  });
  it('canonicalizes IPv6 and unmaps IPv4-mapped addresses', () => {
    expect(normalizeIp('FD00:0:0:0::1')).toBe('fd00::1');
    expect(normalizeIp('::ffff:10.1.2.3')).toBe('10.1.2.3');
    expect(normalizeIp('10.1.2.3')).toBe('10.1.2.3');
  });
});

describe('ClusterState', () => {
  it('a Succeeded pod releases its IP at that time; an IP change ends the old claim', () => {
    const s = newState();
    apply(s, 'ADDED', pod('job-x', { uid: 'u1', ip: '10.244.0.9', startMs: T0 }), T0);
    apply(
      s,
      'MODIFIED',
      pod('job-x', { uid: 'u1', ip: '10.244.0.9', startMs: T0, phase: 'Succeeded' }),
      T0 + 5000,
    );
    expect(s.resolveIp('10.244.0.9', T0 + 4000).identity.name).toBe('job-x');
    expect(s.resolveIp('10.244.0.9', T0 + 7000).kind).toBe('unresolved');
    apply(s, 'ADDED', pod('mover', { uid: 'u2', ip: '10.244.0.10', startMs: T0 }), T0);
    apply(s, 'MODIFIED', pod('mover', { uid: 'u2', ip: '10.244.0.11', startMs: T0 }), T0 + 10_000);
    expect(s.resolveIp('10.244.0.10', T0 + 20_000).kind).toBe('unresolved');
    expect(s.resolveIp('10.244.0.11', T0 + 20_000).identity.name).toBe('mover');
    expect(s.resolveIp('10.244.0.11', T0 + 5000).kind).toBe('unresolved');
  });

  it('renames a pod’s workload when its owners arrive after it, in history too', () => {
    const s = newState();
    apply(
      s,
      'ADDED',
      pod('web-abc-1', {
        uid: 'p',
        ip: '10.244.0.5',
        owner: { kind: 'ReplicaSet', name: 'web-abc', uid: 'r' },
        startMs: T0,
      }),
      T0,
    );
    expect(s.resolveIp('10.244.0.5', T0 + 1).identity.workloadKind).toBe('ReplicaSet');
    apply(
      s,
      'ADDED',
      controller('ReplicaSet', 'web-abc', { uid: 'r', owner: { kind: 'Deployment', name: 'web', uid: 'd' } }),
      T0 + 10,
    );
    expect(s.resolveIp('10.244.0.5', T0 + 1).identity.workloadKind).toBe('Deployment');
    apply(s, 'ADDED', controller('Deployment', 'web', { uid: 'd' }), T0 + 20);
    const id = s.resolveIp('10.244.0.5', T0 + 1).identity;
    expect([id.workloadKind, id.name, id.attrs]).toEqual(['Deployment', 'web', {}]);
    const changes = s.drainOwnershipChanges();
    expect(changes.find((c) => c.ip === '10.244.0.5')?.identity.name).toBe('web');
  });

  it('keeps a deleted Service’s ClusterIP history, and endpoint history per time', () => {
    const s = newState();
    apply(s, 'ADDED', controller('Deployment', 'a', { uid: 'da' }), T0);
    apply(
      s,
      'ADDED',
      pod('a-1', {
        uid: 'pa',
        ip: '10.244.0.1',
        owner: { kind: 'Deployment', name: 'a', uid: 'da' },
        startMs: T0,
      }),
      T0,
    );
    apply(s, 'ADDED', controller('Deployment', 'b', { uid: 'db' }), T0);
    apply(
      s,
      'ADDED',
      pod('b-1', {
        uid: 'pb',
        ip: '10.244.0.2',
        owner: { kind: 'Deployment', name: 'b', uid: 'db' },
        startMs: T0,
      }),
      T0,
    );
    apply(s, 'ADDED', service('svc', { clusterIP: '10.96.0.1', createdMs: T0 }), T0);
    apply(
      s,
      'ADDED',
      endpointSlice('svc-1', 'svc', [{ ip: '10.244.0.1', pod: 'a-1', podUid: 'pa' }], { createdMs: T0 }),
      T0,
    );
    apply(
      s,
      'MODIFIED',
      endpointSlice('svc-1', 'svc', [{ ip: '10.244.0.2', pod: 'b-1', podUid: 'pb' }]),
      T0 + 100,
    );
    const key = 'shop/svc';
    expect(s.serviceBackends(key, T0 + 50).map((i) => i.name)).toEqual(['a']);
    expect(s.serviceBackends(key, T0 + 150).map((i) => i.name)).toEqual(['b']);
    // Deleted at +200; the ClusterIP is given to another Service at +300.
    // Deleted at +20 s; the ClusterIP is given to another Service at +40 s (beyond the 1 s grace).
    apply(s, 'DELETED', service('svc', { clusterIP: '10.96.0.1', createdMs: T0 }), T0 + 20_000);
    const other = service('other', { clusterIP: '10.96.0.1', createdMs: T0 + 40_000 });
    apply(s, 'ADDED', { ...other, metadata: { ...other.metadata, uid: 'o' } }, T0 + 40_000);
    expect(s.resolveIp('10.96.0.1', T0 + 150).identity.name).toBe('svc');
    expect(s.resolveIp('10.96.0.1', T0 + 30_000).kind).toBe('unresolved');
    expect(s.resolveIp('10.96.0.1', T0 + 50_000).identity.name).toBe('other');
  });

  it('falls back to the selector over pods alive at that time', () => {
    const s = newState();
    apply(s, 'ADDED', service('sel', { clusterIP: '10.96.0.2', selector: { app: 'x' }, createdMs: T0 }), T0);
    apply(s, 'ADDED', pod('x-old', { uid: 'o', ip: '10.244.1.1', labels: { app: 'x' }, startMs: T0 }), T0);
    apply(
      s,
      'DELETED',
      pod('x-old', { uid: 'o', ip: '10.244.1.1', labels: { app: 'x' }, startMs: T0 }),
      T0 + 10_000,
    );
    apply(
      s,
      'ADDED',
      pod('x-new', { uid: 'n', ip: '10.244.1.2', labels: { app: 'x' }, startMs: T0 + 20_000 }),
      T0 + 20_000,
    );
    expect(s.serviceBackends('shop/sel', T0 + 5000).map((i) => i.name)).toEqual(['x-old']);
    expect(s.serviceBackends('shop/sel', T0 + 15_000)).toEqual([]);
    expect(s.serviceBackends('shop/sel', T0 + 25_000).map((i) => i.name)).toEqual(['x-new']);
  });

  it('is caught up only for times settled before the last sync', () => {
    const s = newState();
    expect(s.isCaughtUp(T0)).toBe(false);
    s.markSynced(T0 + 10_000);
    expect(s.isCaughtUp(T0 + 8000)).toBe(true);
    expect(s.isCaughtUp(T0 + 8001)).toBe(false);
    s.markSynced(Infinity);
    expect(s.isCaughtUp(T0 + 1e12)).toBe(true);
  });
});

describe('resolveReport', () => {
  function shop(): ClusterState {
    const s = newState();
    apply(s, 'ADDED', node('node-1', '192.168.0.1'), T0 - 1000);
    for (const [name, ip] of [
      ['frontend', '10.244.0.1'],
      ['cart', '10.244.0.2'],
      ['cart2', '10.244.0.3'],
      ['coredns', '10.244.0.53'],
    ] as const) {
      apply(s, 'ADDED', controller('Deployment', name, { uid: `d-${name}` }), T0 - 1000);
      apply(
        s,
        'ADDED',
        pod(`${name}-1`, {
          uid: `p-${name}`,
          ip,
          labels: { app: name === 'cart2' ? 'cart' : name },
          owner: { kind: 'Deployment', name, uid: `d-${name}` },
          startMs: T0 - 1000,
        }),
        T0 - 1000,
      );
    }
    apply(
      s,
      'ADDED',
      service('cart', { clusterIP: '10.96.0.7', selector: { app: 'cart' }, createdMs: T0 - 1000 }),
      T0 - 1000,
    );
    apply(
      s,
      'ADDED',
      service('kube-dns', { clusterIP: '10.96.0.10', selector: { app: 'coredns' }, createdMs: T0 - 1000 }),
      T0 - 1000,
    );
    apply(
      s,
      'ADDED',
      service('payments', {
        type: 'ExternalName',
        externalName: 'api.payments.example',
        createdMs: T0 - 1000,
      }),
      T0 - 1000,
    );
    return s;
  }

  it('fans a ClusterIP out to every backend workload with via = the Service', () => {
    const r = resolveReport(batch([conn('10.244.0.1', '10.96.0.7', 7070, T0, { count: 4 })]), shop());
    expect(r.edges.map((e) => [e.server.name, e.via?.name, e.count])).toEqual([
      ['cart', 'cart', 4],
      ['cart2', 'cart', 4],
    ]);
  });

  it('keeps names within TTL plus grace, for the same client only, and from earlier batches', () => {
    const s = shop();
    const d = dnsRec('10.244.0.1', 'API.Stripe.com.', ['203.0.113.7'], T0, { ttl: 60 });
    const opts = { dnsGraceMs: 10_000 };
    const r = resolveReport(
      batch(
        [
          conn('10.244.0.1', '203.0.113.7', 443, T0 + 100),
          conn('10.244.0.1', '203.0.113.7', 443, T0 + 60_000 + 10_000), // at the end of TTL + grace
          conn('10.244.0.1', '203.0.113.7', 443, T0 + 60_000 + 10_001), // after it
          conn('10.244.0.2', '203.0.113.7', 443, T0 + 100), // another client
          conn('10.244.0.1', '203.0.113.7', 443, T0 - 5000), // long before the answer
        ],
        [d],
      ),
      s,
      opts,
    );
    expect(r.edges.map((e) => e.dnsNames)).toEqual([['api.stripe.com'], ['api.stripe.com'], [], [], []]);
    // The next batch has no DNS record; the history carries the name.
    const history = new DnsHistory();
    history.remember(r.dns);
    const r2 = resolveReport(batch([conn('10.244.0.1', '203.0.113.7', 443, T0 + 30_000)]), s, {
      dnsHistory: history,
    });
    expect(r2.edges[0]!.dnsNames).toEqual(['api.stripe.com']);
  });

  it('puts an ExternalName Service on the edge as via, with the CNAME target name', () => {
    const r = resolveReport(
      batch(
        [conn('10.244.0.1', '198.51.100.20', 443, T0 + 10)],
        [
          dnsRec('10.244.0.1', 'payments.shop.svc.cluster.local', ['198.51.100.20'], T0, {
            cnames: ['api.payments.example'],
          }),
        ],
      ),
      shop(),
    );
    const e = r.edges[0]!;
    expect([e.server.kind, e.via?.name, e.via?.attrs.serviceType, e.dnsNames]).toEqual([
      'external',
      'payments',
      'ExternalName',
      ['api.payments.example', 'payments.shop.svc.cluster.local'],
    ]);
  });

  it('turns a DNS answer into a UDP/53 edge to the DNS workload behind the kube-dns Service', () => {
    const r = resolveReport(
      batch(
        [],
        [
          dnsRec('10.244.0.1', 'cart.shop.svc.cluster.local', ['10.96.0.7'], T0, {
            server: '10.96.0.10',
            count: 3,
          }),
        ],
      ),
      shop(),
    );
    expect(
      r.edges.map((e) => [e.client.name, e.server.name, e.via?.name, e.protocol, e.port, e.source, e.count]),
    ).toEqual([['frontend', 'coredns', 'kube-dns', 'UDP', 53, 'dns', 3]]);
    expect(r.dns.map((d) => [d.client.name, d.name, d.ip])).toEqual([
      ['frontend', 'cart.shop.svc.cluster.local', '10.96.0.7'],
    ]);
    expect(
      resolveReport(batch([], [dnsRec('10.244.0.1', 'x', [], T0, { server: '10.96.0.10' })]), shop(), {
        dnsServerEdges: false,
      }).edges,
    ).toEqual([]);
  });

  it('property: every connection yields at least one edge and one outcome (nothing is dropped)', () => {
    const s = shop();
    const ipArb = fc.oneof(
      fc.constantFrom(
        '10.244.0.1',
        '10.244.0.2',
        '10.96.0.7',
        '10.96.0.10',
        '192.168.0.1',
        '10.244.9.9',
        '8.8.8.8',
        'fd00::1',
        '::ffff:10.244.0.1',
      ),
      fc.ipV4(),
    );
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            src: ipArb,
            dst: ipArb,
            port: fc.integer({ min: 1, max: 65535 }),
            at: fc.integer({ min: T0 - 10_000, max: T0 + 10_000 }),
          }),
          { maxLength: 30 },
        ),
        (rows) => {
          const r = resolveReport(batch(rows.map((x) => conn(x.src, x.dst, x.port, x.at))), s);
          const o = r.outcomes;
          expect(o.resolved + o.external + o.unresolved).toBe(rows.length);
          expect(r.edges.length).toBeGreaterThanOrEqual(rows.length);
        },
      ),
    );
  });
});

describe('ClusterState: IP assignment time', () => {
  it('an IP that appears on a pending pod opens at the event, not at the pod start', () => {
    const s = newState();
    apply(s, 'ADDED', pod('old', { uid: 'o', ip: '10.244.2.2', startMs: T0 }), T0);
    apply(s, 'ADDED', pod('new', { uid: 'n', startMs: T0 + 10_000, phase: 'Pending' }), T0 + 10_000);
    apply(s, 'DELETED', pod('old', { uid: 'o', ip: '10.244.2.2', startMs: T0 }), T0 + 30_000);
    apply(s, 'MODIFIED', pod('new', { uid: 'n', ip: '10.244.2.2', startMs: T0 + 10_000 }), T0 + 31_000);
    expect(s.resolveIp('10.244.2.2', T0 + 20_000).identity.name).toBe('old');
    expect(s.resolveIp('10.244.2.2', T0 + 35_000).identity.name).toBe('new');
  });
});

describe('DnsHistory', () => {
  it('is bounded, and prunes expired entries at most once a minute', () => {
    const client = {
      kind: 'workload',
      cluster: '',
      namespace: 'a',
      name: 'c',
      workloadKind: 'Pod',
      labels: {},
      attrs: {},
    } as const;
    const h = new DnsHistory(3);
    h.remember(
      [1, 2, 3, 4].map((n) => ({
        client,
        name: `n${n}.example`,
        ip: `192.0.2.${n}`,
        ttl: 1,
        firstSeen: n,
        lastSeen: n,
      })),
    );
    expect(h.size).toBe(3);
    const out = new Set<string>();
    h.collectNames('192.0.2.1', client, 1, 1, 0, out);
    expect([...out]).toEqual([]); // the oldest IP was forgotten
    h.prune(100_000, 0);
    expect(h.size).toBe(0);
    h.remember([
      { client, name: 'late.example', ip: '192.0.2.9', ttl: 1, firstSeen: 100_000, lastSeen: 100_000 },
    ]);
    h.prune(150_000, 0); // within a minute of the last scan: no scan
    expect(h.size).toBe(1);
    h.prune(170_000, 0);
    expect(h.size).toBe(0);
  });
});

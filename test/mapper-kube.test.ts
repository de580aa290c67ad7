// The real @kubernetes/client-node informers against the real list/watch API server in
// test/k8s, over HTTP on port 0, feeding ClusterState; then resolution of report batches.
import { EventEmitter, once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig, makeInformer, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ClusterState, persistOwnership, resolveReport, restoreOwnership } from '../mapper/identity/index.js';
import { loadKubeConfig, watchIntoState, type WatchIntoStateOptions } from '../mapper/kube/index.js';
import { ATTRIBUTION_RESOURCES, WATCHED_RESOURCES } from '../mapper/kube/cluster-watch.js';
import { GraphStore, openDatabase } from '../mapper/store/index.js';
import { batch, cidrs, conn, dnsRec, T0 } from './helpers/identity-fixtures.js';
import { startInformerHarness, stopInformerHarness, type InformerHarness } from './helpers/kube-informers.js';
import { KubeApiServer, type KubeObject } from './k8s/api-server.js';
import { controller, endpointSlice, namespace, node, pod, service } from './k8s/objects.js';

let h: InformerHarness | undefined;

async function setup(
  objects: KubeObject[],
  options: Partial<WatchIntoStateOptions> & {
    goneMode?: 'event' | 'status';
    unserved?: string[];
    forbidden?: string[];
  } = {},
): Promise<InformerHarness> {
  const { goneMode, unserved, forbidden, ...watch } = options;
  h = await startInformerHarness({
    prefix: 'intentmap-kube-',
    api: {
      bookmarkIntervalMs: 50,
      goneMode: goneMode ?? 'event',
      unserved: unserved ?? [],
      forbidden: forbidden ?? [],
    },
    objects,
    state: new ClusterState({
      podCidrs: cidrs(['10.244.0.0/16', 'fd00:244::/64']),
      serviceCidrs: cidrs(['10.96.0.0/12']),
    }),
    startMs: T0 + 3_600_000,
    watch: {
      // Tests do not wait out real backoff; a tiny real delay keeps the retry loop from spinning.
      delay: (_ms, signal) => new Promise((r) => (signal.aborted ? r() : setTimeout(r, 10))),
      ...watch,
    },
  });
  expect(await h.watch.synced).toBe(true);
  return h;
}

afterEach(async () => {
  if (h === undefined) return;
  await stopInformerHarness(h);
  h = undefined;
});

const shopObjects = (): KubeObject[] => [
  namespace('shop'),
  node('node-1', '192.168.1.10', { createdMs: T0 - 86_400_000 }),
  controller('Deployment', 'cartservice', { uid: 'dep-cart', labels: { app: 'cartservice' } }),
  controller('ReplicaSet', 'cartservice-7d9f8c', {
    uid: 'rs-cart',
    owner: { kind: 'Deployment', name: 'cartservice', uid: 'dep-cart' },
  }),
  pod('cartservice-7d9f8c-abcde', {
    uid: 'pod-cart-1',
    ip: '10.244.1.5',
    hostIP: '192.168.1.10',
    labels: { app: 'cartservice', 'pod-template-hash': '7d9f8c' },
    owner: { kind: 'ReplicaSet', name: 'cartservice-7d9f8c', uid: 'rs-cart' },
    startMs: T0,
    ports: [7070],
  }),
  controller('Deployment', 'checkoutservice', { uid: 'dep-co' }),
  controller('ReplicaSet', 'checkoutservice-55b6', {
    uid: 'rs-co',
    owner: { kind: 'Deployment', name: 'checkoutservice', uid: 'dep-co' },
  }),
  pod('checkoutservice-55b6-xyz', {
    uid: 'pod-co-1',
    ip: ['10.244.1.6', 'fd00:244::6'],
    hostIP: '192.168.1.10',
    labels: { app: 'checkoutservice', 'pod-template-hash': '55b6' },
    owner: { kind: 'ReplicaSet', name: 'checkoutservice-55b6', uid: 'rs-co' },
    startMs: T0,
  }),
  service('cartservice', {
    clusterIP: '10.96.0.10',
    selector: { app: 'cartservice' },
    ports: [7070],
    createdMs: T0 - 1000,
  }),
  endpointSlice(
    'cartservice-abc',
    'cartservice',
    [{ ip: '10.244.1.5', pod: 'cartservice-7d9f8c-abcde', podUid: 'pod-cart-1' }],
    { createdMs: T0 - 1000 },
  ),
];

/** Runs `body` against a fresh test API server and a temp dir, and closes and removes both after. */
async function withApiServer(
  body: (api: KubeApiServer, dir: string) => Promise<void>,
  options: Parameters<typeof KubeApiServer.start>[0] = {},
): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'intentmap-kube-'));
  const api = await KubeApiServer.start(options);
  try {
    await body(api, dir);
  } finally {
    await api.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Options of servedWorkload(). */
interface ServedWorkloadOptions {
  readonly kind: string;
  readonly name: string;
  readonly uid: string;
  readonly namespace?: string;
  readonly pod: string;
  readonly ip: string;
  readonly labels: Record<string, string>;
  readonly service: string;
  readonly clusterIP: string;
  readonly port: number;
}

/** A controller, one pod it owns directly (started at T0) and a Service selecting that pod's labels. */
function servedWorkload(o: ServedWorkloadOptions): KubeObject[] {
  return [
    controller(o.kind, o.name, { uid: o.uid, namespace: o.namespace }),
    pod(o.pod, {
      namespace: o.namespace,
      ip: o.ip,
      labels: o.labels,
      owner: { kind: o.kind, name: o.name, uid: o.uid },
      startMs: T0,
    }),
    service(o.service, {
      namespace: o.namespace,
      clusterIP: o.clusterIP,
      selector: o.labels,
      ports: [o.port],
      createdMs: T0 - 1000,
    }),
  ];
}

describe('client-node informers against the test API server', () => {
  it('the plain client-node makeInformer lists and watches it', async () => {
    await withApiServer(async (api, dir) => {
      api.apply(pod('p1', { ip: '10.244.0.1' }));
      const kc = new KubeConfig();
      kc.loadFromFile(await api.writeKubeconfig(join(dir, 'kubeconfig')));
      const core = kc.makeApiClient(CoreV1Api);
      const informer = makeInformer<V1Pod>(kc, '/api/v1/namespaces/shop/pods', () =>
        core.listNamespacedPod({ namespace: 'shop' }),
      );
      const seen: string[] = [];
      const events = new EventEmitter();
      informer.on('add', (p) => {
        seen.push(p.metadata?.name ?? '');
        events.emit('add');
      });
      await informer.start();
      if (seen.length < 1) await once(events, 'add');
      api.apply(pod('p2', { ip: '10.244.0.2' }));
      if (seen.length < 2) await once(events, 'add');
      expect(seen).toEqual(['p1', 'p2']);
      expect(api.requests.some((r) => r.watch && r.path === '/api/v1/namespaces/shop/pods')).toBe(true);
      await informer.stop();
    });
  });

  it('loads a plain-http kubeconfig without insecure-skip-tls-verify (as kubectl proxy or a test server writes it)', async () => {
    await withApiServer(async (api, dir) => {
      api.apply(pod('p1', { ip: '10.244.0.1' }));
      const file = join(dir, 'kubeconfig');
      writeFileSync(
        file,
        `apiVersion: v1\nkind: Config\nclusters:\n- name: c\n  cluster:\n    server: ${api.url}\nusers:\n- name: u\n  user:\n    token: ${api.token}\ncontexts:\n- name: x\n  context:\n    cluster: c\n    user: u\ncurrent-context: x\n`,
      );
      const kc = loadKubeConfig(file);
      if (!kc.ok) throw new Error(kc.reason);
      const list = await kc.value.makeApiClient(CoreV1Api).listPodForAllNamespaces();
      expect(list.items.map((p) => p.metadata?.name)).toEqual(['p1']);
    });
  });

  it('serves label and field selectors, and refuses a wrong token', async () => {
    await withApiServer(
      async (api) => {
        api.apply(pod('a', { labels: { app: 'x', tier: 'web' }, nodeName: 'n1' }));
        api.apply(pod('b', { labels: { app: 'y' }, nodeName: 'n2', phase: 'Pending' }));
        const get = async (q: string, token = 'secret'): Promise<{ status: number; names: string[] }> => {
          const res = await fetch(`${api.url}/api/v1/pods?${q}`, {
            headers: { authorization: `Bearer ${token}` },
          });
          const body = (await res.json()) as { items?: { metadata: { name: string } }[] };
          return { status: res.status, names: (body.items ?? []).map((i) => i.metadata.name) };
        };
        expect((await get('labelSelector=app%3Dx')).names).toEqual(['a']);
        expect((await get('labelSelector=app%20in%20(x,y),tier')).names).toEqual(['a']);
        expect((await get('labelSelector=!tier')).names).toEqual(['b']);
        expect((await get('fieldSelector=spec.nodeName%3Dn2')).names).toEqual(['b']);
        expect((await get('fieldSelector=status.phase!%3DPending,metadata.namespace%3Dshop')).names).toEqual([
          'a',
        ]);
        expect((await get('fieldSelector=spec.bogus%3D1')).status).toBe(400);
        expect((await get('', 'wrong')).status).toBe(401);
      },
      { token: 'secret' },
    );
  });
});

describe('cluster state from informers', () => {
  beforeEach(() => {
    h = undefined;
  });

  it('walks owners: Deployment, CronJob, StatefulSet, DaemonSet, bare pod, unknown owner', async () => {
    const { state } = await setup([
      ...shopObjects(),
      controller('CronJob', 'nightly', { uid: 'cj' }),
      controller('Job', 'nightly-28390000', {
        uid: 'job',
        owner: { kind: 'CronJob', name: 'nightly', uid: 'cj' },
      }),
      pod('nightly-28390000-q', {
        ip: '10.244.1.20',
        labels: { 'job-name': 'nightly-28390000', 'batch.kubernetes.io/controller-uid': 'u', app: 'nightly' },
        owner: { kind: 'Job', name: 'nightly-28390000', uid: 'job', apiVersion: 'batch/v1' },
        startMs: T0,
      }),
      controller('StatefulSet', 'redis', { uid: 'sts' }),
      pod('redis-0', {
        ip: '10.244.1.21',
        labels: {
          app: 'redis',
          'statefulset.kubernetes.io/pod-name': 'redis-0',
          'controller-revision-hash': 'redis-6f',
        },
        owner: { kind: 'StatefulSet', name: 'redis', uid: 'sts' },
        startMs: T0,
      }),
      controller('DaemonSet', 'fluentd', { uid: 'ds', namespace: 'kube-system' }),
      pod('fluentd-abc', {
        namespace: 'kube-system',
        ip: '10.244.1.22',
        owner: { kind: 'DaemonSet', name: 'fluentd', uid: 'ds' },
        startMs: T0,
      }),
      pod('debug', { ip: '10.244.1.23', startMs: T0 }),
      pod('orphan-5c4f-x', {
        ip: '10.244.1.24',
        owner: { kind: 'ReplicaSet', name: 'orphan-5c4f', uid: 'rs-unknown' },
        startMs: T0,
      }),
    ]);
    const at = T0 + 1000;
    const who = (ip: string): string => {
      const i = state.resolveIp(ip, at).identity;
      return `${i.kind} ${i.namespace}/${i.workloadKind}/${i.name}`;
    };
    expect(who('10.244.1.5')).toBe('workload shop/Deployment/cartservice');
    expect(who('10.244.1.20')).toBe('workload shop/CronJob/nightly');
    expect(who('10.244.1.21')).toBe('workload shop/StatefulSet/redis');
    expect(who('10.244.1.22')).toBe('workload kube-system/DaemonSet/fluentd');
    expect(who('10.244.1.23')).toBe('workload shop/Pod/debug');
    expect(who('10.244.1.24')).toBe('workload shop/ReplicaSet/orphan-5c4f');
    expect(state.resolveIp('10.244.1.24', at).identity.attrs).toEqual({ ownerUnknown: true });
    expect(state.resolveIp('10.244.1.5', at).identity.labels).toEqual({ app: 'cartservice' });
    expect(state.resolveIp('10.244.1.20', at).identity.labels).toEqual({ app: 'nightly' });
    expect(state.resolveIp('10.244.1.21', at).identity.labels).toEqual({ app: 'redis' });
    expect(who('fd00:244:0:0::6')).toBe('workload shop/Deployment/checkoutservice');
  });

  it('a deleted pod keeps its IP history; the reused IP resolves to whichever owner held it then', async () => {
    const { api, state, clock, until } = await setup(shopObjects());
    const before = T0 + 10_000;
    // cartservice's pod is deleted at T0+60s; the IP goes to a pod of another workload at T0+90s.
    clock.now = T0 + 60_000;
    api.remove('Pod', 'shop', 'cartservice-7d9f8c-abcde');
    await until(() => state.resolveIp('10.244.1.5', T0 + 70_000).identity.kind === 'unresolved');
    api.apply(controller('Deployment', 'adservice', { uid: 'dep-ad' }));
    api.apply(
      controller('ReplicaSet', 'adservice-11', {
        uid: 'rs-ad',
        owner: { kind: 'Deployment', name: 'adservice', uid: 'dep-ad' },
      }),
    );
    clock.now = T0 + 90_500;
    api.apply(
      pod('adservice-11-q', {
        uid: 'pod-ad',
        ip: '10.244.1.5',
        labels: { app: 'adservice' },
        owner: { kind: 'ReplicaSet', name: 'adservice-11', uid: 'rs-ad' },
        startMs: T0 + 90_000,
      }),
    );
    await until(() => state.resolveIp('10.244.1.5', T0 + 95_000).identity.name === 'adservice');
    const report = resolveReport(
      batch([
        conn('10.244.1.5', '10.244.1.6', 5050, before), // from cartservice, before the deletion
        conn('10.244.1.5', '10.244.1.6', 9555, T0 + 95_000), // from adservice, after the reuse
        conn('10.244.1.6', '10.244.1.5', 7070, before + 1), // to cartservice
      ]),
      state,
    );
    expect(report.edges.map((e) => `${e.client.name} -> ${e.server.name}:${e.port}`)).toEqual([
      'cartservice -> checkoutservice:5050',
      'adservice -> checkoutservice:9555',
      'checkoutservice -> cartservice:7070',
    ]);
    expect(report.outcomes).toEqual({ resolved: 3, external: 0, unresolved: 0 });
  });

  it('resolves a ClusterIP to its backends through EndpointSlices, and through the selector without slices', async () => {
    const { api, state, until } = await setup([
      ...shopObjects(),
      ...servedWorkload({
        kind: 'Deployment',
        name: 'currency',
        uid: 'dep-cur',
        pod: 'currency-1',
        ip: '10.244.2.1',
        labels: { app: 'currency' },
        service: 'currency',
        clusterIP: '10.96.0.20',
        port: 7000,
      }),
    ]);
    const r = resolveReport(
      batch([
        conn('10.244.1.6', '10.96.0.10', 7070, T0 + 5000),
        conn('10.244.1.6', '10.96.0.20', 7000, T0 + 5000),
      ]),
      state,
    );
    expect(r.edges.map((e) => [e.server.name, e.via?.name, e.via?.attrs.serviceType])).toEqual([
      ['cartservice', 'cartservice', 'ClusterIP'],
      ['currency', 'currency', 'ClusterIP'],
    ]);
    // A Service with no backend at that time: the edge goes to the Service itself.
    api.apply(
      service('empty', { clusterIP: '10.96.0.30', selector: { app: 'nothing' }, createdMs: T0 - 1000 }),
    );
    await until(() => state.resolveIp('10.96.0.30', T0).kind === 'service');
    const r2 = resolveReport(batch([conn('10.244.1.6', '10.96.0.30', 80, T0 + 5000)]), state);
    expect(r2.edges.map((e) => [e.server.kind, e.server.name, e.via])).toEqual([['service', 'empty', null]]);
  });

  it('keeps a headless Service and its DNS name on edges to its pods', async () => {
    const { state } = await setup([
      ...shopObjects(),
      ...servedWorkload({
        kind: 'StatefulSet',
        name: 'redis',
        uid: 'sts',
        pod: 'redis-0',
        ip: '10.244.3.1',
        labels: { app: 'redis' },
        service: 'redis',
        clusterIP: 'None', // headless
        port: 6379,
      }),
    ]);
    const at = T0 + 5000;
    const r = resolveReport(
      batch(
        [conn('10.244.1.5', '10.244.3.1', 6379, at + 10)],
        [dnsRec('10.244.1.5', 'redis.shop.svc.cluster.local', ['10.244.3.1'], at)],
      ),
      state,
    );
    expect(r.edges).toHaveLength(1);
    const e = r.edges[0]!;
    expect([e.client.name, e.server.name, e.server.workloadKind, e.via?.name, e.via?.attrs.headless]).toEqual(
      ['cartservice', 'redis', 'StatefulSet', 'redis', true],
    );
    expect(e.dnsNames).toEqual(['redis.shop.svc.cluster.local']);
    expect(r.dns.map((d) => [d.client.name, d.name, d.ip])).toEqual([
      ['cartservice', 'redis.shop.svc.cluster.local', '10.244.3.1'],
    ]);
  });

  it('attributes a node IP to the hostNetwork workload declaring the port, else to the node', async () => {
    const { state } = await setup([
      ...shopObjects(),
      controller('DaemonSet', 'node-exporter', { uid: 'ds-ne', namespace: 'monitoring' }),
      pod('node-exporter-abc', {
        namespace: 'monitoring',
        ip: '192.168.1.10',
        hostIP: '192.168.1.10',
        hostNetwork: true,
        ports: [9100],
        owner: { kind: 'DaemonSet', name: 'node-exporter', uid: 'ds-ne' },
        startMs: T0,
      }),
    ]);
    const at = T0 + 5000;
    const r = resolveReport(
      batch([
        conn('10.244.1.5', '192.168.1.10', 9100, at),
        conn('10.244.1.5', '192.168.1.10', 10250, at),
        conn('192.168.1.10', '10.244.1.5', 7070, at),
      ]),
      state,
    );
    expect(
      r.edges.map((e) => `${e.client.kind}:${e.client.name} -> ${e.server.kind}:${e.server.name}`),
    ).toEqual([
      'workload:cartservice -> workload:node-exporter',
      'workload:cartservice -> node:node-1',
      'node:node-1 -> workload:cartservice',
    ]);
    expect(r.edges[0]!.server.attrs.hostNetwork).toBe(true);
    expect(r.edges[1]!.server.attrs.hostNetwork).toBe(true);
  });

  it('names an external destination from the client DNS answer; unknown in-cluster addresses are unresolved', async () => {
    const { state } = await setup([
      ...shopObjects(),
      ...servedWorkload({
        kind: 'Deployment',
        name: 'coredns',
        uid: 'dep-dns',
        namespace: 'kube-system',
        pod: 'coredns-1',
        ip: '10.244.0.53',
        labels: { 'k8s-app': 'kube-dns' },
        service: 'kube-dns',
        clusterIP: '10.96.0.53',
        port: 53,
      }),
    ]);
    const at = T0 + 5000;
    const r = resolveReport(
      batch(
        [
          conn('10.244.1.6', '203.0.113.7', 443, at + 5),
          conn('10.244.1.6', '10.244.9.9', 80, at),
          conn('10.244.1.6', '198.51.100.1', 443, at),
        ],
        [
          dnsRec('10.244.1.6', 'api.stripe.com', ['203.0.113.7'], at, {
            server: '10.96.0.53',
            ttl: 60,
            count: 2,
          }),
        ],
      ),
      state,
    );
    const byPort = r.edges.map((e) => [
      e.source,
      e.protocol,
      e.port,
      e.server.kind,
      e.server.name,
      e.via?.name ?? null,
      e.dnsNames,
    ]);
    expect(byPort).toEqual([
      ['dns', 'UDP', 53, 'workload', 'coredns', 'kube-dns', []],
      ['tcp-syn', 'TCP', 443, 'external', '203.0.113.7', null, ['api.stripe.com']],
      ['tcp-syn', 'TCP', 80, 'unresolved', '10.244.9.9', null, []],
      ['tcp-syn', 'TCP', 443, 'external', '198.51.100.1', null, []],
    ]);
    expect(r.outcomes).toEqual({ resolved: 1, external: 2, unresolved: 1 });
  });

  it('does not wait for resources the server does not serve (404) or RBAC forbids (403)', async () => {
    const { state, watch, until, warnings } = await setup(shopObjects(), {
      unserved: ['cronjobs', 'networkpolicies'],
      forbidden: ['daemonsets'],
    });
    const unavailable = watch
      .stats()
      .filter((s) => s.unavailable)
      .map((s) => s.resource)
      .sort();
    expect(unavailable).toEqual(['cronjobs', 'daemonsets', 'networkpolicies']);
    expect(state.resolveIp('10.244.1.5', T0 + 1000).identity.name).toBe('cartservice');
    // They do not hold the proof of progress back either, and are not probed.
    expect(watch.provenThroughMs()).toBe(T0 + 3_600_000);
    expect(state.isCaughtUp(T0 + 3_600_000 - 2000)).toBe(true);
    await until(() => watch.isHealthy());
    expect(
      watch
        .stats()
        .filter((s) => s.unavailable)
        .every((s) => s.probes === 0),
    ).toBe(true);
    expect(warnings.some((w) => w.includes('does not serve this resource'))).toBe(true);
    expect(warnings.some((w) => w.includes('forbidden'))).toBe(true);
  });

  it('with every resource forbidden there is nothing to lag behind: the proof follows the clock', async () => {
    const { state, clock, until } = await setup([], { forbidden: [...WATCHED_RESOURCES] });
    clock.now = T0 + 3_700_000;
    await until(() => state.stats().syncedThroughMs === T0 + 3_700_000);
  });

  it('converges after every watch connection is dropped mid-stream', async () => {
    const { api, state, watch, until } = await setup(shopObjects());
    await api.waitForWatches();
    const watchesBefore = watch.stats().reduce((n, s) => n + s.watches, 0);
    expect(api.dropWatches()).toBe(12);
    api.apply(pod('late', { ip: '10.244.5.5', startMs: T0 + 1000 }));
    await until(() => state.resolveIp('10.244.5.5', T0 + 2000).identity.name === 'late');
    expect(watch.stats().reduce((n, s) => n + s.watches, 0)).toBeGreaterThan(watchesBefore);
  });

  for (const goneMode of ['event', 'status'] as const) {
    it(`relists after 410 Gone (${goneMode === 'event' ? 'ERROR event' : 'HTTP 410'}) and sees deletions made meanwhile`, async () => {
      const { api, state, watch, until, clock } = await setup(shopObjects(), { goneMode });
      await api.waitForWatches(1, 'pods');
      api.pause('hang'); // watches stall: the changes below are not streamed
      api.remove('Pod', 'shop', 'cartservice-7d9f8c-abcde');
      api.apply(pod('newcomer', { ip: '10.244.6.6', startMs: T0 + 1000 }));
      api.compact();
      clock.now = T0 + 7_200_000;
      api.resume(); // watches resume from a compacted resourceVersion → 410 → relist
      await until(() => state.resolveIp('10.244.6.6', T0 + 2000).identity.name === 'newcomer');
      await until(() => state.resolveIp('10.244.1.5', T0 + 7_300_000).kind === 'unresolved');
      // Before the relist noticed the deletion, the IP was still cartservice's.
      expect(state.resolveIp('10.244.1.5', T0 + 5000).identity.name).toBe('cartservice');
      const pods = watch.stats().find((s) => s.resource === 'pods')!;
      expect(pods.relists).toBeGreaterThanOrEqual(1);
      expect(api.requests.some((r) => r.resource === 'pods' && r.watch && r.status === 410)).toBe(true);
    });
  }

  it('survives an unreachable API server (connections refused), counts the errors, and catches up', async () => {
    const { api, state, watch, until, warnings } = await setup(shopObjects());
    api.pause('refuse');
    await until(() => watch.stats().some((s) => s.errors > 0));
    expect(watch.isHealthy()).toBe(false);
    api.apply(pod('during-outage', { ip: '10.244.7.7', startMs: T0 + 1000 }));
    api.resume();
    await until(() => state.resolveIp('10.244.7.7', T0 + 2000).identity.name === 'during-outage');
    await until(() => watch.isHealthy());
    expect(watch.stats().reduce((n, s) => n + s.restarts, 0)).toBeGreaterThan(0);
    expect(warnings.some((w) => w.includes('kubernetes list/watch failed; retrying'))).toBe(true);
  });

  it('times out a hung API server and recovers when it answers again', async () => {
    const { api, state, watch, until } = await setup(shopObjects(), {
      requestTimeoutMs: 300,
      idleTimeoutMs: 400,
    });
    api.pause('hang');
    await until(() => watch.stats().some((s) => (s.lastError ?? '').includes('after')));
    api.apply(pod('after-hang', { ip: '10.244.8.8', startMs: T0 + 1000 }));
    api.resume();
    await until(() => state.resolveIp('10.244.8.8', T0 + 2000).identity.name === 'after-hang');
  });

  it('reports caught-up only for observations older than the last proof of progress minus the settle time', async () => {
    const { api, state, clock, until } = await setup(shopObjects());
    // The initial lists prove the state current through the time they were sent.
    expect(state.stats().syncedThroughMs).toBe(T0 + 3_600_000);
    clock.now = T0 + 10_000_000;
    await until(() => state.stats().syncedThroughMs === T0 + 10_000_000);
    expect(state.isCaughtUp(T0 + 10_000_000 - 2000)).toBe(true);
    expect(state.isCaughtUp(T0 + 10_000_000 - 1999)).toBe(false);
    // The proofs come from limit=1 lists, one resource at a time: every resource attribution reads
    // was probed (namespaces and networkpolicies are probed too, but the proof does not wait for them).
    const probes = api.requests.filter((r) => !r.watch && r.query['limit'] === '1');
    const probed = new Set(probes.map((r) => r.resource));
    expect(ATTRIBUTION_RESOURCES.filter((r) => !probed.has(r))).toEqual([]);
  });

  it('a connected watch whose events arrive late does not vouch for the time of a change it has not delivered', async () => {
    const progress: { at: number; late: string }[] = [];
    const { api, state, clock, until, watch } = await setup(shopObjects(), {
      onProgress: (at) => {
        // Called from the first listing on, before setup() returns.
        if (h === undefined) return;
        progress.push({ at, late: h.state.resolveIp('10.244.9.1', at).kind });
        h.signals.emit('signal');
      },
    });
    await until(() => watch.isHealthy());
    clock.now = T0 + 3_610_000;
    await until(() => state.stats().syncedThroughMs === T0 + 3_610_000);
    // Slow, not dead: every answer and watch line is 300 ms late; the watches stay connected.
    api.setLatency(300);
    clock.now = T0 + 3_620_000;
    api.apply(pod('late', { ip: '10.244.9.1', startMs: T0 + 3_620_000 - 1000 }));
    expect(state.isCaughtUp(T0 + 3_620_000 - 2000)).toBe(false);
    await until(() => state.stats().syncedThroughMs >= T0 + 3_620_000);
    // Every proof that covered the change's time came after the change was applied.
    const covering = progress.filter((p) => p.at >= T0 + 3_620_000);
    expect(covering.length).toBeGreaterThan(0);
    expect(covering.every((p) => p.late === 'pod')).toBe(true);
    expect(state.resolveIp('10.244.9.1', T0 + 3_620_000).identity.name).toBe('late');
    const pods = watch.stats().find((s) => s.resource === 'pods');
    expect(pods?.probes).toBeGreaterThan(0);
    expect(pods?.unparsableResourceVersions).toBe(0);
    expect(pods?.provenThroughMs).toBeGreaterThanOrEqual(T0 + 3_620_000);
  });

  it('persists ownership to SQLite and rebuilds it on restart, closing intervals of pods gone meanwhile', async () => {
    const { api, state, watch, clock } = await setup(shopObjects());
    const db = openDatabase(join(h!.dir, 'graph.db'));
    try {
      const store = new GraphStore(db);
      expect(persistOwnership(store, state)).toBeGreaterThan(0);
      expect(store.listOwnership().find((r) => r.ip === '10.244.1.5')).toMatchObject({
        podUid: 'pod-cart-1',
        validFrom: T0,
        validTo: null,
      });
      await watch.stop();
      // While the mapper is down, cartservice's pod is deleted and its IP reused.
      api.remove('Pod', 'shop', 'cartservice-7d9f8c-abcde');
      api.apply(pod('reuser', { uid: 'pod-re', ip: '10.244.1.5', startMs: T0 + 500_000 }));
      const fresh = new ClusterState({ podCidrs: cidrs(['10.244.0.0/16']) });
      expect(restoreOwnership(store, fresh)).toBeGreaterThan(0);
      clock.now = T0 + 600_000;
      const w2 = watchIntoState(h!.kc, fresh, {
        now: () => clock.now,
        logger: { warn: () => undefined, info: () => undefined },
      });
      expect(await w2.synced).toBe(true);
      await w2.stop();
      expect(fresh.resolveIp('10.244.1.5', T0 + 1000).identity.name).toBe('cartservice');
      expect(fresh.resolveIp('10.244.1.5', T0 + 550_000).identity.name).toBe('reuser');
      persistOwnership(store, fresh);
      const rows = store.listOwnership().filter((r) => r.ip === '10.244.1.5');
      expect(rows.map((r) => [r.podUid, r.validFrom, r.validTo])).toEqual([
        ['pod-cart-1', T0, T0 + 500_000],
        ['pod-re', T0 + 500_000, null],
      ]);
    } finally {
      db.close();
    }
  });
});
